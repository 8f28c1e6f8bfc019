"""Where survey answers enter: webhook sources, the raw deliveries they send, and the
normalized responses, customers and surveys those deliveries become."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from core.crypto import EncryptedJSONField, EncryptedTextField
from surveys.keys import ResponseKey, WebhookDeliveryKey  # noqa: F401 (models of this app, kept beside)
from surveys.score_counts import ScoreCounts, ScoreRollup  # noqa: F401 (models of this app, kept beside)
from surveys.vocabulary import nps_group


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Vendor(models.TextChoices):
    STANDARD = "standard", _("Standard Webhooks (any compliant sender)")
    TYPEFORM = "typeform", _("Typeform")
    SURVEYMONKEY = "surveymonkey", _("SurveyMonkey")
    QUALTRICS = "qualtrics", _("Qualtrics")
    DELIGHTED = "delighted", _("Delighted")
    FORMBRICKS = "formbricks", _("Formbricks")
    TALLY = "tally", _("Tally")
    JOTFORM = "jotform", _("Jotform")
    SURVEYSPARROW = "surveysparrow", _("SurveySparrow")
    ZENDESK = "zendesk", _("Zendesk CSAT")
    INTERCOM = "intercom", _("Intercom conversation ratings")
    HELPSCOUT = "helpscout", _("Help Scout satisfaction ratings")
    GOOGLE_FORMS = "google_forms", _("Google Forms")
    GENERIC = "generic", _("Generic (any tool)")
    STRIPE = "stripe", _("Stripe (billing events, recorded as outcomes)")


class FeedbackKind(models.TextChoices):
    """What a source sends: answers to a survey someone was asked (solicited), or feedback nobody
    asked for (unsolicited: reviews, support-ticket ratings, chat transcripts, feedback forms),
    which may carry a rating, a text, or both (docs/webhooks.md "Feedback nobody asked for")."""

    SURVEY = "survey", _("Survey answers")
    REVIEW = "review", _("Reviews (app store, web)")
    SUPPORT = "support", _("Support-ticket ratings and comments")
    CHAT = "chat", _("Chat transcripts")
    FORM = "form", _("Feedback form")

    @classmethod
    def unsolicited(cls, kind: str) -> bool:
        return kind != cls.SURVEY


class Metric(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")
    CES = "ces", _("CES")
    CUSTOM = "custom", _("Other numeric question")


class WebhookSource(models.Model):
    """One survey tool (or one form in it) posting to /webhooks/<slug>/.

    `secret` signs deliveries; after a rotation `previous_secret` is accepted too until
    `previous_secret_expires_at` (the rotation time plus `secret_grace_hours`), then refused.
    `auth` holds the generic adapter's authenticity check and vendor API credentials;
    `mapping` says which answer is which field (each vendor has working defaults).
    `secret`, `previous_secret` and `auth` are encrypted in the database (core.crypto)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    secret = EncryptedTextField(max_length=255, default=new_secret)
    previous_secret = EncryptedTextField(max_length=255, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("The previous secret is refused from this time on."))
    secret_grace_hours = models.PositiveIntegerField(
        default=24, help_text=_("After the secret is changed, how many hours the previous one is still accepted "
                              "(time to update the survey tool; 0: refused at once)."))
    auth = EncryptedJSONField(default=dict, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    rate_limit_per_second = models.PositiveIntegerField(
        default=50, help_text=_("Deliveries accepted per second before answering 429 (0 = no limit).")
    )
    feedback_kind = models.CharField(
        max_length=10, choices=FeedbackKind.choices, default=FeedbackKind.SURVEY,
        help_text=_("Survey answers, or feedback nobody asked for (then a delivery may carry a text without a score)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secrets(self) -> list[str]:
        """The secrets a delivery may be signed with now: the current one, and the previous one
        while its grace period lasts."""
        previous_valid = bool(self.previous_secret and self.previous_secret_expires_at
                              and timezone.now() < self.previous_secret_expires_at)
        return [self.secret] + ([self.previous_secret] if previous_valid else []) if self.secret else []


class WebhookDelivery(models.Model):
    """A delivery exactly as received: stored and committed before the sender gets its 2xx."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    content_type = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(
        null=True, blank=True, help_text=_("A retry after a transient error is not due before this time.")
    )
    note = models.CharField(max_length=255, blank=True, help_text=_("Why a processed delivery recorded nothing."))
    fetched = models.JSONField(
        null=True, blank=True, help_text=_("What the vendor API returned for a thin webhook (fetched by the worker).")
    )
    response = models.ForeignKey(
        "SurveyResponse", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
        db_constraint=False,  # its database constraint points at the response keys (core.partition_refs)
    )
    replayed_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When a person last replayed it: processing it then runs the alert rules again, also on a "
                  "response recorded before."),
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        # On SQLite. On PostgreSQL the table is partitioned by month on received_at and this
        # uniqueness is WebhookDeliveryKey's, claimed by a trigger (surveys 0018, core.partition_keys).
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="surveys_webhookdelivery_unique_source_delivery"),
        ]
        indexes = [
            # For the re-drive sweep and the oldest-pending gauge: only unfinished rows.
            models.Index(
                fields=["received_at"],
                name="surveys_delivery_unfinished",
                condition=models.Q(status__in=["pending", "processing"]),
            ),
            # The delivery console: a source's recent deliveries.
            models.Index(fields=["source", "-received_at"], name="surveys_delivery_source_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.source.slug}/{self.delivery_id}"

    @property
    def latency(self):
        """Time from receipt to the end of processing (None while unfinished)."""
        return self.processed_at - self.received_at if self.processed_at else None


class RefusedDelivery(models.Model):
    """A webhook request answered with a 4xx and not stored, kept so an admin sees why a tool's
    deliveries fail (the delivery console). Written by surveys.ingest.refusals: sampled (one row
    per source, reason and sender address per few seconds, at most a few rows a second per
    process) so a flood of refusals never floods the database, and pruned to the newest
    KEEP_PER_SOURCE per requested slug. Every refusal is counted, sampled or not, in Redis
    (surveys.stats) and on /metrics. The body is kept only as a short excerpt."""

    class Reason(models.TextChoices):
        NOT_FOUND = "not_found", _("No active source at this address (404)")
        INSECURE = "insecure", _("Plain HTTP where HTTPS is required (403)")
        TOO_LARGE = "too_large", _("Body over the size limit (413)")
        CONTENT_TYPE = "content_type", _("A content type this tool does not send (415)")
        SIGNATURE = "signature", _("Missing or invalid signature (401)")
        MALFORMED = "malformed", _("Signed, but the body cannot be read (400)")
        UNSTORABLE = "unstorable", _("Data the database cannot hold (400)")
        RATE_LIMITED = "rate_limited", _("Over the source's rate limit (429)")
        TIMEOUT = "timeout", _("Body not sent in time (408)")

    KEEP_PER_SOURCE = 200

    source = models.ForeignKey(
        WebhookSource, null=True, blank=True, on_delete=models.CASCADE, related_name="refusals",
        help_text=_("None when no source has the requested slug."),
    )
    slug = models.CharField(max_length=100, help_text=_("The slug as requested."))
    reason = models.CharField(max_length=16, choices=Reason.choices)
    status = models.PositiveSmallIntegerField()
    message = models.CharField(max_length=255, help_text=_("What the sender was told."))
    detail = models.TextField(blank=True, help_text=_("Why exactly (for the admin; never sent)."))
    received_at = models.DateTimeField()
    size = models.PositiveIntegerField(help_text=_("Body size in bytes (as declared when it was not read)."))
    sender = models.CharField(max_length=64, blank=True, help_text=_("The sender's address."))
    user_agent = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    excerpt = models.TextField(blank=True, help_text=_("The start of the body, never the whole of an unsigned one."))

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The console's recent refusals of a source, and the pruning of the oldest.
            models.Index(fields=["slug", "-received_at"], name="surveys_refusal_slug_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.slug}: {self.status} {self.reason}"


class Survey(models.Model):
    """A questionnaire in a survey tool, found or created from the deliveries that name it."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="surveys")
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="surveys_survey_unique_source_external"),
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """One customer across channels: matched by external id first, then e-mail (case-insensitive),
    then phone (E.164) for a delivery that names neither; every identifier a delivery named is
    kept as a customers.Identity. A customer merged into another points to it (`merged_into`)."""

    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=60, blank=True)
    segment = models.CharField(max_length=60, blank=True)
    account_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # 0..1, written by the churn model's scoring run (churn.scoring, docs/churn-risk.md); null when
    # no model is trained or the customer has no recent history. Read by alert rules, routing,
    # the inbox sort and reports.
    churn_risk = models.FloatField(null=True, blank=True, help_text=_("Predicted churn risk, 0..1."))
    attributes = models.JSONField(default=dict, blank=True)
    contact_opt_out = models.BooleanField(default=False)
    # {channel: "granted" | "refused"} per surveys.consent.ContactChannel; read by
    # surveys.consent.contact_refusal, written by customers.services.customer_consent_set.
    contact_consent = models.JSONField(default=dict, blank=True)
    # Set when a person merged this customer into another (customers.services.customer_merge):
    # a later delivery that names it is recorded for that customer (customer_find_or_create).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers",
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    # A bit per named segment the customer is in (Segment.bits_slot), set by a database trigger
    # from the row itself on every write (segments.membership; 0 on SQLite).
    segment_bits = models.BigIntegerField(default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            # E-mail identifies a customer regardless of case.
            models.UniqueConstraint(
                models.functions.Lower("email"),
                name="surveys_customer_unique_email_ci",
                condition=~models.Q(email=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id or f"Customer {self.pk}"


class SurveyResponse(models.Model):
    """One answered survey, normalized. The three standard metrics have typed columns with their
    scale (what reporting aggregates); every numeric answer, standard or not, is also in `scores`
    as {key: {"value", "min", "max", "metric", "higher_is_better"}} (what alert rules read)."""

    source = models.ForeignKey(WebhookSource, on_delete=models.PROTECT, related_name="responses")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    external_id = models.CharField(max_length=255)
    answered_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)

    nps = models.SmallIntegerField(null=True, blank=True)
    csat = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    csat_scale_min = models.SmallIntegerField(null=True, blank=True)
    csat_scale_max = models.SmallIntegerField(null=True, blank=True)
    ces = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    ces_scale_min = models.SmallIntegerField(null=True, blank=True)
    ces_scale_max = models.SmallIntegerField(null=True, blank=True)
    ces_high_is_easy = models.BooleanField(
        null=True, blank=True, help_text=_("Direction of the CES scale as the source declares it.")
    )
    scores = models.JSONField(default=dict, blank=True)
    partial = models.BooleanField(
        default=False, help_text=_("An unfinished answer, judged at once; its finished version updates this row.")
    )

    comment = models.TextField(blank=True)
    sentiment = models.FloatField(null=True, blank=True, help_text=_("Compound sentiment score, -1..1."))
    sentiment_source = models.CharField(
        max_length=8, blank=True, choices=[("text", "Read from the comment"), ("score", "From the score (fallback)")],
        help_text=_("text: VADER over an English comment; score: the fallback for other languages."),
    )
    language = models.CharField(max_length=8, blank=True, help_text=_("The comment's detected language (ISO 639-1)."))
    themes = models.ManyToManyField("Theme", through="ResponseTheme", related_name="responses", blank=True)
    touchpoint = models.CharField(max_length=120, blank=True, db_index=True)
    # The source's kind when it was recorded, or the delivery's own (a `feedback_kind` attribute).
    feedback_kind = models.CharField(max_length=10, choices=FeedbackKind.choices, default=FeedbackKind.SURVEY)
    channel = models.CharField(max_length=60, blank=True)
    location = models.CharField(max_length=120, blank=True, db_index=True)
    region = models.CharField(max_length=120, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses",
        help_text=_("The team that owns this response, set by routing (cases) when it is recorded."),
    )
    # Kept by database triggers (reporting.coverage), never written by the application: whether an
    # alert of this response opens a case, and whether a case is linked to it (opened from it or
    # attached). The KPI page counts low scores and their coverage from them, in the covering index.
    case_alert = models.BooleanField(default=False, editable=False)
    case_linked = models.BooleanField(default=False, editable=False)
    # The customer's segment_bits, copied by a database trigger on every write (segments.membership;
    # 0 on SQLite): reports group the period's responses by it, in the covering index below.
    segment_bits = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-answered_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="surveys_response_unique_source_external"),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__gte=0, nps__lte=10),
                name="surveys_response_nps_0_10",
            ),
        ]
        indexes = [
            # Score trends per team (reporting): covering, so a manager's weekly or monthly NPS,
            # CSAT and CES trend is an index-only scan (no heap fetch per response). Also serves
            # every (team, answered_at) range filter. CREATE STATISTICS on the week and month
            # expressions (migration 0003) lets the planner hash-aggregate the ~50 periods.
            # The touchpoint is included too (migration 0008): the Scores page's by-touchpoint
            # panel reads it for every response of the period. The survey and the source too
            # (migration 0014): the journey map puts each response of the period in a stage by its
            # touchpoint, survey or source (journeys.selectors.StageMap), an index-only scan too. The
            # customer and the id too (0014): the closed-loop results pick each customer's latest
            # answer of the period from it. The two flags too (0016): the KPI page's low scores and
            # their coverage. The location too (0023): the reports by location (scores and the KPIs'
            # low scores) and a location filter, which no rollup keys.
            models.Index(
                fields=["team", "answered_at"],
                name="surveys_response_team_scores",
                include=[
                    "touchpoint", "survey", "source", "nps", "csat", "csat_scale_min", "csat_scale_max",
                    "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy", "customer", "id",
                    "case_alert", "case_linked", "location", "segment_bits",
                ],
            ),
            # A customer's answers, newest first, covering what the customer and account pages and
            # the churn model's features read of each: index-only scans (migration 0018).
            models.Index(fields=["customer", "-answered_at"], name="surveys_response_customer", include=[
                "team", "channel", "source", "id", "feedback_kind", "sentiment", "nps", "csat", "csat_scale_min",
                "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy"]),
        ]

    def __str__(self) -> str:
        return f"{self.source.slug}:{self.external_id}"

    @property
    def nps_group(self) -> str | None:
        return nps_group(self.nps)


