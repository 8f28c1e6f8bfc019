"""Customer e-mail templates by language (docs/languages.md): the case page offers the templates in
the customer's language (their response's, else the team's default) and those for every language.

The two seeded English templates no longer quote the score ("You gave us CSAT 2 of 1-5" is metric
jargon to a customer); they are rewritten only where an admin has not edited them. Each gets a
Spanish, French and German version."""

from django.db import migrations, models

LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]

OLD_BODIES = {
    "Apology and call-back offer": (
        "Dear {{ customer.name }},\n\n"
        "Thank you for telling us how we did. You gave us {{ score }}, and you wrote:\n\n"
        "\"{{ comment }}\"\n\n"
        "I am sorry we let you down. I would like to understand what happened and put it right. "
        "When would be a good time to call you?\n\n"
        "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})"
    ),
    "Could not reach you": (
        "Dear {{ customer.name }},\n\n"
        "We tried to call you about your feedback ({{ score }}) but could not reach you. "
        "Please reply to this e-mail with a time that suits you, and we will call back.\n\n"
        "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})"
    ),
}

# (language, order, name, subject, body)
TEMPLATES = [
    ("en", 1, "Apology and call-back offer", "About your recent feedback, {{ customer.name }}",
     "Dear {{ customer.name }},\n\n"
     "Thank you for telling us about your experience. You wrote:\n\n"
     "\"{{ comment }}\"\n\n"
     "I am sorry we let you down. I would like to understand what happened and put it right. "
     "When would be a good time to call you?\n\n"
     "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})"),
    ("en", 2, "Could not reach you", "We tried to reach you, {{ customer.name }}",
     "Dear {{ customer.name }},\n\n"
     "We tried to call you about your feedback but could not reach you. "
     "Please reply to this e-mail with a time that suits you, and we will call back.\n\n"
     "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})"),
    ("es", 1, "Disculpa y oferta de llamada", "Sobre su opinión reciente, {{ customer.name }}",
     "Hola, {{ customer.name }}:\n\n"
     "Gracias por contarnos su experiencia. Nos escribió:\n\n"
     "«{{ comment }}»\n\n"
     "Lamento que no hayamos estado a la altura. Me gustaría entender qué ocurrió y solucionarlo. "
     "¿Cuándo le vendría bien que le llamáramos?\n\n"
     "Un cordial saludo,\n{{ agent.name }}\n(referencia {{ case.reference }})"),
    ("es", 2, "No hemos podido localizarle", "Hemos intentado llamarle, {{ customer.name }}",
     "Hola, {{ customer.name }}:\n\n"
     "Hemos intentado llamarle por su opinión, pero no hemos podido localizarle. "
     "Responda a este correo indicando cuándo le viene bien y le llamaremos.\n\n"
     "Un cordial saludo,\n{{ agent.name }}\n(referencia {{ case.reference }})"),
    ("fr", 1, "Excuses et proposition de rappel", "À propos de votre avis récent, {{ customer.name }}",
     "Bonjour {{ customer.name }},\n\n"
     "Merci de nous avoir fait part de votre expérience. Vous nous avez écrit :\n\n"
     "« {{ comment }} »\n\n"
     "Nous regrettons de ne pas avoir été à la hauteur. J'aimerais comprendre ce qui s'est passé "
     "et trouver une solution. Quand pourrions-nous vous appeler ?\n\n"
     "Bien cordialement,\n{{ agent.name }}\n(référence {{ case.reference }})"),
    ("fr", 2, "Impossible de vous joindre", "Nous avons essayé de vous joindre, {{ customer.name }}",
     "Bonjour {{ customer.name }},\n\n"
     "Nous avons essayé de vous appeler au sujet de votre avis, sans parvenir à vous joindre. "
     "Répondez à cet e-mail en nous indiquant un moment qui vous convient, et nous vous rappellerons.\n\n"
     "Bien cordialement,\n{{ agent.name }}\n(référence {{ case.reference }})"),
    ("de", 1, "Entschuldigung und Rückrufangebot", "Zu Ihrer Rückmeldung, {{ customer.name }}",
     "Guten Tag {{ customer.name }},\n\n"
     "vielen Dank, dass Sie uns von Ihren Erfahrungen berichtet haben. Sie schrieben:\n\n"
     "„{{ comment }}“\n\n"
     "Es tut mir leid, dass wir Sie enttäuscht haben. Ich möchte verstehen, was passiert ist, "
     "und es wiedergutmachen. Wann können wir Sie am besten anrufen?\n\n"
     "Mit freundlichen Grüßen\n{{ agent.name }}\n(Referenz {{ case.reference }})"),
    ("de", 2, "Wir konnten Sie nicht erreichen", "Wir haben versucht, Sie zu erreichen, {{ customer.name }}",
     "Guten Tag {{ customer.name }},\n\n"
     "wir haben versucht, Sie wegen Ihrer Rückmeldung anzurufen, konnten Sie aber nicht erreichen. "
     "Antworten Sie bitte auf diese E-Mail mit einer Zeit, die Ihnen passt, dann rufen wir Sie zurück.\n\n"
     "Mit freundlichen Grüßen\n{{ agent.name }}\n(Referenz {{ case.reference }})"),
]


def seed(apps, schema_editor):
    EmailTemplate = apps.get_model("cases", "EmailTemplate")
    for language, order, name, subject, body in TEMPLATES:
        existing = EmailTemplate.objects.filter(name=name).first()
        if existing is None:
            EmailTemplate.objects.create(name=name, subject=subject, body=body, order=order, language=language)
        elif language == "en" and existing.body == OLD_BODIES.get(name):
            existing.body, existing.language = body, "en"
            existing.save(update_fields=["body", "language"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_root_cause_model_as_json")]

    operations = [
        migrations.AddField(
            model_name="emailtemplate", name="language",
            field=models.CharField(
                blank=True, choices=LANGUAGES, max_length=8,
                help_text="Offered for customers who speak this language (blank: for every customer).",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
