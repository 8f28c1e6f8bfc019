"""Two-way e-mail from the case (docs/email.md).

Out: a customer e-mail from a case comes from the team's address, with the case's reply
address (a signed token in plus-addressing) as Reply-To and envelope sender, and a Message-ID
kept on the timeline (outgoing.py; sent by cases.notifications).
In: two doors, one service. The providers' webhooks (doors.py, django-anymail) and the IMAP
poller (imap.py) both call inbound.mail_receive, which records each e-mail once per Message-ID
(models.InboundMail), reads it (message.py: reply, bounce or automatic reply; quoted history
stripped; attachments listed) and hands it to its case through cases.services.case_mail_received.

    addresses.py  reply address and token, the team's sender
    message.py    one RFC 822 message read into a Received (pure)
    inbound.py    mail_receive: once per Message-ID, onto its case or refused with a reason
    outgoing.py   headers of what we send; the mail-loop guard
    doors.py      Mailgun and Postmark inbound webhooks (anymail)
    imap.py       the IMAP poller
    models.py     OutgoingMail, InboundMail
"""
