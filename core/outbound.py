"""The one HTTP client for addresses a person configured: Slack and Teams webhooks, vendor APIs.

Anything an admin can type a URL into can be pointed at the product's own network (the cloud
metadata service, Redis, an internal admin page). Every such request goes through `request()`:

- **https only** when settings.OUTBOUND_HTTPS_ONLY (on in production: DEBUG and the tests off);
- **no private, loopback, link-local, shared, multicast or reserved address**, checked on the
  addresses the host name *resolves to*, at connection time, and the connection is made to the
  checked address (the socket connects to that IP; TLS still verifies the host name). A name that
  resolves to a public address for the check and to 127.0.0.1 for the connection (DNS rebinding)
  cannot slip through, because there is only one resolution. If any address a name resolves to is
  refused, the request is refused;
- **redirects** are not followed unless the caller allows some (`max_redirects`); each hop is
  checked again as above, and headers (credentials) are dropped when the host changes;
- **bounded**: connect and read timeouts, a total deadline, and at most `max_bytes` of body;
- **errors summarised**: OutboundError says what happened (refused, unreachable, timed out, too
  large, HTTP status) and never carries the response body.

Proxies from the environment are ignored (a proxy would be the host connected to). Tests serve
on loopback: settings.OUTBOUND_ALLOWED_NETWORKS, set only when the test suite runs
(config/settings/__init__.py, not read from the environment), lets those addresses through.

No maintained library does this for requests today (advocate, the usual answer, is unmaintained),
so it is a small urllib3 connection class plus the checks below.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3 import connection as u3connection
from urllib3 import connectionpool

DEFAULT_TIMEOUT = (3.05, 10)  # connect, read (seconds)
DEFAULT_DEADLINE = 30.0  # the whole request, body included
DEFAULT_MAX_BYTES = 1_000_000
CHUNK = 64 * 1024
REDIRECT_STATUSES = (301, 302, 303, 307, 308)

# Refused even where ipaddress calls them global; everything that is not global is refused too:
# 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16 (incl. the 169.254.169.254 metadata service),
# 172.16/12, 192.168/16, ::1, fc00::/7 (incl. fd00::/8), fe80::/10, multicast and reserved ranges.
ALWAYS_REFUSED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "fc00::/7",
)]


class OutboundError(Exception):
    """A request that did not produce a usable answer; `str()` is safe to store and show."""


class OutboundRefused(OutboundError):
    """The URL or an address it resolves to is not allowed: fix the URL, retrying will not help."""


class OutboundUnavailable(OutboundError):
    """The network or the other side failed (unreachable, timeout): worth retrying later."""


@dataclass(frozen=True)
class Reply:
    status: int
    url: str
    headers: dict = field(default_factory=dict)
    content: bytes = b""

    def json(self):
        import json

        return json.loads(self.content)


# --- the address policy -------------------------------------------------------------------------

def _allowed_networks():
    return [ipaddress.ip_network(n) for n in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())]


def address_problem(address: str) -> str | None:
    """Why this IP address may not be connected to, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _allowed_networks() if net.version == ip.version):
        return None
    if not ip.is_global or ip.is_multicast or any(ip in net for net in ALWAYS_REFUSED if net.version == ip.version):
        return f"{ip} is a private, loopback, link-local or reserved address"
    return None


