"""Who a customer is across sources and channels, what was merged, what they agreed to, and the
B2B accounts they belong to. The customer row itself is surveys.Customer (recording finds or
creates it); what is here hangs off it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Priority, Team
from surveys.models import Customer, WebhookSource


class Identity(models.Model):
    """One identifier a delivery named for a customer: an external id (per source), an e-mail
    (lower case) or a phone (E.164). Written by customers.receivers when a response is recorded,
    one INSERT per batch; moved by a merge and back by its undo. Two customers sharing an e-mail
    or a phone are suspected duplicates (customers.selectors.suspected_duplicates)."""

    class Kind(models.TextChoices):
        EXTERNAL_ID = "external_id", _("External id")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.ForeignKey(
        WebhookSource, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text=_("The source an external id belongs to (empty for e-mails and phones)."),
    )
    value = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "source", "value"], name="customers_identity_unique_sourced",
                                    condition=Q(source__isnull=False)),
            models.UniqueConstraint(fields=["customer", "kind", "value"], name="customers_identity_unique_unsourced",
                                    condition=Q(source__isnull=True)),
        ]
        indexes = [
            # Suspected duplicates (the same e-mail or phone on two customers) and "who is this?".
            models.Index(fields=["kind", "value"], name="customers_identity_kind_value"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomerMerge(models.Model):
    """A person merged `merged` into `target`: what moved (ids per kind in `moved`), so the undo
    moves exactly that back. Undone merges stay, with when and by whom."""

    target = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_in")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_out")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    moved = models.JSONField(default=dict, blank=True, help_text=_("Ids moved, per kind, and the target's values before."))
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merged", "-created_at"], name="customers_merge_merged")]

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.target_id}"


class ConsentChange(models.Model):
    """A change of a customer's contact consent on one channel: who, when, from what, to what, how
    the customer said so. The current value is on the customer (surveys.consent)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(max_length=12)
    from_value = models.CharField(max_length=12, blank=True)
    to_value = models.CharField(max_length=12, blank=True)
    via = models.CharField(max_length=120, blank=True, help_text=_("How the customer told us (call, letter, ...)."))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="customers_consent_customer")]


class Account(models.Model):
    """A B2B account: a company whose people are customers. Accounts nest (a parent and its
    subsidiaries or sites); the owner is the key-account manager."""

    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts",
        help_text=_("The key-account manager."),
    )
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                help_text=_("Yearly value of the account."))
    renewal_date = models.DateField(null=True, blank=True)
    # The accounts' own churn model's latest score (churn.scoring, docs/churn-risk.md); null unscored.
    churn_risk = models.FloatField(null=True, blank=True, help_text=_("Predicted churn risk, 0..1."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ContactRole(models.TextChoices):
    """What a contact is to their account; the weight is how much their answer counts in the
    account's weighted NPS."""

    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    OTHER = "other", _("Other")


ROLE_WEIGHTS = {ContactRole.DECISION_MAKER: 3, ContactRole.INFLUENCER: 2, ContactRole.USER: 1, ContactRole.OTHER: 1}


class Contact(models.Model):
    """A customer in an account, with their role."""

    # The unique (account, customer) index serves "an account's contacts"; the customer's own
    # index serves "a customer's accounts" and the merge.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="account_contacts")
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.USER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "customer"], name="customers_contact_unique_account_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.account_id} ({self.role})"


class AccountRule(models.Model):
    """A rule over a whole account that opens a case for its team when the account needs a call
    (docs/customers.md, "Account rules"): a decision maker answered as a detractor, the account's
    NPS fell by `points` between two windows of `window_days`, or no contact answered for
    `window_days`. At most one open case per rule and account (customers.services.account_rules)."""

    class Kind(models.TextChoices):
        DECISION_MAKER_DETRACTOR = "decision_maker_detractor", _("A decision maker is a detractor")
        NPS_DROP = "nps_drop", _("The account’s NPS falls")
        SILENCE = "silence", _("No answer from the account")

    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    points = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text=_("NPS drop: by how many points the NPS must fall (1 to 200)."))
    window_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("NPS drop: the last N days against the N days before. Silence: N days without an answer. "
                    "Decision maker: answers older than N days are ignored (imported history)."))
    min_respondents = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("NPS drop: each window needs at least this many respondents."))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="account_rules",
                             help_text=_("The inbox the case lands in."))
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.HIGH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AccountCase(models.Model):
    """A case an account rule opened for an account: which rule, and the figures that triggered it
    (`reasons`: the decision maker's score; the NPS before and after with their respondents; the
    days silent). The case's own response is the answer that triggered it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="rule_cases", db_index=False)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="account_case")
    rule = models.ForeignKey(AccountRule, on_delete=models.PROTECT, related_name="account_cases", db_index=False)
    kind = models.CharField(max_length=32, choices=AccountRule.Kind.choices)
    reasons = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            # "Is one open for this rule and account?" (the opening, under the account's lock), and
            # "the account's cases" (the account page).
            models.Index(fields=["account", "rule"], name="customers_acctcase_acct_rule"),
            models.Index(fields=["rule", "account"], name="customers_acctcase_rule_acct"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.account_id}: {self.case_id}"
