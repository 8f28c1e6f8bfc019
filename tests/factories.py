"""The one place tests build rows: factory_boy factories for the project's models, and the
personas. Personas follow healthchecks' alice/bob/charlie: Bob is on Alice's team and sees her
cases; Charlie is on another team and sees none of them.

A factory builds a row as a test needs it, with plain defaults (`CaseFactory(team=north)`); the
helpers further down (`make_user`, `make_personas`, and the per-area helpers in tests/*/helpers.py,
builders.py, conftest.py) are thin functions over these factories, kept so call sites read as
before. Rows written through the services (a case opened from an alert, a delivery recorded) are
made by calling the service, not here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Membership, Role, Team, User
from alerts.models import Alert, AlertRule
from cases.models import Case, CaseEvent, CaseResponse, RootCause, RootCauseCategory
from surveys.models import (
    Customer,
    ResponseTheme,
    Survey,
    SurveyResponse,
    Theme,
    Vendor,
    WebhookDelivery,
    WebhookSource,
)

PASSWORD = "correct horse battery staple"


# --- accounts ---------------------------------------------------------------------------------
class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda team: team.name.lower().replace(" ", "-"))


class UserFactory(DjangoModelFactory):
    """A user who can sign in with PASSWORD (created through create_user, as sign-up does)."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    role = Role.AGENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.setdefault("password", PASSWORD)
        return model_class.objects.create_user(*args, **kwargs)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)


# --- surveys ----------------------------------------------------------------------------------
class WebhookSourceFactory(DjangoModelFactory):
    """A source looked up by slug: asking twice for the same slug gives the same row."""

    class Meta:
        model = WebhookSource
        django_get_or_create = ("slug",)

    slug = "test"
    name = "Test"
    vendor = Vendor.STANDARD


class SurveyFactory(DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("source", "external_id")

    source = factory.SubFactory(WebhookSourceFactory)
    external_id = "s1"
    name = "Relationship NPS"


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class SurveyResponseFactory(DjangoModelFactory):
    """A response as surveys.services.response_record would store it, written directly."""

    class Meta:
        model = SurveyResponse

    source = factory.SubFactory(WebhookSourceFactory)
    survey = factory.SubFactory(SurveyFactory, source=factory.SelfAttribute("..source"))
    customer = None
    external_id = factory.Sequence(lambda n: f"r{n}")
    answered_at = factory.LazyFunction(timezone.now)
    nps = 3
    comment = ""


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    source = factory.SubFactory(WebhookSourceFactory)
    delivery_id = factory.Sequence(lambda n: f"d{n}")
    body = b"{}"


class ThemeFactory(DjangoModelFactory):
    class Meta:
        model = Theme
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Theme {n}")
    slug = factory.LazyAttribute(lambda theme: theme.name.lower().replace(" ", "-"))
    status = Theme.Status.ACTIVE
    keywords = factory.LazyAttribute(lambda theme: [theme.name.lower()])


class ResponseThemeFactory(DjangoModelFactory):
    class Meta:
        model = ResponseTheme

    response = factory.SubFactory(SurveyResponseFactory)
    theme = factory.SubFactory(ThemeFactory)
    matches = factory.LazyAttribute(lambda tag: [tag.theme.name.lower()])
    answered_at = factory.LazyAttribute(lambda tag: tag.response.answered_at)


# --- alerts -----------------------------------------------------------------------------------
class AlertRuleFactory(DjangoModelFactory):
    """A detractor rule (NPS at most 6), written directly; alerts.services.rule_create is the
    path that validates and compiles a rule."""

    class Meta:
        model = AlertRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    metric = "nps"
    operator = "lte"
    threshold = Decimal("6")


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = Alert

    rule = factory.SubFactory(AlertRuleFactory)
    response = factory.SubFactory(SurveyResponseFactory)
    action = factory.LazyAttribute(lambda alert: alert.rule.action)
    # As the rules engine stores them: codes and values, worded in the reader's language (alerts.reasons).
    reasons = factory.LazyAttribute(
        lambda alert: [{"code": "score", "metric": "nps", "value": alert.response.nps, "op": "lte", "threshold": 6}])


# --- cases ------------------------------------------------------------------------------------
class RootCauseCategoryFactory(DjangoModelFactory):
    class Meta:
        model = RootCauseCategory
        django_get_or_create = ("name",)

    name = "Delivery"


class RootCauseFactory(DjangoModelFactory):
    class Meta:
        model = RootCause
        django_get_or_create = ("category", "name")

    category = factory.SubFactory(RootCauseCategoryFactory)
    name = "Late"


class CaseFactory(DjangoModelFactory):
    """A case row written directly (no OPENED event, no alert): for tests that set clocks and
    states by hand. `opened_case` adds what the opening service leaves beside it."""

    class Meta:
        model = Case

    reference = factory.Sequence(lambda n: f"CL-F{n:06d}")
    response = factory.SubFactory(SurveyResponseFactory)
    customer = factory.LazyAttribute(lambda case: case.response.customer)
    team = factory.SubFactory(TeamFactory)
    first_contact_due = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=4))
    resolution_due = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    value_at_risk = Decimal("0")


class CaseEventFactory(DjangoModelFactory):
    class Meta:
        model = CaseEvent

    case = factory.SubFactory(CaseFactory)
    kind = CaseEvent.Kind.NOTE


class CaseResponseFactory(DjangoModelFactory):
    class Meta:
        model = CaseResponse

    case = factory.SubFactory(CaseFactory)
    response = factory.LazyAttribute(lambda link: link.case.response)


def opened_case(**fields) -> Case:
    """A case as the opening service leaves it, written directly: the row, its first response
    attached, and the OPENED event at version 1."""
    case = CaseFactory(**fields)
    CaseResponseFactory(case=case, response=case.response)
    CaseEventFactory(case=case, kind=CaseEvent.Kind.OPENED, version=1, to_value=case.team.name,
                     data={"reasons": case.alert.reasons if case.alert_id else []})
    return case


# --- helpers kept for their many call sites -----------------------------------------------------
def api_key_for(user: User, **options) -> str:
    """A working API key for `user` (accounts.services.tokens.token_create; options: name,
    expires_in_days, read_only)."""
    from accounts.services.tokens import token_create

    return token_create(user=user, **{"name": "tests", **options}).key


def make_user(username: str, role: str = Role.AGENT, **extra) -> User:
    return UserFactory(username=username, role=role, **extra)


def make_team(name: str, **extra) -> Team:
    return TeamFactory(name=name, slug=name.lower(), **extra)


def make_personas() -> SimpleNamespace:
    north = make_team("North", is_default=True)
    south = make_team("South")
    alice = make_user("alice")
    bob = make_user("bob")
    charlie = make_user("charlie")
    mia = make_user("mia", role=Role.MANAGER)
    adam = make_user("adam", role=Role.ADMIN, is_staff=True)
    MembershipFactory(user=alice, team=north)
    MembershipFactory(user=bob, team=north)
    MembershipFactory(user=charlie, team=south)
    MembershipFactory(user=mia, team=north, is_manager=True)
    return SimpleNamespace(north=north, south=south, alice=alice, bob=bob, charlie=charlie, mia=mia, adam=adam)


# --- customers: identities, accounts, contacts -----------------------------------------------------
class IdentityFactory(DjangoModelFactory):
    class Meta:
        model = "customers.Identity"

    customer = factory.SubFactory(CustomerFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"identity{n}@example.com")


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = "customers.Account"

    name = factory.Sequence(lambda n: f"Account {n}")


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = "customers.Contact"

    account = factory.SubFactory(AccountFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = "user"
