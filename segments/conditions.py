"""A segment's definition, checked and compiled two ways from the same conditions.

A condition is {"field", "operator", "value"}:

- fields: `tier`, `segment` (the customer's text columns), `account_value` (the customer's own
  value), `churn_risk` (0..1, the churn model's latest score: docs/churn-risk.md), `account.value` and
  `account.churn_risk` (the value, the accounts' model's churn risk, of any account the customer is a contact of),
  `region`, `lifecycle_stage`, `industry` (shorthands for those keys of the customer's
  attributes) and `attributes.<key>` for any key a source delivers;
- operators: `equals`, `one_of` (a list), `contains`, `gte` (>=), `lte` (<=), `is_set` (no value).
  Text compares case-insensitively; `gte`/`lte` on an attribute compare its number (a JSON
  number or a string that is one: "12", "-3.5"), and an attribute that is not a number is
  neither >= nor <= anything.

`condition_problems(conditions)` lists what is wrong in words a person can act on;
`clean_conditions(conditions)` returns the normalized list (values trimmed, numbers as numbers).
`segment_q(conditions, match)` is a Django Q over surveys.Customer (lists, counts, reports, the
inbox through an IN subquery); `compile_segment(...)` a pure predicate over `CustomerFacts`, what
the alert evaluator and routing read about a customer. Both give the same answer for the same
customer (tests/segments/test_conditions.py checks them against each other)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from django.db.models import Case, Exists, FloatField, OuterRef, Q, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import Exact, GreaterThanOrEqual, IContains, IExact, IsNull, LessThanOrEqual, Regex
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.models import Customer

MAX_CONDITIONS = 20
MAX_CHOICES = 100
MAX_TEXT = 255
ATTRIBUTE_PREFIX = "attributes."
# A number as an attribute may carry it (the same pattern in SQL and in Python).
NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"
_NUMBER = re.compile(NUMBER_RE)

TEXT, NUMBER, ATTRIBUTE = "text", "number", "attribute"
OPERATORS = {
    "equals": gettext_lazy("equals"),
    "one_of": gettext_lazy("is one of"),
    "contains": gettext_lazy("contains"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "is_set": gettext_lazy("is set"),
}
OPERATORS_BY_KIND = {
    TEXT: ("equals", "one_of", "contains", "is_set"),
    NUMBER: ("equals", "gte", "lte", "is_set"),
    ATTRIBUTE: ("equals", "one_of", "contains", "gte", "lte", "is_set"),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    label: str


# The fields an editor offers by name; any `attributes.<key>` is accepted besides.
FIELDS = {
    "tier": FieldSpec("tier", TEXT, gettext_lazy("Tier")),
    "segment": FieldSpec("segment", TEXT, gettext_lazy("Segment (as the source sends it)")),
    "account_value": FieldSpec("account_value", NUMBER, gettext_lazy("Customer value")),
    "churn_risk": FieldSpec("churn_risk", NUMBER, gettext_lazy("Churn risk (0 to 1)")),
    "account.value": FieldSpec("account.value", NUMBER, gettext_lazy("Account value (any of their accounts)")),
    "account.churn_risk": FieldSpec("account.churn_risk", NUMBER,
                                    gettext_lazy("Account churn risk, 0 to 1 (any of their accounts)")),
    "region": FieldSpec("attributes.region", ATTRIBUTE, gettext_lazy("Region")),
    "lifecycle_stage": FieldSpec("attributes.lifecycle_stage", ATTRIBUTE, gettext_lazy("Lifecycle stage")),
    "industry": FieldSpec("attributes.industry", ATTRIBUTE, gettext_lazy("Industry")),
}
# The fields read on any of the customer's accounts: the account's column each reads.
ACCOUNT_FIELDS = {"account.value": "value", "account.churn_risk": "churn_risk"}
_KEY = re.compile(r"^[^\s\"'\\]{1,100}$")


def field_spec(name: str) -> FieldSpec | None:
    """The field a condition names, or None when there is no such field."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(ATTRIBUTE_PREFIX) and _KEY.match(name[len(ATTRIBUTE_PREFIX):]):
        return FieldSpec(name, ATTRIBUTE, name[len(ATTRIBUTE_PREFIX):])
    return None


def _number(value) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise (booleans too)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip())
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    return None


