"""Every query count the docs state is measured here, on the real page, and must equal what the
docs say (issue #25, item 6).

A count in the docs is a promise a reader plans with ("the inbox runs 10 queries whatever the
rows"); a budget test elsewhere only holds a ceiling, so the docs could drift below or above the
truth unnoticed (the inbox's said 8 while it ran 10). Here each stated count is read out of the
page's text (CLAIMS: the page, a pattern whose named groups are the numbers, and what measures
them) and compared with the count Django's CaptureQueriesContext records for the same request,
made by the same people as the budget tests (alice, an agent of North; mia, North's manager), with
a cold shared cache (what the budget tests measure: the bell's count and the two-factor role
policy included). A stated count that is also said to be fixed ("whether it shows 1 row or 100")
is measured at both sizes.

Every other "N queries" in README.md and docs/ must be listed in ELSEWHERE with where it is
checked, so a new count cannot be written without a test; the bench pages (docs/benchmarks*.md)
are excluded: their counts are figures of a dated run, written by the bench scripts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if not p.name.startswith("benchmarks"))]
WORDS = {"none": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
NUMBER = r"\d+|" + "|".join(WORDS)
SCANNED = r"\d+|" + "|".join(word for word in WORDS if word != "none")
# "8 queries", "one more query", "four SQL queries", "Zero database queries"
COUNT = re.compile(rf"\b({SCANNED})\b(?: more)?(?: SQL| database)? quer(?:y|ies)\b", re.IGNORECASE)

pytestmark = pytest.mark.django_db


def number(text: str) -> int:
    return int(text) if text.isdigit() else WORDS[text.lower()]


def text_of(page: str) -> str:
    """The page's prose with line breaks folded, so a sentence wrapped over lines still matches."""
    return " ".join((ROOT / page).read_text().split())


def count_queries(request: Callable[[], object], *, cold: bool = True) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = request()
    status = getattr(response, "status_code", 200)
    assert status == 200, status
    return len(queries.captured_queries)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- what each claim measures --------------------------------------------------------------------


def _inbox_cases(personas, n: int) -> None:
    from tests.inbox.helpers import make_case

    for i in range(n):
        make_case(personas.north, assignee=personas.bob if i % 2 else None)


def measure_inbox(personas) -> dict[str, int]:
    """The inbox page at 1 row and at 100 ("Team all", 100 rows a page), then with filters on
    (the filter panel open with its choices, and the count of the cases that match)."""
    client = signed_in(personas.alice)
    _inbox_cases(personas, 1)
    small = count_queries(lambda: client.get("/cases/", {"view": "team", "size": 100}))
    _inbox_cases(personas, 99)
    large = count_queries(lambda: client.get("/cases/", {"view": "team", "size": 100}))
    assert small == large, f"the inbox's count is not fixed: {small} queries for 1 row, {large} for 100"
    filtered = count_queries(lambda: client.get("/cases/", {"view": "team", "size": 100, "priority": "normal"}))
    from tests.cases.text_helpers import make_theme

    make_theme("Delivery", ["parcel"])
    themed = count_queries(lambda: client.get("/cases/", {"view": "team", "size": 100, "theme": "delivery"}))
    return {"inbox": large, "filtered": filtered, "themed": themed}


