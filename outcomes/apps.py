from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Business outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Stripe deliveries arrive through the surveys' webhook door (stored first, then processed
        # by its worker); this app tells the door what to do with them (outcomes.stripe).
        from outcomes import receivers  # noqa: F401
        from outcomes.importers import register_importers

        register_importers()  # outcome events from CSV on the import machinery (imports.registry)
