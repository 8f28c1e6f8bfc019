from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Customer segments"

    def ready(self):
        from segments import receivers  # noqa: F401  (segment_changed -> member indexes)
