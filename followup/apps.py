from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = "Follow-up: recovery checks and recognition"

    def ready(self) -> None:
        from followup import receivers  # noqa: F401  (connects the hooks)