class Theme(models.Model):
    """What customers talk about: a named list of keywords and phrases, managed by admins.

    Discovery (surveys.services.discovery, a periodic task) proposes themes from recent comments;
    a proposed theme tags nothing until an admin accepts it (status active), renames it or rejects it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PROPOSED = "proposed", _("Proposed (discovered, waiting for an admin)")
        REJECTED = "rejected", _("Rejected")
        RETIRED = "retired", _("Retired")

    class Origin(models.TextChoices):
        ADMIN = "admin", _("Written by an admin")
        DISCOVERED = "discovered", _("Discovered from comments")

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    keywords = models.JSONField(default=list, blank=True, help_text=_("Keywords and phrases; any one tags a comment."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.ADMIN)
    description = models.TextField(blank=True)
    examples = models.JSONField(default=list, blank=True, help_text=_("Sample comments (discovered themes)."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ResponseTheme(models.Model):
    """A theme found in a response's comment, with the words that matched (for highlighting).
    `answered_at` is copied from the response so theme trends read one table."""

    # Its database constraint points at the response keys on PostgreSQL (core.partition_refs).
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="theme_links",
                                 db_constraint=False)
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="response_links")
    matches = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "theme"], name="surveys_responsetheme_unique"),
        ]
        indexes = [
            # A theme's tags of a period with their responses, index-only (surveys 0022): the themes
            # page's direct reads, an action plan's answers tagged with two of its themes.
            models.Index(fields=["theme", "answered_at"], name="surveys_resptheme_theme_time", include=["response"]),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.theme_id}"
