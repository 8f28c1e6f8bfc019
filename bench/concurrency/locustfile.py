"""Locust users for bench_concurrency: agents, managers and a webhook sender, for Closeloop or
for the django-helpdesk peer (BENCH_CONC_SIDE), signed in with the sessions of the personas file
the bench wrote (BENCH_CONC_PERSONAS). Each request is named by the page it stands for, the same
name on both sides, so the two result tables line up. Run by bench.concurrency.run, never by hand.

An agent, in a loop with think time between steps: first inbox page, one to three pages further
down, a case, claim or start it, add a note, and close half of them with a root cause (the peer:
ticket list and its data, ticket, take, follow-up, close). A manager opens report pages. The
webhook senders (one delivery a second each) together post BENCH_CONC_WEBHOOKS deliveries a
second, signed as a vendor does (the peer: tickets created through its REST API with a token)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import uuid
from pathlib import Path

from locust import HttpUser, between, constant_throughput, events, task

from bench.concurrency.forms import form_for

SIDE = os.environ.get("BENCH_CONC_SIDE", "closeloop")
PERSONAS = json.loads(Path(os.environ["BENCH_CONC_PERSONAS"]).read_text()) if os.environ.get("BENCH_CONC_PERSONAS") else {}
THINK = tuple(float(x) for x in os.environ.get("BENCH_CONC_THINK", "5-15").split("-"))
MANAGER_THINK = tuple(float(x) for x in os.environ.get("BENCH_CONC_MANAGER_THINK", "10-30").split("-"))
WEBHOOK_RATE = float(os.environ.get("BENCH_CONC_WEBHOOKS", "100"))
SENDER_RATE = 1.0  # deliveries a second per sender: answers up to 1 s slow still keep the total rate
CLOSE_SHARE = 0.5
OUTCOMES = {"conflicts": 0, "visits": 0, "closed": 0, "unexpected": {}}
_agents = iter(PERSONAS.get("agents", []))
_managers = iter(PERSONAS.get("managers", []))


@events.test_stop.add_listener
def _write_outcomes(environment, **_kwargs):
    path = os.environ.get("BENCH_CONC_OUTCOMES")
    if path:
        with open(path, "w") as f:
            json.dump(OUTCOMES, f)


def _unexpected(what: str) -> None:
    OUTCOMES["unexpected"][what] = OUTCOMES["unexpected"].get(what, 0) + 1


class _Signed(HttpUser):
    abstract = True
    persona: dict

    def on_start(self):
        self.client.cookies.set(PERSONAS["cookie_name"], self.persona["session"])

    def _post_form(self, page_url: str, html: str, action: str, name: str, **values) -> str | None:
        """Post the form whose action ends with `action` as the browser would, follow the redirect
        back to the case (a browser does); returns the page after it, None if there was no form."""
        form = form_for(html, action)
        if form is None:
            return None
        data = {**form["fields"], **{k: v for k, v in values.items() if not callable(v)}}
        for key, pick in values.items():
            if callable(pick):
                data[key] = pick(form)
        with self.client.post(form["action"] or page_url, data=data, name=name, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code == 409:  # another agent acted on the case first: shown, not an error
                OUTCOMES["conflicts"] += 1
                response.success()
                return response.text
            if response.status_code not in (302, 303):
                response.failure(f"{response.status_code}")
                return None
            location = response.headers["Location"]
        return self.client.get(location, name="case page").text


def _first_choice(select: str):
    return lambda form: next((v for v in form["options"].get(select, []) if v), "")


class CloseloopAgent(_Signed):
    weight = 10
    wait_time = between(*THINK)

    def on_start(self):
        self.persona = next(_agents)
        super().on_start()

    @task
    def visit(self):
        OUTCOMES["visits"] += 1
        html = self.client.get("/cases/?view=team", name="inbox: first page").text
        refs = re.findall(r'href="/cases/(CL-\d+)/"', html)
        for _ in range(random.randint(1, 3)):
            following = re.search(r'rel="next" href="([^"]+)"', html)
            if not following:
                break
            self.wait()
            html = self.client.get(following.group(1).replace("&amp;", "&"), name="inbox: page N").text
            refs += re.findall(r'href="/cases/(CL-\d+)/"', html)
        if not refs:
            _unexpected("inbox without cases")
            return
        ref = random.choice(refs)
        url = f"/cases/{ref}/"
        self.wait()
        html = self.client.get(url, name="case page").text
        self.wait()
        taken = (self._post_form(url, html, f"/{ref}/start/", "action: claim / start")
                 or self._post_form(url, html, f"/{ref}/claim/", "action: claim / start"))
        html = taken or html
        self.wait()
        html = self._post_form(url, html, f"/{ref}/note/", "action: add note",
                               note="Called the customer; they will send photos of the damage.") or html
        if random.random() < CLOSE_SHARE:
            self.wait()
            if self._post_form(url, html, f"/{ref}/close/", "action: close with root cause",
                               root_cause=_first_choice("root_cause"), outcome=_first_choice("outcome"),
                               resolution="Refunded the delivery charge and apologised.") is not None:
                OUTCOMES["closed"] += 1


class HelpdeskAgent(_Signed):
    weight = 10
    wait_time = between(*THINK)

    def on_start(self):
        self.persona = next(_agents)
        super().on_start()

    def _rows(self, data_url: str, start: int, name: str) -> list[int]:
        response = self.client.get(data_url, params={"draw": "1", "start": str(start), "length": "50"}, name=name)
        try:
            return [int(row["id"]) for row in response.json().get("data", [])]
        except (ValueError, KeyError, TypeError):
            _unexpected(f"{name}: not JSON rows")
            return []

    @task
    def visit(self):
        OUTCOMES["visits"] += 1
        html = self.client.get(f"/helpdesk/tickets/?queue={self.persona['queue']}&status=1&status=2", name="inbox: first page").text
        found = re.search(r'"url": "(/helpdesk/datatables_ticket_list/[^"]+)"', html)
        if not found:
            _unexpected("ticket list without its data URL")
            return
        data_url = found.group(1)
        ids = self._rows(data_url, 0, "inbox: first page (data)")
        for page in range(1, random.randint(1, 3) + 1):
            self.wait()  # datatables asks for the next page's rows alone
            ids += self._rows(data_url, 50 * page, "inbox: page N (data)")
        if not ids:
            _unexpected("inbox without tickets")
            return
        ticket = random.choice(ids)
        url = f"/helpdesk/tickets/{ticket}/"
        self.wait()
        html = self.client.get(url, name="case page").text
        self.wait()
        with self.client.get(f"{url}?take", name="action: claim / start", allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code in (302, 303):
                html = self.client.get(response.headers["Location"], name="case page").text
            else:
                response.failure(f"{response.status_code}")
        self.wait()
        html = self._post_form(url, html, f"/{ticket}/update/", "action: add note",
                               comment="Called the customer; they will send photos of the damage.") or html
        if random.random() < CLOSE_SHARE:
            self.wait()
            if self._post_form(url, html, f"/{ticket}/update/", "action: close with root cause",
                               comment="Refunded the delivery charge and apologised.", new_status="4") is not None:
                OUTCOMES["closed"] += 1


class Manager(_Signed):
    weight = 1
    wait_time = between(*MANAGER_THINK)

    def on_start(self):
        self.persona = next(_managers)
        super().on_start()

    @task
    def reports(self):
        label, path = random.choice(PERSONAS["reports"])
        self.client.get(path, name=f"reports: {label}")


class WebhookSender(HttpUser):
    """One of WEBHOOK_RATE / SENDER_RATE senders, each at SENDER_RATE deliveries a second."""

    fixed_count = max(1, round(WEBHOOK_RATE / SENDER_RATE))
    wait_time = constant_throughput(SENDER_RATE)

    @task
    def deliver(self):
        hook = PERSONAS["webhook"]
        delivery = uuid.uuid4().hex
        if SIDE == "closeloop":
            body = json.dumps({"id": delivery, "nps": random.randint(0, 10), "email": f"{delivery[:12]}@example.com",
                               "comment": "The parcel arrived two days late and the box was damaged."}).encode()
            signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
            self.client.post(hook["url"], data=body, name="webhook", headers={
                "Content-Type": "application/json", "X-Signature": signature, "X-Delivery-Id": delivery})
        else:
            self.client.post(hook["url"], name="webhook", json={
                "queue": random.choice(hook["queues"]), "title": f"Survey response {delivery[:8]}",
                "description": "The parcel arrived two days late and the box was damaged.",
                "submitter_email": f"{delivery[:12]}@example.com", "priority": 3,
            }, headers={"Authorization": f"Token {hook['token']}"})


# Only the chosen side's agents take part.
if SIDE == "closeloop":
    del HelpdeskAgent
else:
    del CloseloopAgent
