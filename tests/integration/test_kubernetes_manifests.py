"""The Kubernetes example (``deploy/kubernetes``): valid for the API server, in step with the code.

Every manifest is checked offline against the Kubernetes API's own schemas (kubernetes-validate
ships them as JSON Schema, strict: an unknown field is an error), at the oldest and newest
Kubernetes version it knows. The rest ties the manifests to the service: the gauge the autoscaler
follows is one ``/metrics`` really serves, the probes answer without a key, every environment
variable is a setting and the values parse, the preStop drain really waits for the replica's
call sessions, and the capacity figures in ``docs/deploy.md`` match the manifests.
"""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate  # type: ignore[import-untyped]  # untyped: no stubs, no py.typed
import pytest
import uvicorn
import yaml  # type: ignore[import-untyped]  # types-PyYAML is not installed
from kubernetes_validate.utils import all_versions  # type: ignore[import-untyped]
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.running_app import free_port, served_app
from tests.unit.web.app_harness import fake_container
from voiceauth_web.app import create_app
from voiceauth_web.containers import Container
from voiceauth_web.security import ClientAddress
from voiceauth_web.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
API_KEY = "k8s-test-key"
#: Kinds kubernetes-validate has no schema for (kustomize's file, the Prometheus Operator's CRD):
#: checked field by field below instead.
NO_SCHEMA = {"Kustomization", "PodMonitor"}
#: The HPA aims at this share of VAPI_MAX_SESSIONS (hpa.yaml, docs/deploy.md).
HPA_SHARE = 0.8


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((str(path.relative_to(K8S)), document))
    return found


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        doc
        for _, doc in _documents()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def _deployment() -> dict[str, Any]:
    return _one("Deployment", "voiceauth")


