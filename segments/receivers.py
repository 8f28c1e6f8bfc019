"""Where segments listens: its own segment_changed (sent after the commit of a save or delete) ->
the member indexes brought in step (segments.indexes), in the background: building one reads
every customer once."""

from django.dispatch import receiver

from segments.signals import segment_changed


@receiver(segment_changed, dispatch_uid="segments.member_indexes")
def member_indexes(sender, **kwargs):
    from segments.tasks import segment_indexes_sync_task

    segment_indexes_sync_task.delay()