def _decimal(value) -> Decimal | None:
    number = _number(value)
    if number is None:
        return None
    try:
        return Decimal(str(value).strip()) if isinstance(value, str) else Decimal(str(number))
    except InvalidOperation:  # pragma: no cover - _number() accepted it
        return None


def _problem(index: int, message: str) -> str:
    return _("Condition %(number)s: %(message)s") % {"number": index + 1, "message": message}


def _check(index: int, condition) -> tuple[list[str], dict | None]:
    """Problems with one condition, and its normalized form when it has none."""
    if not isinstance(condition, Mapping):
        return [_problem(index, _("write it as an object with a field, an operator and a value."))], None
    unknown = sorted(set(condition) - {"field", "operator", "value"})
    if unknown:
        return [_problem(index, _("unknown key(s) %(keys)s; a condition has field, operator and value.")
                         % {"keys": ", ".join(unknown)})], None
    spec = field_spec(condition.get("field"))
    if spec is None:
        return [_problem(index, _("unknown field “%(field)s”; use one of %(fields)s or attributes.<key>.")
                         % {"field": condition.get("field"), "fields": ", ".join(FIELDS)})], None
    operator = condition.get("operator")
    allowed = OPERATORS_BY_KIND[spec.kind]
    if operator not in allowed:
        return [_problem(index, _("“%(operator)s” does not apply to %(field)s; use one of %(allowed)s.")
                         % {"operator": operator, "field": spec.name, "allowed": ", ".join(allowed)})], None
    value = condition.get("value")
    if operator == "is_set":
        if value not in (None, "", True):
            return [_problem(index, _("“is set” takes no value."))], None
        return [], {"field": spec.name, "operator": operator, "value": None}
    if operator == "one_of":
        values = value if isinstance(value, list) else None
        if values is None or not values:
            return [_problem(index, _("“is one of” needs a list of values."))], None
        if len(values) > MAX_CHOICES:
            return [_problem(index, _("at most %(count)s values.") % {"count": MAX_CHOICES})], None
        cleaned = []
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)) or not str(item).strip():
                return [_problem(index, _("every value in the list must be non-empty text or a number."))], None
            if len(str(item).strip()) > MAX_TEXT:
                return [_problem(index, _("a value is longer than %(count)s characters.") % {"count": MAX_TEXT})], None
            cleaned.append(str(item).strip())
        return [], {"field": spec.name, "operator": operator, "value": list(dict.fromkeys(cleaned))}
    if operator in ("gte", "lte") or spec.kind == NUMBER:
        number = _number(value)
        if number is None:
            return [_problem(index, _("“%(value)s” is not a number.") % {"value": value})], None
        return [], {"field": spec.name, "operator": operator, "value": int(number) if number.is_integer() else number}
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        return [_problem(index, _("give a value to compare with."))], None
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        return [_problem(index, _("the value is longer than %(count)s characters.") % {"count": MAX_TEXT})], None
    return [], {"field": spec.name, "operator": operator, "value": text}


def condition_problems(conditions) -> list[str]:
    """What is wrong with a list of conditions ([] when it is usable)."""
    if not isinstance(conditions, list):
        return [_("Conditions must be a list.")]
    if not conditions:
        return [_("Add at least one condition.")]
    if len(conditions) > MAX_CONDITIONS:
        return [_("At most %(count)s conditions.") % {"count": MAX_CONDITIONS}]
    problems = []
    for index, condition in enumerate(conditions):
        problems.extend(_check(index, condition)[0])
    return problems


def clean_conditions(conditions) -> list[dict]:
    """The conditions normalized (assumes condition_problems found nothing)."""
    return [_check(index, condition)[1] for index, condition in enumerate(conditions)]


# --- (a) a Q over surveys.Customer -------------------------------------------------------------


def _contact_model():
    """customers.Contact, reached through the relation's name (this app sits below customers)."""
    return Customer._meta.get_field("account_contacts").related_model


def _text_q(column: str, operator: str, value) -> Q:
    if operator == "equals":
        return Q(**{f"{column}__iexact": value})
    if operator == "one_of":
        q = Q()
        for item in value:
            q |= Q(**{f"{column}__iexact": item})
        return q
    if operator == "contains":
        return Q(**{f"{column}__icontains": value})
    return ~Q(**{column: ""})  # is_set


