"""Raising alerts for a recorded response: the hook, idempotency, signals, e-mails and praise."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings, strategies as st

from alerts.models import Alert, AlertRule
from alerts.services import alert_email_send, alerts_raise_for_response
from alerts.signals import alert_raised
from cases.models import Case
from surveys.models import SurveyResponse
from surveys.signals import Recorded, response_recorded
from tests.alerts.helpers import customer, defaults_off, response, rule
from tests.factories import make_user
from alerts.reasons import describe_reasons

pytestmark = pytest.mark.django_db


@pytest.fixture
def raised():
    """Alerts sent to cases through alert_raised, in order."""
    seen = []

    def listener(sender, alert, **kwargs):
        seen.append(alert)

    alert_raised.connect(listener, dispatch_uid="tests.alerts.raised")
    yield seen
    alert_raised.disconnect(dispatch_uid="tests.alerts.raised")


def test_the_seeded_defaults_exist():
    names = set(AlertRule.objects.values_list("name", flat=True))
    assert {"Detractor (NPS 0–6)", "Unhappy (CSAT 1–2 of 5)", "High effort (CES)",
            "Promoter praise (NPS 9–10 with a comment)"} <= names


def test_response_recorded_raises_alerts_in_the_same_transaction(personas, raised):
    defaults_off()
    detractor = rule(name="Detractor", case_team=personas.north)
    recorded = response(nps=2, comment="Slow", cust=customer())
    response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(recorded))
    alert = Alert.objects.get(response=recorded)
    assert alert.rule == detractor and alert.action == "open_case"
    assert alert.reasons == [{"code": "score", "metric": "nps", "value": 2, "op": "lte", "threshold": 6}]
    assert describe_reasons(alert.reasons) == ["NPS 2 is at most 6"]
    assert raised == [alert]


def test_evaluating_twice_changes_nothing(personas, raised):
    defaults_off()
    rule(name="Detractor")
    recorded = response(nps=2, cust=customer())
    first = alerts_raise_for_response(response=recorded)
    second = alerts_raise_for_response(response=recorded)
    assert len(first) == 1 and second == []
    assert Alert.objects.filter(response=recorded).count() == 1
    assert len(raised) == 1


def test_stop_processing_skips_later_rules(personas, raised):
    defaults_off()
    rule(name="VIP", order=1, customer_tiers=["Tier I"], stop_processing=True, case_priority="high")
    rule(name="Everyone", order=2)
    vip = response(nps=1, cust=customer(tier="Tier I"))
    other = response(nps=1, cust=customer(tier="Tier II"))
    assert [a.rule.name for a in alerts_raise_for_response(response=vip)] == ["VIP"]
    assert [a.rule.name for a in alerts_raise_for_response(response=other)] == ["Everyone"]


def test_the_seeded_promoter_rule_praises_without_a_case(personas, raised, django_capture_on_commit_callbacks):
    recorded = response(nps=10, comment="Bob was brilliant", cust=customer(), team=personas.north)
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = alerts_raise_for_response(response=recorded)
    # Every new alert is announced (followup listens for praise); only open-case alerts make cases.
    assert alert.action == "praise" and raised == [alert]
    assert not Case.objects.filter(response=recorded).exists()
    alert.refresh_from_db()
    assert alert.email_status == "sent"
    # No staff member named in the attributes: the response's team (alice, bob, mia) hears it.
    assert sorted(alert.email_recipients) == ["alice@example.com", "bob@example.com", "mia@example.com"]
    praise = next(m for m in mail.outbox if m.subject.startswith("[Closeloop] Praise from"))
    assert "Bob was brilliant" in praise.body


@pytest.mark.parametrize("named", ["bob", "BOB@example.com", "Bob Builder"])
def test_praise_goes_to_the_staff_member_the_response_names(personas, named, django_capture_on_commit_callbacks):
    personas.bob.first_name, personas.bob.last_name = "Bob", "Builder"
    personas.bob.save()
    recorded = response(nps=9, comment="Great help", cust=customer(), team=personas.north,
                        attributes={"staff": named})
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = alerts_raise_for_response(response=recorded)
    alert.refresh_from_db()
    assert alert.praised_user == personas.bob
    assert alert.email_recipients == ["bob@example.com"]
    # The praise alert's own e-mail (recognition for his managers, with him in copy, is followup's).
    message = next(m for m in mail.outbox if m.to == ["bob@example.com"])
    assert "Bob Builder" in message.subject
    assert "named you" in message.body


def test_praise_for_an_unknown_name_goes_to_the_rule_team(personas, django_capture_on_commit_callbacks):
    defaults_off()
    rule(name="Praise", metric="nps", operator="gte", threshold=Decimal("9"), action="praise",
         notify_team=personas.south)
    recorded = response(nps=10, comment="Lovely", cust=customer(), attributes={"staff": "Nobody Known"})
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = alerts_raise_for_response(response=recorded)
    alert.refresh_from_db()
    assert alert.praised_user is None and alert.email_recipients == ["charlie@example.com"]


def test_notify_emails_named_users_and_team_members_once(personas, django_capture_on_commit_callbacks):
    defaults_off()
    rule(name="Tell Adam", action="notify", notify_users=[personas.adam, personas.charlie], notify_team=personas.south)
    recorded = response(nps=0, comment="Awful", cust=customer(name="Dana"))
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = alerts_raise_for_response(response=recorded)
    alert.refresh_from_db()
    assert alert.email_status == "sent"
    assert sorted(m.to[0] for m in mail.outbox) == ["adam@example.com", "charlie@example.com"]
    assert mail.outbox[0].subject == "[Closeloop] Tell Adam: NPS 0 from Dana"
    assert "NPS 0 is at most 6" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"
    assert alert_email_send(alert_id=alert.pk) == "skipped"  # a second run sends nothing
    assert len(mail.outbox) == 2


def test_a_failed_send_goes_back_to_pending_for_the_retry(personas, settings):
    defaults_off()
    rule(name="Tell Adam", action="notify", notify_users=[personas.adam])
    recorded = response(nps=0, cust=customer())
    (alert,) = alerts_raise_for_response(response=recorded)
    settings.EMAIL_BACKEND = "tests.alerts.failing_backend.FailingBackend"
    with pytest.raises(ConnectionRefusedError):
        alert_email_send(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.email_status == "pending" and "ConnectionRefusedError" in alert.email_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert alert_email_send(alert_id=alert.pk) == "sent"


def test_the_task_gives_up_after_its_retries(personas, settings):
    from alerts.tasks import alert_email_send_task

    defaults_off()
    rule(name="Tell Adam", action="notify", notify_users=[personas.adam])
    (alert,) = alerts_raise_for_response(response=response(nps=0, cust=customer()))
    settings.EMAIL_BACKEND = "tests.alerts.failing_backend.FailingBackend"
    alert_email_send_task.apply(args=(alert.pk,), retries=alert_email_send_task.max_retries)  # the last try
    alert.refresh_from_db()
    assert alert.email_status == "failed" and alert.email_error.startswith("Gave up")


def test_customer_tier_and_segment_come_from_the_customer(personas):
    defaults_off()
    rule(name="SMB gold", customer_tiers=["Gold"], customer_segments=["SMB"])
    hit = response(nps=3, cust=customer(tier="gold", segment="smb"))
    miss = response(nps=3, cust=customer(tier="gold", segment="Enterprise"))
    assert len(alerts_raise_for_response(response=SurveyResponse.objects.get(pk=hit.pk))) == 1
    assert alerts_raise_for_response(response=SurveyResponse.objects.get(pk=miss.pk)) == []


def test_repeat_protection_attaches_a_second_match_to_the_open_case(personas):
    """Integration with cases (case_open_from_alert owns repeat protection)."""
    from cases.models import Case

    defaults_off()
    rule(name="Detractor", case_team=personas.north, repeat_window_days=14)
    who = customer()
    first = response(nps=5, cust=who)
    second = response(nps=1, cust=who)
    response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(first))
    response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(second))
    assert Alert.objects.filter(response__customer=who).count() == 2
    assert Case.objects.filter(customer=who).count() == 1


operators = st.sampled_from(["lte", "gte", "between"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), low_end=st.integers(0, 3), width=st.integers(1, 9), operator=operators)
def test_property_an_alert_exists_exactly_when_the_rule_matches(personas, data, low_end, width, operator):
    high_end = low_end + width
    whole = st.integers(low_end, high_end)
    score = data.draw(whole, "score")
    threshold = data.draw(whole, "threshold")
    upper = data.draw(st.integers(threshold, high_end), "upper")
    with transaction.atomic():
        defaults_off()
        rule(name="Property", metric="csat", scale_min=low_end, scale_max=high_end, operator=operator,
             threshold=Decimal(threshold), threshold_high=Decimal(upper) if operator == "between" else None,
             action="praise")
        recorded = response(csat=Decimal(score), csat_scale_min=low_end, csat_scale_max=high_end, cust=customer())
        alerts_raise_for_response(response=recorded)
        expected = {"lte": score <= threshold, "gte": score >= threshold, "between": threshold <= score <= upper}
        assert Alert.objects.filter(response=recorded).exists() is expected[operator]
        before = list(Alert.objects.filter(response=recorded).values_list("id", "reasons"))
        assert alerts_raise_for_response(response=recorded) == []
        assert list(Alert.objects.filter(response=recorded).values_list("id", "reasons")) == before
        transaction.set_rollback(True)


def test_a_batch_of_emails_sends_each_once_and_only_the_refused_one_goes_back(personas, settings):
    """alert_emails_send: one claim and one load for the batch; an alert already sent is skipped,
    one whose server refuses is back to pending with the error, the others are sent."""
    from alerts.services import alert_emails_send
    from tests.alerts.failing_backend import BouncingBackend

    defaults_off()
    bouncer = make_user("bouncer")
    bouncer.email = "bounce@example.com"
    bouncer.save()
    rule(name="Tell Adam", action="notify", notify_users=[personas.adam])
    rule(name="Tell the bouncer", action="notify", notify_users=[bouncer], metric="nps", operator="lte",
         threshold=Decimal("1"))
    first, = alerts_raise_for_response(response=response(nps=3, cust=customer()))
    second, = alerts_raise_for_response(response=response(nps=4, cust=customer()))
    to_adam, to_bouncer = alerts_raise_for_response(response=response(nps=0, cust=customer()))
    assert alert_email_send(alert_id=first.pk) == "sent"  # done before the batch
    settings.EMAIL_BACKEND = "tests.alerts.failing_backend.BouncingBackend"
    BouncingBackend.sent = []
    outcomes, errors = alert_emails_send(alert_ids=[first.pk, second.pk, to_adam.pk, to_bouncer.pk])
    assert outcomes == {first.pk: "skipped", second.pk: "sent", to_adam.pk: "sent", to_bouncer.pk: "retrying"}
    assert list(errors) == [to_bouncer.pk] and isinstance(errors[to_bouncer.pk], ConnectionRefusedError)
    assert sorted(m.to[0] for m in BouncingBackend.sent) == ["adam@example.com", "adam@example.com"]
    to_bouncer.refresh_from_db()
    assert to_bouncer.email_status == "pending" and "550" in to_bouncer.email_error
    second.refresh_from_db()
    assert second.email_status == "sent" and second.email_recipients == ["adam@example.com"]


def test_each_recipient_is_greeted_by_name_escaped_in_the_html(personas, mailoutbox):
    """An alert's e-mail is rendered once for all its recipients; each copy still names its own
    reader, and a name with markup is escaped in the HTML part (and only there)."""
    defaults_off()
    personas.adam.first_name, personas.adam.last_name = "<b>Adam</b>", "& Co"
    personas.adam.save()
    rule(name="Tell two", action="notify", notify_users=[personas.adam, personas.charlie])
    (alert,) = alerts_raise_for_response(response=response(nps=0, cust=customer()))
    assert alert_email_send(alert_id=alert.pk) == "sent"
    by_to = {m.to[0]: m for m in mailoutbox}
    adam, charlie = by_to["adam@example.com"], by_to["charlie@example.com"]
    assert adam.body.startswith(f"Hello {personas.adam.display_name},")
    assert "Hello &lt;b&gt;Adam&lt;/b&gt; &amp; Co," in adam.alternatives[0][0]
    assert charlie.body.startswith(f"Hello {personas.charlie.display_name},")
    assert "Adam" not in charlie.body and "@@" not in adam.body + charlie.body + adam.subject
