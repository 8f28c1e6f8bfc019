"""Demo themes and playbooks, seeded before the responses so the pipeline tags every demo comment
as it is recorded (surveys.services.theme_create, the admin's own path).

Keywords cover the four demo languages; matching ignores case and accents. Playbooks (the
recommended actions shown on a case) exist for the main root causes and for two themes."""

from __future__ import annotations

from cases.models import Playbook, RootCause
from surveys.models import Theme
from surveys.services import theme_create

THEMES = [
    ("Delivery delays", "Whether parcels and orders arrive when promised: late, delayed, or on time.",
     ["late", "delayed", "delay", "days late", "still waiting for my parcel", "en retard", "retraso", "llegó tarde",
      "verspätet", "kam zu spät", "fast delivery", "on time", "arrived early"]),
    ("Staff friendliness", "Praise for helpful, friendly people in stores, on the phone and at the door.",
     ["friendly", "helpful", "went out of their way", "so kind", "lovely staff", "brilliant", "big thanks",
      "amable", "encantadora",
      "freundlich", "très gentil", "accueil"]),
    ("Rude staff", "Staff who were rude, dismissive or ignored the customer.",
     ["rude", "unfriendly", "impolite", "ignored me", "dismissive", "grosero", "maleducado", "unhöflich", "impoli"]),
    ("Price", "Prices, value for money and delivery fees.",
     ["price", "prices", "expensive", "overpriced", "value for money", "delivery fee", "caro", "teuer", "trop cher"]),
    ("Billing errors", "Double charges, wrong amounts and invoices that do not match.",
     ["charged twice", "charged both times", "double charge", "wrong charge", "overcharged", "invoice",
      "cobraron dos veces", "doppelt abgebucht", "facturé deux fois"]),
    ("App and website", "The web shop and the mobile app: crashes, log-in, checkout pages.",
     ["app", "website", "web shop", "checkout page", "crashed", "log in", "login", "discount code", "la web",
      "abgestürzt", "sur mobile"]),
    ("Product quality", "Broken, faulty or poor-quality products.",
     ["broken", "faulty", "defect", "poor quality", "stopped working", "crushed", "damaged", "kaputt", "beschädigt",
      "roto", "cassé"]),
    ("Wait time", "Queues and waiting in store, on the phone and for call-backs.",
     ["waited", "queue", "waiting", "wait", "on hold", "esperé", "cola", "warten", "attente"]),
    ("Cleanliness", "Dirty, messy or untidy stores and fitting rooms.",
     ["dirty", "messy", "untidy", "clean", "tidy", "sucio", "unordentlich", "sale et"]),
    ("Returns", "Returns, exchanges and refunds.",
     ["returns", "returned", "return policy", "refund", "exchange", "devolución", "reembolso", "rückgabe", "remboursement"]),
]

