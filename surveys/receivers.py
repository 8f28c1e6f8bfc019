"""Keeps the webhook source cache (surveys.selectors) honest: any saved or deleted
WebhookSource makes every process read sources from the database again."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from surveys.models import WebhookSource


@receiver(post_save, sender=WebhookSource, dispatch_uid="surveys_webhook_source_saved")
@receiver(post_delete, sender=WebhookSource, dispatch_uid="surveys_webhook_source_deleted")
def webhook_source_changed(sender, **kwargs):
    from surveys.selectors import webhook_sources_changed

    webhook_sources_changed()
