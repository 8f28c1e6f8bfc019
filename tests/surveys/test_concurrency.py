"""Concurrent duplicates on real PostgreSQL end with one row each; the fake SurveyMonkey API."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from surveys.models import Customer, SurveyResponse, WebhookDelivery
from surveys.normalized import CustomerIdentity
from surveys.ingest import delivery_store
from surveys.services import customer_find_or_create, delivery_process
from tests.surveys.payloads import closeloop_body, make_source, signed, surveymonkey_details, surveymonkey_event

THREADS = 8


def _in_threads(fn, n=THREADS):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=10)
        try:
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n), timeout=60))


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_deliveries_store_one_delivery_and_one_response():
    from django.test import Client

    source = make_source("standard")
    body = closeloop_body(response_id="same")
    headers = signed("standard", source, body)
    statuses = _in_threads(lambda i: Client().post(f"/webhooks/{source.slug}/", data=body,
                                                    content_type="application/json", **headers).status_code)
    assert sorted(statuses) == [200] * (THREADS - 1) + [202]
    assert WebhookDelivery.objects.count() == 1
    assert SurveyResponse.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_response_under_different_ids_end_with_one_response():
    source = make_source("standard")
    deliveries = [WebhookDelivery.objects.create(source=source, delivery_id=f"d{i}", content_type="application/json",
                                                 body=closeloop_body(response_id="r-dup")) for i in range(THREADS)]
    outcomes = _in_threads(lambda i: delivery_process(delivery_pk=deliveries[i].pk))
    assert outcomes == ["processed"] * THREADS
    assert SurveyResponse.objects.count() == 1
    assert Customer.objects.count() == 1
    assert set(WebhookDelivery.objects.values_list("response_id", flat=True)) == {SurveyResponse.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_customer_creation_by_email_makes_one_customer():
    identity = CustomerIdentity(email="Race@Example.com", name="Racer")
    ids = _in_threads(lambda i: customer_find_or_create(
        CustomerIdentity(email=identity.email.upper() if i % 2 else identity.email.lower(), name="Racer")).pk)
    assert len(set(ids)) == 1 and Customer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_process_a_delivery_once():
    source = make_source("standard")
    delivery = WebhookDelivery.objects.create(source=source, delivery_id="once", content_type="application/json",
                                              body=closeloop_body())
    outcomes = _in_threads(lambda i: delivery_process(delivery_pk=delivery.pk))
    assert sorted(outcomes) == ["processed"] + ["skipped"] * (THREADS - 1)
    assert WebhookDelivery.objects.get().attempts == 1


class FakeSurveyMonkey(BaseHTTPRequestHandler):
    details: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer sm-token" and self.headers.get("X-API-TOKEN") != "q-token":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(type(self).details).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_surveymonkey(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSurveyMonkey)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.SURVEYMONKEY_API_BASE = f"http://127.0.0.1:{server.server_port}/v3"
    FakeSurveyMonkey.seen = []
    yield FakeSurveyMonkey
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_surveymonkey_thin_event_is_completed_from_its_api(client, fake_surveymonkey, django_capture_on_commit_callbacks):
    fake_surveymonkey.details = surveymonkey_details(nps="3")
    source = make_source("surveymonkey", auth={"api_key": "client-1", "api_token": "sm-token"})
    body = surveymonkey_event()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/webhooks/{source.slug}/", data=body,
                               content_type="application/vnd.surveymonkey.response.v1+json",
                               **signed("surveymonkey", source, body))
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "processed", delivery.error
    assert fake_surveymonkey.seen[0] == ("/v3/surveys/4321/responses/118/details?simple=true", "Bearer sm-token")
    r = SurveyResponse.objects.get()
    assert (r.nps, r.comment, r.customer.email, r.customer.external_id) == (3, "Waited 40 minutes", "sam@example.com", "C-5")


@pytest.mark.django_db
def test_surveymonkey_refused_token_fails_with_an_actionable_reason(fake_surveymonkey):
    source = make_source("surveymonkey", auth={"api_key": "client-1", "api_token": "wrong"})
    delivery, _ = delivery_store(source=source, delivery_id="e1", content_type="application/json", headers={},
                                 body=surveymonkey_event())
    assert delivery_process(delivery_pk=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert "check the source's API token" in delivery.error


@pytest.mark.django_db
def test_qualtrics_thin_event_is_fetched_from_its_api(fake_surveymonkey, settings):
    fake_surveymonkey.details = {"result": {"responseId": "R_1", "values": {
        "endDate": "2025-03-01T10:00:00Z", "QID1": 2, "QID1_NPS_GROUP": 1, "QID2_TEXT": "Dirty tables",
        "recipientEmail": "q@example.com", "externalDataReference": "C-42"}}}
    source = make_source("qualtrics", auth={"api_base": settings.SURVEYMONKEY_API_BASE, "api_token": "q-token"})
    body = b"Topic=surveyengine.completedResponse.SV_1&Status=Complete&SurveyID=SV_1&ResponseID=R_1"
    delivery = WebhookDelivery.objects.create(source=source, delivery_id="q1", body=body,
                                              content_type="application/x-www-form-urlencoded")
    assert delivery_process(delivery_pk=delivery.pk) == "processed"
    assert fake_surveymonkey.seen[0][0] == "/v3/surveys/SV_1/responses/R_1"
    r = SurveyResponse.objects.get()
    assert (r.nps, r.comment, r.customer.external_id, r.customer.email) == (2, "Dirty tables", "C-42", "q@example.com")
