"""Where reporting listens: segments' segment_changed (sent after the commit of a save or delete) ->
the segment bits brought in step (reporting.segment_bits), in the background: it reads every
customer once and rewrites the rows of those whose segments changed."""

from django.dispatch import receiver

from segments.signals import segment_changed


@receiver(segment_changed, dispatch_uid="reporting.segment_bits")
def segment_bits(sender, **kwargs):
    from reporting.tasks import segment_bits_sync_task

    segment_bits_sync_task.delay()
