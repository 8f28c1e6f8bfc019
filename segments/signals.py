"""segment_changed(segment_id): a segment was saved or deleted (sent after commit). Alert rules and
routing listen to recompile the rules that read segments (alerts.receivers, cases.routing)."""

from django.dispatch import Signal

segment_changed = Signal()