def _number_q(column: str, operator: str, value) -> Q:
    if operator == "is_set":
        return Q(**{f"{column}__isnull": False})
    lookup = {"equals": "", "gte": "__gte", "lte": "__lte"}[operator]
    return Q(**{f"{column}{lookup}": _decimal(value)})


def _attribute_q(key: str, operator: str, value, prefix: str = "") -> Q:
    text = KeyTextTransform(key, f"{prefix}attributes")
    if operator == "equals":
        return Q(IExact(text, value))
    if operator == "one_of":
        q = Q()
        for item in value:
            q |= Q(IExact(text, item))
        return q
    if operator == "contains":
        return Q(IContains(text, value))
    if operator == "is_set":
        return Q(IsNull(text, False)) & ~Q(Exact(text, ""))
    number = Case(When(Regex(KeyTextTransform(key, f"{prefix}attributes"), NUMBER_RE),
                       then=Cast(KeyTextTransform(key, f"{prefix}attributes"), FloatField())), default=None,
                  output_field=FloatField())
    compare = GreaterThanOrEqual if operator == "gte" else LessThanOrEqual
    return Q(compare(number, float(value)))


def condition_q(condition: dict, prefix: str = "") -> Q:
    """One condition as a Q over surveys.Customer, or over a model that refers to a customer when
    `prefix` is the path to it ("customer__")."""
    name, operator, value = condition["field"], condition["operator"], condition["value"]
    spec = field_spec(name)
    if spec.kind == ATTRIBUTE:
        return _attribute_q(spec.name[len(ATTRIBUTE_PREFIX):], operator, value, prefix)
    if spec.name in ACCOUNT_FIELDS:
        contacts = _contact_model().objects.filter(customer_id=OuterRef(f"{prefix}pk"))
        column = "account__" + ACCOUNT_FIELDS[spec.name]
        return Q(Exists(contacts.filter(_number_q(column, operator, value))))
    if spec.kind == NUMBER:
        return _number_q(prefix + spec.name, operator, value)
    return _text_q(prefix + spec.name, operator, value)


def segment_q(conditions: Iterable[dict], match: str = "all", prefix: str = "") -> Q:
    """The customers the (clean) conditions describe, as a Q over surveys.Customer; with `prefix`
    (the path to the customer, "customer__"), over a model that refers to one: the reports' breakdowns
    by segment test each row's customer this way in one pass (reporting.selectors.segments). Such a
    Q holds for a row without a customer only by accident (an "is set" negation over NULLs): the
    caller requires the customer."""
    q = Q()
    for condition in conditions:
        part = condition_q(condition, prefix)
        q = (q | part) if match == "any" and q else (q & part)
    return q


def members(conditions: Iterable[dict], match: str = "all"):
    """The customers in a segment (not merged into another customer)."""
    return Customer.objects.filter(segment_q(conditions, match), merged_into__isnull=True)