def url_problem(url: str, *, resolve: bool = True) -> str | None:
    """Why a URL may not be used for an outbound request, or None. For forms and the API at save
    time (a field error); `request()` checks again when it connects. A name that does not resolve
    now is not refused here (it may tomorrow); it is checked when used."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("http", "https") or not host:
        return "Use an https:// URL."
    if parts.scheme != "https" and getattr(settings, "OUTBOUND_HTTPS_ONLY", True):
        return "Use an https:// URL: plain http is not sent in production."
    if parts.username or parts.password:
        return "Leave user name and password out of the URL."
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        problem = address_problem(str(literal))
        return f"{problem}; use a public address." if problem else None
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        if problem := address_problem(info[4][0]):
            return f"{host} resolves to {problem}; use a public address."
    return None


def _resolve_checked(host: str, port: int) -> list[tuple]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundUnavailable(f"{host} could not be resolved") from exc
    for info in infos:
        if problem := address_problem(info[4][0]):
            raise OutboundRefused(f"{host} resolves to {problem}: refused")
    return infos


# --- connections that connect only to checked addresses -----------------------------------------

class _GuardedConnectionMixin:
    def _new_conn(self):
        infos = _resolve_checked(self._dns_host, self.port)
        error: Exception | None = None
        for family, socktype, proto, _name, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if isinstance(self.timeout, (int, float)):
                    sock.settimeout(self.timeout)
                sock.connect(sockaddr)  # the address checked above, not a second lookup
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise OutboundUnavailable(f"could not connect to {self.host}: {error.__class__.__name__}")


class _GuardedHTTPConnection(_GuardedConnectionMixin, u3connection.HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, u3connection.HTTPSConnection):
    pass


class _GuardedHTTPPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, *args, **kwargs):  # pragma: no cover - trust_env is off; never proxy
        raise OutboundRefused("proxies are not used for outbound requests")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    session.mount("http://", _GuardedAdapter(max_retries=0))
    session.mount("https://", _GuardedAdapter(max_retries=0))
    return session


# --- the request ------------------------------------------------------------------------------

def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _read(response: requests.Response, *, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundError(f"{_where(url)} answered with {int(declared)} bytes, over the {max_bytes}-byte limit")
    body = bytearray()
    for chunk in response.iter_content(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise OutboundError(f"{_where(url)} answered with more than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise OutboundUnavailable(f"{_where(url)} took longer than the time allowed to answer")
    return bytes(body)


def request(method: str, url: str, *, headers: dict | None = None, params: dict | None = None, json=None,
            timeout: tuple[float, float] = DEFAULT_TIMEOUT, deadline_seconds: float = DEFAULT_DEADLINE,
            max_bytes: int = DEFAULT_MAX_BYTES, max_redirects: int = 0) -> Reply:
    """One request under the policy in the module docstring. Any status is returned as a Reply
    (the caller decides what a 4xx means); OutboundRefused / OutboundUnavailable / OutboundError
    otherwise. A redirect beyond `max_redirects` is returned as its 3xx Reply."""
    deadline = time.monotonic() + deadline_seconds
    headers = dict(headers or {})
    session = _session()
    try:
        for _hop in range(max_redirects + 1):
            if problem := url_problem(url, resolve=False):
                raise OutboundRefused(f"{_where(url)}: {problem}")
            try:
                response = session.request(method, url, headers=headers, params=params, json=json, timeout=timeout,
                                            allow_redirects=False, stream=True)
            except OutboundError:
                raise
            except requests.Timeout as exc:
                raise OutboundUnavailable(f"{_where(url)} did not answer in time") from exc
            except requests.RequestException as exc:
                cause = exc
                while cause.__context__ is not None and not isinstance(cause, OutboundError):
                    cause = cause.__context__
                if isinstance(cause, OutboundError):
                    raise cause.__class__(str(cause)) from exc
                raise OutboundUnavailable(f"could not reach {_where(url)}: {exc.__class__.__name__}") from exc
            with response:
                location = response.headers.get("Location")
                if response.status_code in REDIRECT_STATUSES and location and _hop < max_redirects:
                    target = urljoin(url, location)
                    if urlsplit(target).netloc != urlsplit(url).netloc:
                        headers = {}  # credentials are for the host they were configured for
                    if response.status_code == 303:
                        method, json = "GET", None
                    url, params = target, None
                    continue
                content = _read(response, max_bytes=max_bytes, deadline=deadline, url=url)
                return Reply(status=response.status_code, url=url, headers=dict(response.headers), content=content)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        session.close()
