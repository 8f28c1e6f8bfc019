from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Customer journeys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The inbox and the responses API filter by journey stage (`journey_stage=<id>`) through
        # the scope each of them lets a higher app register: cases and surveys never import this app.
        from journeys import scopes

        scopes.register()