# --- (b) a predicate over a customer snapshot -------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What a segment reads about one of the customer's accounts."""

    value: Decimal | None = None
    churn_risk: float | None = None


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What a segment reads about one customer: their columns, attributes, and the accounts they
    are a contact of (`account_values`: AccountFacts, loaded by the caller only when a segment
    reads them)."""

    tier: str = ""
    segment: str = ""
    account_value: Decimal | None = None
    churn_risk: float | None = None
    attributes: Mapping = field(default_factory=lambda: MappingProxyType({}))
    account_values: tuple = ()

    @classmethod
    def of(cls, customer, account_values: Iterable = ()) -> CustomerFacts:
        if customer is None:
            return cls()
        attributes = customer.attributes if isinstance(customer.attributes, dict) else {}
        return cls(tier=customer.tier or "", segment=customer.segment or "", account_value=customer.account_value,
                   churn_risk=customer.churn_risk, attributes=MappingProxyType(dict(attributes)), account_values=tuple(account_values))


def account_values_of(customer_id: int | None) -> tuple:
    """The accounts a customer is a contact of, as AccountFacts (one query)."""
    if customer_id is None:
        return ()
    rows = _contact_model().objects.filter(customer_id=customer_id).values_list("account__value", "account__churn_risk")
    return tuple(AccountFacts(value, risk) for value, risk in rows)


def account_values_of_many(customer_ids: Iterable[int]) -> dict[int, tuple]:
    """account_values_of for many customers at once (one query): {customer_id: AccountFacts, ...}."""
    found: dict[int, list] = {}
    rows = _contact_model().objects.filter(customer_id__in=list(customer_ids)).values_list(
        "customer_id", "account__value", "account__churn_risk")
    for customer_id, value, risk in rows:
        found.setdefault(customer_id, []).append(AccountFacts(value, risk))
    return {customer_id: tuple(values) for customer_id, values in found.items()}


def _attribute_text(value) -> str | None:
    """An attribute as text, the way PostgreSQL's ->> writes it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _text_test(read: Callable, operator: str, value) -> Callable[[CustomerFacts], bool]:
    if operator == "equals":
        wanted = value.lower()
        return lambda facts: (read(facts) or "").lower() == wanted
    if operator == "one_of":
        wanted_set = frozenset(v.lower() for v in value)
        return lambda facts: (read(facts) or "").lower() in wanted_set
    if operator == "contains":
        part = value.lower()
        return lambda facts: part in (read(facts) or "").lower()
    if operator == "is_set":
        return lambda facts: bool(read(facts))
    bound = float(value)
    if operator == "gte":
        return lambda facts: (n := _number(read(facts))) is not None and n >= bound
    return lambda facts: (n := _number(read(facts))) is not None and n <= bound


def _number_test(operator: str, value) -> Callable[[object], bool]:
    if operator == "is_set":
        return lambda v: v is not None
    bound = _decimal(value)
    # str() first: a float's own decimal digits (0.3, not 0.29999...), as PostgreSQL compares them.
    if operator == "equals":
        return lambda v: v is not None and Decimal(str(v)) == bound
    if operator == "gte":
        return lambda v: v is not None and Decimal(str(v)) >= bound
    return lambda v: v is not None and Decimal(str(v)) <= bound


def condition_test(condition: dict) -> Callable[[CustomerFacts], bool]:
    name, operator, value = condition["field"], condition["operator"], condition["value"]
    spec = field_spec(name)
    if spec.kind == ATTRIBUTE:
        key = spec.name[len(ATTRIBUTE_PREFIX):]
        if operator in ("gte", "lte"):
            return _text_test(lambda facts: facts.attributes.get(key), operator, value)
        return _text_test(lambda facts: _attribute_text(facts.attributes.get(key)), operator, value)
    if spec.name in ACCOUNT_FIELDS:
        test = _number_test(operator, value)
        column = ACCOUNT_FIELDS[spec.name]
        return lambda facts: any(test(getattr(account, column)) for account in facts.account_values)
    if spec.kind == NUMBER:
        test = _number_test(operator, value)
        return lambda facts: test(getattr(facts, spec.name))
    return _text_test(lambda facts: getattr(facts, spec.name), operator, value)


@dataclass(frozen=True, slots=True)
class CompiledSegment:
    """A segment reduced to a predicate: `matches(facts)` makes no query."""

    id: int | None
    name: str
    match: str
    tests: tuple
    needs_accounts: bool

    def matches(self, facts: CustomerFacts) -> bool:
        if self.match == "any":
            return any(test(facts) for test in self.tests)
        return all(test(facts) for test in self.tests)


def compile_segment(*, conditions: Iterable[dict], match: str = "all", id: int | None = None,
                    name: str = "") -> CompiledSegment:
    conditions = list(conditions)
    return CompiledSegment(
        id=id, name=name, match=match, tests=tuple(condition_test(c) for c in conditions),
        needs_accounts=any(c["field"] in ACCOUNT_FIELDS for c in conditions),
    )


def describe(condition: dict) -> str:
    """One condition in words ("Tier is one of gold, platinum")."""
    spec = field_spec(condition["field"])
    label = str(FIELDS[condition["field"]].label) if condition["field"] in FIELDS else spec.label
    for alias, known in FIELDS.items():
        if known.name == spec.name and known.kind == ATTRIBUTE:
            label = str(known.label)
    operator = str(OPERATORS[condition["operator"]])
    value = condition["value"]
    if condition["operator"] == "is_set":
        return f"{label} {operator}"
    if isinstance(value, list):
        value = ", ".join(value)
    return f"{label} {operator} {value}"