def measure_inbox_parts(personas) -> dict[str, int]:
    """The six views' counts (one query), the bell (one cold, none warm), and what each saved view
    whose count is not cached adds to the page."""
    from accounts.models import visible_team_ids
    from cases.inapp import bell_count
    from cases.saved_views.services import saved_view_create
    from cases.selectors import inbox_counts

    _inbox_cases(personas, 3)
    visible_team_ids(personas.alice)  # the page has read the person's teams already (kept on the user)
    counts = count_queries(lambda: inbox_counts(personas.alice))
    bell_cold = count_queries(lambda: bell_count(personas.alice.pk))
    bell_warm = count_queries(lambda: bell_count(personas.alice.pk), cold=False)
    client = signed_in(personas.alice)
    without = count_queries(lambda: client.get("/cases/", {"view": "team"}))
    for name, priority in (("Urgent", "urgent"), ("Low", "low"), ("Normal", "normal")):
        saved_view_create(owner=personas.alice, name=name, params={"view": "team", "priority": priority})
    uncached = count_queries(lambda: client.get("/cases/", {"view": "team"}))
    cached = count_queries(lambda: client.get("/cases/", {"view": "team"}), cold=False)
    warm_without_views = count_queries(lambda: client.get("/cases/", {"view": "team"}), cold=False)
    assert cached == warm_without_views
    per_view, rest = divmod(uncached - without, 3)
    assert rest == 0, (without, uncached)
    return {"counts": counts, "bell": bell_cold, "bell_warm": bell_warm, "per_view": per_view}


def measure_case_page(personas) -> dict[str, int]:
    """The case page with 1 event and with 100 (notes by two people, a contact attempt)."""
    from cases.services import case_add_note, case_log_contact
    from tests.inbox.helpers import open_case

    client = signed_in(personas.alice)
    measured = []
    for n_events in (1, 100):
        case = open_case(personas.north)
        for i in range(n_events):
            case = case_add_note(case_id=case.pk, by=personas.bob if i % 2 else personas.alice, note=f"Note {i}")
        case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached")
        measured.append(count_queries(lambda case=case: client.get(f"/cases/{case.reference}/")))
    assert measured[0] == measured[1], f"the case page's count is not fixed: {measured} for 1 and 100 events"
    return {"case": measured[1]}


def measure_customer_page(personas) -> dict[str, int]:
    """A customer with 1 response and one with 500 (the same page, the same count)."""
    from surveys.models import SurveyResponse
    from tests.inbox.helpers import make_case, make_customer, source_and_survey

    client = signed_in(personas.alice)
    source, survey = source_and_survey()
    measured = []
    for n_responses in (1, 500):
        customer = make_customer(f"Ann Lee {n_responses}", email=f"ann{n_responses}@example.com")
        start = timezone.now() - dt.timedelta(days=700)
        SurveyResponse.objects.bulk_create([
            SurveyResponse(source=source, survey=survey, customer=customer, team=personas.north,
                           external_id=f"b-{n_responses}-{i}", answered_at=start + dt.timedelta(days=i), nps=i % 11,
                           comment=f"answer {i}", channel="email")
            for i in range(n_responses)])
        make_case(personas.north, customer=customer)
        measured.append(count_queries(lambda customer=customer: client.get(f"/customers/{customer.pk}/")))
    assert measured[0] == measured[1], f"the customer page's count is not fixed: {measured} for 1 and 500 responses"
    return {"customer": measured[1]}


def measure_account_page(personas) -> dict[str, int]:
    """An account of three contacts (one of them South's) owned by mia, read by mia and by alice
    (North, not the owner: whether each contact is hers to see)."""
    from customers.services import contact_set
    from tests.factories import AccountFactory
    from tests.inbox.helpers import make_customer, make_response

    account = AccountFactory(name="Northwind", owner=personas.mia)
    for i, (team, role) in enumerate(((personas.north, "decision_maker"), (personas.north, "user"),
                                      (personas.south, "user"))):
        customer = make_customer(f"Person {i}", email=f"p{i}@example.com")
        make_response(customer=customer, team=team, nps=i * 4)
        contact_set(account_id=account.pk, customer_id=customer.pk, role=role)
    url = f"/customers/accounts/{account.pk}/"
    mia, alice = signed_in(personas.mia), signed_in(personas.alice)
    owner = count_queries(lambda: mia.get(url))
    other = count_queries(lambda: alice.get(url))
    return {"owner": owner, "more": other - owner}


