from django.apps import AppConfig


class ChurnConfig(AppConfig):
    name = "churn"
    verbose_name = "Churn risk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The customer and account pages (customers) show the risk and its reasons through the
        # panel each of them lets a higher app register: customers never imports this app.
        from churn import panels

        panels.register()
