"""Writes for the follow-up app, one module per subject, re-exported here so callers keep
`from followup.services import ...`:

- verification.py: recovery checks ("Did we put it right?"): created by the sweep, sent, answered,
  expired; a customer's opt-out.
- recognition.py: a promoter's comment naming staff or a location becomes a Recognition, e-mailed
  to the managers once.
- erasure.py: what this app blanks when a customer is erased (privacy).

followup.tasks calls these services; the services never import the tasks (they enqueue by task
name after commit).

Recovery checks (verification.py)
---------------------------------
    verifications_create_due(now=...)      # the sweep: one check per (case, round), set-based
    verification_send(verification_id=...) # the e-mail, once; the case timeline records it
    verification_answer(verification_id=..., value=..., comment=..., opt_out=...)
    verifications_expire(now=...)          # sent checks whose link ran out
    customer_opt_out(customer_id=..., via=...)

(How a check is created, sent and locked: verification.py's docstring.)

Recognition (recognition.py)
----------------------------
    recognition_for_alert(alert=...)  # from the praise alert hook, inside the recording transaction
    recognition_notify(recognition_id=...)  # the e-mail to the managers, once
"""

from followup.services.erasure import followup_erase_customer
from followup.services.recognition import (
    fold,
    is_promoter,
    known_locations,
    LOCATIONS_CACHE_KEY,
    LOCATIONS_CACHE_SECONDS,
    MIN_LOCATION_LENGTH,
    named_location,
    named_user,
    recognition_for_alert,
    recognition_notify,
    recognition_recipients,
    recognitions_owed,
    staff_changed,
    staff_directory,
    StaffDirectory,
)
from followup.services.verification import (
    AlreadyAnswered,
    COMMENT_MAX,
    customer_opt_out,
    delay,
    fatigue_days,
    is_recovered,
    link_days,
    LinkExpired,
    LinkInvalid,
    make_token,
    MAX_AGE,
    MAX_SEND_ATTEMPTS,
    parse_answer,
    question_style,
    read_token,
    RECOVERED_FROM,
    SendFailed,
    skip_reason,
    SWEEP_BATCH,
    TOKEN_SALT,
    verification_answer,
    verification_for_answer,
    verification_give_up,
    verification_language,
    verification_send,
    verifications_create_due,
    verifications_expire,
    verifications_owed,
    verify_url,
)

__all__ = [
    "verification_language",
    "AlreadyAnswered",
    "COMMENT_MAX",
    "LOCATIONS_CACHE_KEY",
    "LOCATIONS_CACHE_SECONDS",
    "LinkExpired",
    "LinkInvalid",
    "MAX_AGE",
    "MAX_SEND_ATTEMPTS",
    "MIN_LOCATION_LENGTH",
    "RECOVERED_FROM",
    "SWEEP_BATCH",
    "SendFailed",
    "StaffDirectory",
    "TOKEN_SALT",
    "customer_opt_out",
    "delay",
    "fatigue_days",
    "fold",
    "followup_erase_customer",
    "is_promoter",
    "is_recovered",
    "known_locations",
    "link_days",
    "make_token",
    "named_location",
    "named_user",
    "parse_answer",
    "question_style",
    "read_token",
    "recognition_for_alert",
    "recognition_notify",
    "recognition_recipients",
    "recognitions_owed",
    "skip_reason",
    "staff_changed",
    "staff_directory",
    "verification_answer",
    "verification_for_answer",
    "verification_give_up",
    "verification_send",
    "verifications_create_due",
    "verifications_expire",
    "verifications_owed",
    "verify_url",
]