def measure_kpis_and_recovery(personas) -> dict[str, int]:
    """The KPI and Recovery pages for mia (North's manager) with 1 closed case answered again and
    with 20: the same count (the figures are aggregated in SQL, nothing is read per case)."""
    from tests.reporting import builders as b

    client = signed_in(personas.mia)
    measured = {"kpis": [], "recovery": []}
    made = 0
    for n_cases in (1, 20):
        for _ in range(n_cases - made):
            created = timezone.now() - dt.timedelta(days=5)
            who = b.customer()
            resp = b.response(personas.north, at=created, nps=3, who=who)
            b.case(personas.north, created=created, resp=resp, contacted=created + dt.timedelta(hours=1),
                   closed=created + dt.timedelta(days=1))
            b.response(personas.north, at=created + dt.timedelta(days=2), nps=9, who=who)
        made = n_cases
        measured["kpis"].append(count_queries(lambda: client.get("/reports/kpis/")))
        measured["recovery"].append(count_queries(lambda: client.get("/reports/recovery/")))
    for page, counts in measured.items():
        assert counts[0] == counts[1], f"the {page} page's count is not fixed: {counts} for 1 and 20 cases"
    return {page: counts[1] for page, counts in measured.items()}


def measure_segment_comparison(personas) -> dict[str, int]:
    """The segment comparison for mia with one segment and with three, each with answers and a
    closed case: the same count (every segment is a flag of the same passes over the rows)."""
    from django.db import transaction

    from segments.models import Segment
    from segments.services import segment_save
    from tests.reporting import builders as b

    client = signed_in(personas.mia)
    measured = []
    for tiers in (["gold"], ["silver", "bronze"]):
        for tier in tiers:
            with transaction.atomic():
                segment_save(Segment(name=tier.title(), conditions=[{"field": "tier", "operator": "equals",
                                                                       "value": tier}]))
            created = timezone.now() - dt.timedelta(days=5)
            resp = b.response(personas.north, at=created, nps=3, who=b.customer(tier=tier))
            b.case(personas.north, created=created, resp=resp, closed=created + dt.timedelta(days=1))
        measured.append(count_queries(lambda: client.get("/reports/segments/")))
    assert measured[0] == measured[1], f"the comparison's count is not fixed: {measured} for 1 and 3 segments"
    return {"segments": measured[1]}


def measure_over_contacted(personas) -> dict[str, int]:
    """The over-contacted list for North's manager with one customer over the limit and with
    eleven, read from the stored peaks (reporting.ContactPeak): the same count."""
    from reporting import contact_breaches
    from reporting.filters import ReportFilters
    from reporting.selectors.contact import over_contacted
    from tests.factories import CustomerFactory, SurveyResponseFactory

    now = timezone.now()
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}), now=now)
    measured = []
    for customers in (range(1), range(1, 11)):
        for c in customers:
            customer = CustomerFactory(name=f"Asked {c:02d}")
            for i, days in enumerate((20, 15, 9, 2)):
                SurveyResponseFactory(customer=customer, team=personas.north, answered_at=now - dt.timedelta(days=days),
                                      external_id=f"oc{c}-{i}")
        contact_breaches.rebuild()
        over_contacted(filters)  # the policy is read once and kept
        measured.append(count_queries(lambda: over_contacted(filters)))
    assert measured[0] == measured[1], f"the list's count is not fixed: {measured} for 1 and 11 customers"
    return {"over_contacted": measured[1]}


@dataclass(frozen=True)
class Claim:
    page: str
    pattern: str  # matched in the page's folded text; each named group is a stated count
    measure: Callable[..., dict[str, int]]


