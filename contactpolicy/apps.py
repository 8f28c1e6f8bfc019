from django.apps import AppConfig


class ContactPolicyConfig(AppConfig):
    name = "contactpolicy"
    verbose_name = "Contact policy"
    default_auto_field = "django.db.models.BigAutoField"
