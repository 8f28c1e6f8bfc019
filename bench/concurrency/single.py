"""One agent alone, before the crowd: the same pages on both sides, interleaved, with nothing else
running (the side-by-side figures issue #25 starts from), measured in the same run as the load.

Closeloop: the first page of the agent's team inbox, page 10 of it (reached by its own "next" links,
as an agent would), and a case from the first page. The peer (django-helpdesk): its ticket list for
the agent's queue and open statuses, the rows its datatables asks for (first page and rows 451-500),
and a ticket from the first rows. Each round asks every page once, in the same order; the first
round warms the caches and is not counted."""

from __future__ import annotations

import re
import statistics
import time

import requests


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _closeloop_pages(session: requests.Session, host: str) -> dict[str, str]:
    first = "/cases/?view=team"
    html = session.get(host + first, timeout=60).text
    refs = re.findall(r'href="/cases/(CL-\d+)/"', html)
    pages = {"inbox: first page": first}
    following = html
    for _ in range(9):
        found = re.search(r'rel="next" href="([^"]+)"', following)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
        following = session.get(host + url, timeout=60).text
        pages["inbox: page N"] = url
    if refs:
        pages["case page"] = f"/cases/{refs[0]}/"
    return pages


def _helpdesk_pages(session: requests.Session, host: str, queue: int) -> dict[str, str]:
    first = f"/helpdesk/tickets/?queue={queue}&status=1&status=2"
    html = session.get(host + first, timeout=60).text
    pages = {"inbox: first page": first}
    found = re.search(r'"url": "(/helpdesk/datatables_ticket_list/[^"]+)"', html)
    if found:
        data = found.group(1)
        sep = "&" if "?" in data else "?"
        pages["inbox: first page (data)"] = f"{data}{sep}draw=1&start=0&length=50"
        pages["inbox: page N (data)"] = f"{data}{sep}draw=1&start=450&length=50"
        rows = session.get(host + pages["inbox: first page (data)"], timeout=60).json().get("data", [])
        if rows:
            pages["case page"] = f"/helpdesk/tickets/{int(rows[0]['id'])}/"
    return pages


def measure(side: str, host: str, personas: dict, rounds: int) -> dict[str, dict]:
    """{page name: {requests, failures, p50, p95, max}} in ms, for one agent of the first team."""
    agent = personas["agents"][0]
    session = requests.Session()
    session.cookies.set(personas["cookie_name"], agent["session"])
    pages = (_closeloop_pages(session, host) if side == "closeloop"
             else _helpdesk_pages(session, host, agent["queue"]))
    timings: dict[str, list[float]] = {name: [] for name in pages}
    failures = dict.fromkeys(pages, 0)
    for round_no in range(rounds + 1):
        for name, url in pages.items():
            started = time.perf_counter()
            response = session.get(host + url, timeout=60, allow_redirects=False)
            elapsed = 1000 * (time.perf_counter() - started)
            if round_no == 0:
                continue
            if response.status_code != 200:
                failures[name] += 1
            timings[name].append(elapsed)
    return {name: {"requests": len(values), "failures": failures[name], "p50": statistics.median(values),
                   "p95": _percentile(values, 95), "max": max(values)}
            for name, values in timings.items() if values}