CLAIMS = {
    "inbox page": Claim(
        "docs/inbox.md",
        r"the inbox page runs (?P<inbox>NUMBER) SQL queries whether it shows 1 row or 100, .*?"
        r"; (?P<filtered>NUMBER) with filters on:.*?, (?P<themed>NUMBER) when one of them is a theme",
        measure_inbox),
    "inbox counts, bell, saved views": Claim(
        "docs/inbox.md",
        r"each with its count \((?P<counts>NUMBER) quer(?:y|ies), `cases\.selectors\.inbox_counts`.*?"
        r"they include the bell's (?P<bell>NUMBER) query \(with a warm cache it is (?P<bell_warm>none)\).*?"
        r"when a count is not cached, (?P<per_view>NUMBER) (?:more )?per saved view",
        measure_inbox_parts),
    "case page": Claim(
        "docs/inbox.md", r"the case page (?P<case>NUMBER) whether the case has 1 event or 100", measure_case_page),
    "customer page": Claim(
        "docs/customers.md", r"\((?P<customer>NUMBER) for a customer with 500 responses", measure_customer_page),
    "account page": Claim(
        "docs/customers.md", r"\((?P<owner>NUMBER) for its owner, (?P<more>NUMBER) more for anyone else",
        measure_account_page),
    "KPI and Recovery pages": Claim(
        "docs/reporting.md",
        r"The KPI page runs (?P<kpis>NUMBER) queries and the Recovery page (?P<recovery>NUMBER) for a manager",
        measure_kpis_and_recovery),
    "over-contacted list": Claim(
        "docs/reporting.md", r"the over-contacted list runs (?P<over_contacted>NUMBER) queries whatever the number of "
                             r"customers", measure_over_contacted),
    "segment comparison page": Claim(
        "docs/reporting.md", r"The segment comparison page runs (?P<segments>NUMBER) queries for a manager whatever "
                             r"the number of segments", measure_segment_comparison),
}

# Every other count the docs state, and where it is checked (page, the count's words).
ELSEWHERE = {
    ("docs/alert-rules.md", "Zero database queries"): "tests/alerts/test_rule_cache.py (0 queries once cached)",
    ("docs/webhooks.md", "four queries"): "a worker batch, not a page: tests/surveys/test_batch_processing.py",
    ("docs/webhooks.md", "one query"): "a replay's theme ids, not a page: surveys.signals.Recorded.stored",
    ("docs/follow-up.md", "7 queries"): "a sweep's dated measurement beside its time (144 ms), not a page",
    ("docs/customers.md", "one query"): "segment member counts, not a page: tests/segments/test_api_and_pages.py",
    ("docs/architecture.md", "three queries"): "an import batch's customer lookups, not a page: customers/importers.py",
    ("docs/reporting.md", "one query"): "the closure rollup read once for the root-causes panels: "
                                        "tests/reporting/test_closure_rollup.py",
}


def stated(claim: Claim) -> dict[str, int]:
    pattern = claim.pattern.replace("NUMBER", NUMBER)
    found = re.search(pattern, text_of(claim.page), re.IGNORECASE)
    assert found, f"{claim.page} no longer says what {claim.measure.__name__} measures: /{claim.pattern}/"
    return {key: number(value) for key, value in found.groupdict().items()}


@pytest.mark.parametrize("name", CLAIMS)
def test_the_docs_state_the_query_count_the_page_runs(name, personas):
    claim = CLAIMS[name]
    said = stated(claim)
    measured = claim.measure(personas)
    assert measured == said, f"{claim.page} says {said}, the page runs {measured}"


def test_every_count_in_the_docs_is_checked():
    """Each "N queries" of README.md and docs/ is one a claim above reads, or listed in ELSEWHERE."""
    covered = set()
    for claim in CLAIMS.values():
        found = re.search(claim.pattern.replace("NUMBER", NUMBER), text_of(claim.page), re.IGNORECASE)
        if found:
            covered.update((claim.page, found.start(g), found.end(g)) for g in found.groupdict())
    unchecked = []
    for path in PAGES:
        page = str(path.relative_to(ROOT))
        for found in COUNT.finditer(text_of(page)):
            if any(p == page and start <= found.start(1) < end for p, start, end in covered):
                continue
            if any(p == page and found.group(0).lower().startswith(words.lower()) for p, words in ELSEWHERE):
                continue
            unchecked.append(f"{page}: “{found.group(0)}”")
    assert unchecked == [], "query counts the docs state that no test checks (add a claim or an ELSEWHERE entry)"