def _container() -> dict[str, Any]:
    containers = _deployment()["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "voiceauth"]
    return dict(container)


def _config() -> dict[str, str]:
    return dict(_one("ConfigMap", "voiceauth")["data"])


def _hpa_sessions_metric() -> dict[str, Any]:
    metrics = _one("HorizontalPodAutoscaler")["spec"]["metrics"]
    (pods,) = [m["pods"] for m in metrics if m["type"] == "Pods"]
    return dict(pods)


def _adapter_rules() -> list[dict[str, Any]]:
    config = _one("ConfigMap", "prometheus-adapter")["data"]["config.yaml"]
    return list(yaml.safe_load(config)["rules"])


# The schemas.

VERSIONS = (all_versions()[0], all_versions()[-1])


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    checked = []
    for name, document in _documents():
        if document["kind"] in NO_SCHEMA:
            continue
        try:  # SchemaNotFoundError, for a kind the package does not know, fails the test too
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")
        checked.append(document["kind"])
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"} <= set(checked)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation: the field at the dotted ``path`` (list indices as numbers) set to ``value``."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


BROKEN = {
    "a number as text": ("HorizontalPodAutoscaler", _set("spec.minReplicas", "two")),
    "a list for a map": (
        "Deployment",
        _set("spec.template.spec.containers.0.resources.limits", ["2"]),
    ),
    "a misspelt field": (
        "Deployment",
        _set("spec.template.spec.containers.0.readinessProbe.httpGet.pth", "/healthz"),
    ),
    "a required field missing": ("Deployment", _drop("spec.selector")),
    "a port as text": ("Service", _set("spec.ports.0.port", "eighty")),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_copy_of_a_manifest_is_refused(case: str) -> None:
    kind, mutate = BROKEN[case]
    original = _one(kind)
    broken = copy.deepcopy(original)
    mutate(broken)
    kubernetes_validate.validate(original, VERSIONS[-1], strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_kustomization_ties_every_manifest_of_the_service() -> None:
    kustomization = _one("Kustomization")
    listed = set(kustomization["resources"])
    here = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == here, "every manifest beside kustomization.yaml is one of its resources"
    assert kustomization["namespace"] == _one("Namespace")["metadata"]["name"]
    (image,) = kustomization["images"]
    pod = _deployment()["spec"]["template"]["spec"]
    assert {c["image"] for c in pod["containers"] + pod["initContainers"]} == {image["name"]}


def test_the_service_and_monitor_select_the_deployments_pods() -> None:
    deployment = _deployment()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [
        deployment["spec"]["selector"]["matchLabels"],
        _one("Service")["spec"]["selector"],
        _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        _one("PodMonitor")["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()
    port_names = {p["name"] for p in _container()["ports"]}
    assert _one("Service")["spec"]["ports"][0]["targetPort"] in port_names
    (endpoint,) = _one("PodMonitor")["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in port_names
    assert endpoint["path"] == "/metrics"
    hpa_target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (hpa_target["kind"], hpa_target["name"]) == ("Deployment", "voiceauth")


# The manifests against the service.


def test_the_autoscaled_metric_is_the_gauge_the_service_serves(tmp_path: Path) -> None:
    with served_app(tmp_path, api_keys=(API_KEY,)) as base:
        response = httpx.get(f"{base}/metrics", headers={"X-API-Key": API_KEY}, timeout=10)
    response.raise_for_status()
    gauges = {f.name for f in text_string_to_metric_families(response.text) if f.type == "gauge"}
    metric = _hpa_sessions_metric()["metric"]["name"]
    assert metric in gauges
    (rule,) = [r for r in _adapter_rules() if r["name"]["as"] == metric]
    series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"])
    assert series is not None
    assert series.group(0) == metric
    assert re.fullmatch(rule["name"]["matches"], metric)
    assert rule["resources"]["overrides"]["pod"] == {"resource": "pod"}
    assert rule["resources"]["overrides"]["namespace"] == {"resource": "namespace"}


def test_the_probes_are_routes_that_answer_without_a_key(tmp_path: Path) -> None:
    container = _container()
    probes = [container[p] for p in ("startupProbe", "livenessProbe", "readinessProbe")]
    (port,) = container["ports"]
    assert port["containerPort"] == Settings().port
    assert "PORT=8000" in (ROOT / "Containerfile").read_text()
    with served_app(tmp_path, api_keys=(API_KEY,)) as base:
        for probe in probes:
            assert probe["httpGet"]["port"] == port["name"]
            # The kubelet sends no key: the probe paths must be open even with keys set.
            response = httpx.get(base + probe["httpGet"]["path"], timeout=10)
            assert response.status_code == 200, (probe["httpGet"]["path"], response.text)


class _Recording(dict[str, str]):
    """An environment that notes every name read from it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def _setting_names() -> set[str]:
    environ = _Recording()
    Settings.from_env(environ)
    return environ.read


def test_every_environment_variable_is_a_setting_and_parses() -> None:
    names = _setting_names()
    assert {"VAPI_MAX_SESSIONS", "DATABASE_URL"} <= names  # the recording works
    pod = _deployment()["spec"]["template"]["spec"]
    used = set(_config())
    for container in pod["containers"] + pod["initContainers"]:
        for variable in container.get("env", []):
            used.add(variable["name"])
            secret = variable.get("valueFrom", {}).get("secretKeyRef")
            if secret is not None:  # the Secret's keys are the variables' names (docs/deploy.md)
                assert secret == {**secret, "name": "voiceauth", "key": variable["name"]}
    assert used - names == set(), "not settings of voiceauth_web/settings.py"
    secrets = {
        "DATABASE_URL": "postgresql://voiceauth:secret@postgres:5432/voiceauth",
        "REDIS_URL": "redis://redis:6379/0",
        "VOICEAUTH_API_KEYS": API_KEY,
    }
    settings = Settings.from_env({**_config(), **secrets, "HOST": "0.0.0.0"})  # the image's HOST
    ClientAddress(settings.trusted_proxies)  # TRUSTED_PROXIES are networks
    cpus = int(_container()["resources"]["limits"]["cpu"])
    assert settings.inference_workers * settings.inference_threads == cpus


def _capacity() -> int:
    (line,) = [ln for ln in DEPLOY_DOC.read_text().splitlines() if "<!-- capacity -->" in ln]
    found = re.search(r"\d+", line)
    assert found is not None, line
    return int(found.group(0))


def test_the_capacity_figures_agree_with_the_docs() -> None:
    capacity = _capacity()
    assert int(_config()["VAPI_MAX_SESSIONS"]) == capacity
    target = int(_hpa_sessions_metric()["target"]["averageValue"])
    assert target == math.floor(HPA_SHARE * capacity)
    hpa = _one("HorizontalPodAutoscaler")["spec"]
    section = DEPLOY_DOC.read_text().split("## How many replicas", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([\d,]+) \| (\d+) \| (\d+) \|", section, re.MULTILINE)
    assert len(rows) >= 3
    for calls_text, replicas, autoscaled in rows:
        calls = int(calls_text.replace(",", ""))
        assert int(replicas) == math.ceil(calls / capacity) + 1, calls
        assert int(autoscaled) == max(hpa["minReplicas"], math.ceil(calls / target)), calls
        assert int(autoscaled) <= hpa["maxReplicas"], calls


# The preStop drain.


@contextmanager
def _serving(container: Container) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.1)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_prestop_drain_waits_until_the_replica_holds_no_call(tmp_path: Path) -> None:
    command = list(_container()["lifecycle"]["preStop"]["exec"]["command"])
    assert command[0] == "python"  # the image's, on PATH
    container = fake_container(tmp_path, api_keys=(API_KEY,))
    sessions = container.metrics().call_sessions
    sessions.set(3)  # the gauge CallSessions keeps: three calls still held here
    with _serving(container) as port:
        env = {**os.environ, "PORT": str(port), "VOICEAUTH_API_KEYS": f"{API_KEY},other"}
        drain = subprocess.Popen([sys.executable, *command[1:]], env=env)
        try:
            time.sleep(18)  # its first 10 s, then at least one look at the sessions
            assert drain.poll() is None, "the drain ended while calls were held"
            sessions.set(0)
            # 0: it saw no session left (1: it gave up, e.g. /metrics refused its key).
            assert drain.wait(timeout=20) == 0
        finally:
            drain.kill()
            drain.wait()
