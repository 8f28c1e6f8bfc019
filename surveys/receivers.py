"""Keeps the per-process caches honest: any saved or deleted WebhookSource makes every process
read sources from the database again (surveys.selectors), and any saved or deleted Theme makes
every process recompile the theme matcher (surveys.text)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from surveys.models import Theme, WebhookSource


@receiver(post_save, sender=WebhookSource, dispatch_uid="surveys_webhook_source_saved")
@receiver(post_delete, sender=WebhookSource, dispatch_uid="surveys_webhook_source_deleted")
def webhook_source_changed(sender, **kwargs):
    from surveys.selectors import webhook_sources_changed

    webhook_sources_changed()


@receiver(post_save, sender=Theme, dispatch_uid="surveys_theme_saved")
@receiver(post_delete, sender=Theme, dispatch_uid="surveys_theme_deleted")
def theme_changed(sender, **kwargs):
    from surveys.text import themes_changed

    themes_changed()
