"""Two-way e-mail from the case (cases/mail): the timeline kinds of inbound mail, the Message-IDs of
what was sent, and each inbound e-mail once per Message-ID."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0013_postgresql_jit_off'),
    ]

    operations = [
        migrations.AlterField(
            model_name='caseevent',
            name='kind',
            field=models.CharField(choices=[('opened', 'Opened'), ('assigned', 'Assigned'), ('claimed', 'Claimed'), ('status', 'Status changed'), ('contact', 'Contact attempt'), ('note', 'Note'), ('priority', 'Priority changed'), ('team', 'Team changed'), ('response_attached', 'Response attached'), ('closed', 'Closed'), ('reopened', 'Reopened'), ('due_soon', 'Due soon'), ('overdue', 'Became overdue'), ('escalated', 'Escalated'), ('email', 'E-mail to customer'), ('playbook_step', 'Playbook step'), ('verify_sent', 'Recovery check sent'), ('verify_answer', 'Recovery check answered'), ('customer_replied', 'Customer replied'), ('email_bounced', 'E-mail bounced'), ('email_auto_reply', 'Automatic reply')], max_length=20),
        ),
        migrations.CreateModel(
            name='InboundMail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message_id', models.CharField(max_length=255)),
                ('door', models.CharField(choices=[('mailgun', 'Mailgun'), ('postmark', 'Postmark'), ('imap', 'IMAP'), ('pipe', 'Piped by the mail server (manage.py mail_receive)')], max_length=10)),
                ('outcome', models.CharField(choices=[('reply', 'Customer reply'), ('bounce', 'Bounce'), ('auto_reply', 'Automatic reply'), ('refused', 'Refused')], max_length=12)),
                ('reason', models.CharField(blank=True, help_text='Why it was refused, or what marked it.', max_length=255)),
                ('from_address', models.CharField(blank=True, max_length=320)),
                ('subject', models.CharField(blank=True, max_length=255)),
                ('text', models.TextField(blank=True, help_text='The reply without its quoted history.')),
                ('attachments', models.JSONField(blank=True, default=list, help_text='Listed, not stored: [{name, size, type}].')),
                ('data', models.JSONField(blank=True, default=dict)),
                ('received_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='inbound_mails', to='cases.case')),
            ],
            options={
                'ordering': ['-received_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('message_id',), name='cases_inboundmail_unique_message_id')],
            },
        ),
        migrations.CreateModel(
            name='OutgoingMail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message_id', models.CharField(max_length=255)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outgoing_mails', to='cases.case')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('message_id',), name='cases_outgoingmail_unique_message_id')],
            },
        ),
    ]
