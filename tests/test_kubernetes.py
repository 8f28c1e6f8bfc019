"""deploy/kubernetes/ (docs/deployment.md "Kubernetes"): every manifest valid against the
Kubernetes schemas (kubernetes-validate, strict: an unknown or misspelt field fails), and the
shape the docs promise: a worker Deployment per queue of the settings, one beat, probes on
/healthz and /readyz, a disruption budget and an autoscaler for what scales."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from config.urls import urlpatterns

DIR = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests are written for (autoscaling/v2, policy/v1, batch/v1 with
# ttlSecondsAfterFinished) and the newest kubernetes-validate knows.
VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]


def _documents() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in sorted(DIR.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def _by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _name, doc in _documents() if doc["kind"] == kind}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version):
    documents = _documents()
    assert len(documents) >= 20
    for name, doc in documents:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {error.message} at {list(error.path)}")


def test_a_misspelt_field_is_caught():
    """The check can fail: strict validation refuses a field Kubernetes does not know."""
    deployment = yaml.safe_load((DIR / "beat.yaml").read_text())
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example():
    kustomization = yaml.safe_load((DIR / "kustomization.yaml").read_text())
    files = {path.name for path in DIR.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == files


def _command(deployment: dict) -> list[str]:
    return deployment["spec"]["template"]["spec"]["containers"][0]["command"]


def test_a_worker_deployment_per_queue_and_exactly_one_beat():
    deployments = _by_kind("Deployment")
    queues = {}
    for name, deployment in deployments.items():
        command = _command(deployment)
        if command[:4] == ["celery", "-A", "config", "worker"]:
            queues[name] = command[command.index("-Q") + 1]
    assert queues == {
        "closeloop-worker-ingest": "ingest", "closeloop-worker-cases": "cases,celery",
        "closeloop-worker-notifications": "notifications", "closeloop-worker-text": "text",
        "closeloop-worker-reports": "reports",
    }
    consumed = {q for value in queues.values() for q in value.split(",")}
    assert consumed == {queue.name for queue in settings.CELERY_TASK_QUEUES}  # no queue without a worker
    beats = [d for d in deployments.values() if _command(d)[:4] == ["celery", "-A", "config", "beat"]]
    assert len(beats) == 1 and beats[0]["spec"]["replicas"] == 1
    assert settings.CELERY_BEAT_SCHEDULER == "core.beat:SingleBeatScheduler"  # a second one would stand by
    assert _by_kind("Job")["closeloop-migrate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1] == (
        "python manage.py migrate --noinput && python manage.py check --deploy --fail-level WARNING")


def test_web_and_ingest_are_probed_on_healthz_and_readyz_which_exist():
    routes = {str(pattern.pattern) for pattern in urlpatterns}
    assert {"healthz", "readyz"} <= routes
    probes = {}
    for name in ("closeloop-web", "closeloop-ingest"):
        container = _by_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        probes[name] = {kind: container[kind]["httpGet"]["path"]
                        for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[kind]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "localhost"}]
    assert probes == {
        "closeloop-web": {"startupProbe": "/healthz", "readinessProbe": "/healthz", "livenessProbe": "/healthz"},
        "closeloop-ingest": {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"},
    }
    assert "localhost" in _by_kind("ConfigMap")["closeloop-config"]["data"]["ALLOWED_HOSTS"].split(",")


def test_what_scales_has_an_autoscaler_and_a_disruption_budget():
    autoscalers = _by_kind("HorizontalPodAutoscaler")
    budgets = _by_kind("PodDisruptionBudget")
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers.values()}
    assert scaled == {"closeloop-web", "closeloop-ingest", *(f"closeloop-worker-{q}" for q in settings.CLOSELOOP_QUEUES)}
    assert {"closeloop-web", "closeloop-ingest", "closeloop-worker-ingest"} <= set(budgets)
    for queue in settings.CLOSELOOP_QUEUES:  # each worker pool on its own queue's depth
        external = [m["external"]["metric"] for m in autoscalers[f"closeloop-worker-{queue}"]["spec"]["metrics"]
                    if m["type"] == "External"]
        assert external == [{"name": "closeloop_celery_queue_depth", "selector": {"matchLabels": {"queue": queue}}}]