# Playbooks: (name, root cause "Category > Name" or theme name, steps, script)
ROOT_CAUSE_PLAYBOOKS = [
    ("Late delivery", ("Delivery", "Late"), [
        "Look up the parcel with the carrier and note where it is now",
        "Tell the customer the new delivery date, or offer a re-send",
        "Refund the delivery fee",
        "Log the delay against the carrier's account",
    ], "Hello {name}, this is {agent} from Closeloop. I'm calling about your order that arrived late. I'm sorry; "
       "I have checked with the carrier and {what happened}. I've refunded your delivery fee. Is there anything "
       "else I can put right for you today?"),
    ("Damaged in transit", ("Delivery", "Damaged"), [
        "Ask the customer for a photo of the item and the box",
        "Send a replacement by express (no need to wait for the return)",
        "Book a free collection of the damaged item",
        "Report the damage to the carrier with the photos",
    ], "Hello {name}, I'm {agent} from Closeloop. I'm sorry your order arrived damaged. I've sent a replacement by "
       "express today and booked a free collection for the damaged one, so you don't need to do anything else."),
    ("Wrong charge", ("Billing", "Wrong charge"), [
        "Find both payments in the payment provider",
        "Refund the duplicate charge and note the refund reference",
        "Tell the customer when the money will be back (3–5 working days)",
    ], "Hello {name}, this is {agent} from Closeloop. You were charged twice for the same order; that was our "
       "mistake. I've refunded the second payment (reference {ref}); your bank will show it within 3–5 working days."),
    ("Refund delay", ("Billing", "Refund delay"), [
        "Check the refund's status in the finance queue",
        "Approve it now if it is under 100 (no manager needed)",
        "Give the customer the date and the reference",
    ], "Hello {name}, I'm {agent} from Closeloop. I'm sorry your refund has taken so long. I've approved it today; "
       "you'll see it by {date}. Here's the reference in case you need it: {ref}."),
    ("Waiting in store", ("Store", "Waiting time"), [
        "Apologise and thank the customer for telling us",
        "Share the time and day with the store manager to check the roster",
        "Offer a voucher for the next visit",
    ], "Hello {name}, I'm {agent} from the {store} store. You told us you waited too long at the till, and you were "
       "right to. We've changed the roster for that time of day. I'd like to offer you a voucher for your next visit."),
    ("Staff attitude", ("Staff", "Attitude"), [
        "Listen to the customer's account without defending the colleague",
        "Apologise on behalf of the store",
        "Tell the store manager (name the shift, not the customer)",
        "Offer a goodwill gesture",
    ], "Hello {name}, I'm {agent}, and I'm calling about your visit to {store}. I'm sorry about how you were spoken "
       "to; that is not how we want anyone treated. I've raised it with the store manager. Could you tell me a bit "
       "more about what happened?"),
    ("No follow-up", ("Communication", "No follow-up"), [
        "Call the customer back today, within the promised hour if one was given",
        "Write down the next step and its date in a note on the case",
        "Set yourself a reminder for that date",
    ], "Hello {name}, this is {agent} from Closeloop. You were promised a call back and didn't get one; I'm sorry. "
       "I'm looking after your case from now on, and I'll call you again on {date} with an update."),
]
THEME_PLAYBOOKS = [
    ("Rude staff: recover the relationship", "Rude staff", [
        "Call the customer within one business day",
        "Apologise without excuses; do not argue about what happened",
        "Offer a goodwill gesture in line with the customer's tier",
        "Pass the feedback to the team lead for coaching",
    ], "Hello {name}, I'm {agent} from Closeloop. I read what you wrote about how you were treated, and I'm sorry. "
       "Thank you for telling us: it helps us put it right. Could you tell me more about what happened?"),
    ("Billing errors: put the money right first", "Billing errors", [
        "Confirm the amounts with the customer before promising anything",
        "Refund or correct the invoice the same day",
        "Send the corrected invoice or the refund reference by e-mail",
    ], "Hello {name}, this is {agent} from Closeloop about the charge on your account. I can see what went wrong, "
       "and I've corrected it today. You'll get an e-mail with the details in the next few minutes."),
]


def _themes(admin) -> dict[str, Theme]:
    themes = {}
    for name, description, keywords in THEMES:
        theme = Theme.objects.filter(name=name).first()
        if theme is None:
            theme = theme_create(name=name, keywords=keywords, description=description, by=admin)
        themes[name] = theme
    return themes


def _playbooks(themes: dict[str, Theme]) -> int:
    made = 0
    for name, (category, cause), steps, script in ROOT_CAUSE_PLAYBOOKS:
        root_cause = RootCause.objects.filter(category__name=category, name=cause).first()
        if root_cause is None or Playbook.objects.filter(root_cause=root_cause).exists():
            continue
        Playbook.objects.create(name=name, root_cause=root_cause, steps=steps, script=script)
        made += 1
    for name, theme_name, steps, script in THEME_PLAYBOOKS:
        theme = themes.get(theme_name)
        if theme is None or Playbook.objects.filter(theme=theme).exists():
            continue
        Playbook.objects.create(name=name, theme=theme, steps=steps, script=script)
        made += 1
    return made


def seed(context: dict) -> dict:
    themes = _themes(context.get("admin"))
    made = _playbooks(themes)
    out = context.get("stdout")
    if out is not None and made:
        out.write(f"Themes: {len(themes)}; playbooks: {made}.")
    return {"themes": themes}
