"""A person's own language and time zone (blank: the browser's language and their team's zone), and
the language a team writes to customers in when a customer's own is unknown (docs/languages.md)."""

from django.db import migrations, models

LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_tokens")]

    operations = [
        migrations.AddField(
            model_name="user", name="language",
            field=models.CharField(blank=True, choices=LANGUAGES, max_length=8),
        ),
        migrations.AddField(
            model_name="user", name="timezone",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="team", name="language",
            field=models.CharField(blank=True, choices=LANGUAGES, default="en", max_length=8),
        ),
    ]
