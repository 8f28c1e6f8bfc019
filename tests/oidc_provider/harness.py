"""Starting the test provider (serve.py) and walking a person through its sign-in page.

`start(tmp_path)` makes an RSA key, starts the provider as a subprocess on a free loopback port
and returns a Provider: seed people and the client application through it, read the OIDC_*
settings Closeloop needs to trust it. `sign_in(client, provider, username)` is a browser without
the browser: Closeloop's side runs in Django's test client (the real views, the real backend, which
talks to the provider over HTTP), the provider's side in a requests.Session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENT_ID = "closeloop-tests"
CLIENT_SECRET = "client-secret-for-the-tests-only"
PASSWORD = "provider password 1"


@dataclass
class Provider:
    url: str
    issuer: str
    proc: subprocess.Popen

    def seed_user(self, username: str, *, email: str, groups=(), email_verified: bool = True,
                  first_name: str = "", last_name: str = "") -> str:
        """Create or update a person at the provider; returns their `sub`."""
        answer = requests.post(f"{self.url}/seed/user/", timeout=10, json={
            "username": username, "password": PASSWORD, "email": email, "groups": list(groups),
            "email_verified": email_verified, "first_name": first_name, "last_name": last_name})
        answer.raise_for_status()
        return answer.json()["sub"]

    def register_client(self, *redirect_uris: str) -> None:
        answer = requests.post(f"{self.url}/seed/client/", timeout=10, json={
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": list(redirect_uris)})
        answer.raise_for_status()

    def settings(self, **extra) -> dict:
        """Closeloop's OIDC_* settings for this provider (what an operator puts in the environment)."""
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/.well-known/jwks.json",
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_PROVIDER_NAME": "Test IdP",
            "OIDC_ROLE_MAP": {"cx-managers": ["manager"], "cx-admins": ["admin"]},
            "OIDC_TEAM_MAP": {"team-north": ["north"], "team-south": ["south"]},
            "OIDC_DEFAULT_ROLE": "agent",
            **extra,
        }

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def start(workdir: Path) -> Provider:
    env = {**os.environ, "OIDC_PROVIDER_DB": str(workdir / "provider.sqlite3"),
           "OIDC_PROVIDER_RSA_KEY": _rsa_key_pem(), "PYTHONPATH": str(ROOT)}
    env.pop("OIDC_PROVIDER_ISSUER", None)
    log = open(workdir / "provider.log", "wb")  # noqa: SIM115 - kept open for the process's life
    proc = subprocess.Popen([sys.executable, "-m", "tests.oidc_provider.serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()  # "listening <port>" once it serves, or "" if it died
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError("the test OIDC provider did not start:\n" + (workdir / "provider.log").read_text()[-3000:])
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    return Provider(url=url, issuer=f"{url}/o", proc=proc)


@dataclass
class ProviderLeg:
    """The person's side of one sign-in: where the provider sent the browser back to."""

    callback: str  # path and query on Closeloop, e.g. /oidc/callback/?code=...&state=...
    code: str
    state: str


def authorize(provider: Provider, authorize_url: str, username: str, password: str = PASSWORD) -> ProviderLeg:
    """Follow the provider's redirects and fill in its sign-in form, as a browser would, up to the
    redirect back to Closeloop (not followed)."""
    browser = requests.Session()
    answer = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    login_url = urljoin(authorize_url, answer.headers["Location"])
    form = browser.get(login_url, timeout=10)
    assert form.status_code == 200
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    answer = browser.post(login_url, allow_redirects=False, timeout=10, data={
        "username": username, "password": password, "next": next_url,
        "csrfmiddlewaretoken": browser.cookies["idp_csrftoken"]})
    assert answer.status_code == 302, "the provider refused the sign-in: " + answer.text[:300]
    answer = browser.get(urljoin(login_url, answer.headers["Location"]), allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    back = urlsplit(answer.headers["Location"])
    query = parse_qs(back.query)
    return ProviderLeg(callback=f"{back.path}?{back.query}", code=query.get("code", [""])[0],
                       state=query.get("state", [""])[0])


def start_sign_in(client, next_url: str = "") -> str:
    """Click "Sign in with ...": Closeloop's redirect to the provider's authorize URL."""
    answer = client.get("/oidc/authenticate/", {"next": next_url} if next_url else None)
    assert answer.status_code == 302, answer.status_code
    return answer["Location"]


def sign_in(client, provider: Provider, username: str):
    """The whole round trip; returns Closeloop's answer to the callback."""
    leg = authorize(provider, start_sign_in(client), username)
    return client.get(leg.callback)
