"""The team's e-mail settings (cases/mail): its sender address and what a reply to a closed case does."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_two_factor_policy")]

    operations = [
        migrations.AddField(
            model_name="team",
            name="mail_from",
            field=models.EmailField(
                blank=True, max_length=254,
                help_text="Customer e-mails come from this address (blank: the site's DEFAULT_FROM_EMAIL)."),
        ),
        migrations.AddField(
            model_name="team",
            name="mail_reply_to_closed",
            field=models.CharField(
                choices=[("reopen", "Reopen the case"), ("follow_up", "Open a linked follow-up case")],
                default="reopen", max_length=10, help_text="What a customer's e-mail reply to a closed case does."),
        ),
    ]
