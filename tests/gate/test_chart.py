"""The Helm chart: `kubeward scan` finds nothing at medium or above, its objects have the
shape the issue asks for, and the gate configured by the chart's own ConfigMap, Secret and
webhook configurations is driven the way the kube-apiserver drives it (no apiserver can run
here): the webhook's `namespaceSelector` and `rules` decide whether a request is sent, to
the Service's DNS name (SNI) trusting only `caBundle`, with `timeoutSeconds`; the mutating
patch is applied, then the validating webhook is called. The chart is rendered by the real
Helm engine (helm-python-sdk) through kubeward's render sandbox (tests/gate/_helm.py)."""

from __future__ import annotations

import base64
import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml

from kubeward.cli import main
from kubeward.render.sandbox import RenderFailed
from tests.conftest import REPO
from tests.gate._harness import ApiServer, GateProcess, free_port, start_gate
from tests.gate._helm import Renderer
from tests.gate._world import STOPPED, World, admission, env_for, pod

CHART = REPO / "charts" / "kubeward-gate"
NAMESPACES = {
    "team": {"kubeward.dev/gate": "enabled"},
    "plain": {},
    "kube-system": {"kubeward.dev/gate": "enabled"},
    "kubeward-gate": {"kubeward.dev/gate": "enabled"},
}
RESOURCES = {
    "Pod": ("", "pods"),
    "Deployment": ("apps", "deployments"),
    "CronJob": ("batch", "cronjobs"),
}


def _values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    values["image"]["digest"] = "sha256:" + "a" * 64
    for key, value in overrides.items():
        values[key] = value
    return values


def _render(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    docs = Renderer(CHART, values, name="kubeward-gate", namespace="kubeward-gate").render_chart()
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_scan_of_the_chart_is_clean_at_medium_and_above(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_of = tmp_path / "kubeward-gate"  # outside this repository: its git history aside
    shutil.copytree(CHART, copy_of)
    report = tmp_path / "report.json"
    assert main(["scan", str(copy_of), "--fail-on", "medium", "-f", f"json={report}"]) == 0
    doc = json.loads(report.read_text())
    assert [f["rule"] for f in doc["findings"] if f["severity"] not in ("low", "info")] == []
    # One suppression, explained where it is: the template requires image.digest.
    assert [(s["rule"], s["location"]["path"].rsplit("/", 1)[-1]) for s in doc["suppressed"]] == [
        ("image-not-pinned-by-digest", "values.yaml")
    ]
    capsys.readouterr()


VARIANTS = {
    "defaults": {},
    "cert-manager, HPA, Redis": {
        "certManager": {"enabled": True, "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}},
        "hpa": {
            "enabled": True,
            "minReplicas": 3,
            "maxReplicas": 6,
            "targetCPUUtilizationPercentage": 70,
        },
        "cache": {"allowTTLSeconds": 300, "denyTTLSeconds": 30, "redis": "redis://redis:6379/0"},
        "ledger": {"redis": "redis://redis:6379/0", "stream": "kubeward:ledger"},
        "registry": {"timeoutSeconds": 3, "credentialsSecret": "pull", "ca": ""},
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scan_of_the_rendered_chart_is_clean_at_medium_and_above(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], variant: str
) -> None:
    """As `helm template` output is scanned: the rendered text, comments kept."""
    renderer = Renderer(
        CHART, _values(**VARIANTS[variant]), name="kubeward-gate", namespace="kubeward-gate"
    )
    tree = tmp_path / "rendered"
    tree.mkdir()
    (tree / "manifests.yaml").write_text(
        "\n---\n".join(text for _, text in sorted(renderer.render_templates().items()))
    )
    (tree / "policy.yaml").write_text((CHART / "policies" / "default.yaml").read_text())
    report = tmp_path / "report.json"
    assert main(["scan", str(tree), "--fail-on", "medium", "-f", f"json={report}"]) == 0
    doc = json.loads(report.read_text())
    assert [f["rule"] for f in doc["findings"] if f["severity"] not in ("low", "info")] == []
    # Both webhooks exempt kube-system and the gate's own namespace, on purpose (said there).
    assert [s["rule"] for s in doc["suppressed"]] == ["policy-webhook-fails-open"] * 2
    capsys.readouterr()


def test_chart_objects() -> None:
    objects = _render(_values())
    deployment = objects["Deployment/kubeward-gate"]["spec"]
    assert deployment["replicas"] == 3
    pod_spec = deployment["template"]["spec"]
    anti = pod_spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    (container,) = pod_spec["containers"]
    assert container["image"] == "ghcr.io/kubeward/kubeward:0.1.0@sha256:" + "a" * 64
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["automountServiceAccountToken"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert objects["PodDisruptionBudget/kubeward-gate"]["spec"]["minAvailable"] == 2
    assert "NetworkPolicy/kubeward-gate" in objects
    assert not any(k.startswith(("Role", "ClusterRole")) for k in objects)  # no API access
    assert "HorizontalPodAutoscaler/kubeward-gate" not in objects
    with_hpa = _render(_values(hpa={**_values()["hpa"], "enabled": True}))
    assert with_hpa["HorizontalPodAutoscaler/kubeward-gate"]["spec"]["minReplicas"] == 3
    ca = base64.b64decode(
        objects["ValidatingWebhookConfiguration/kubeward-gate"]["webhooks"][0]["clientConfig"][
            "caBundle"
        ]
    )
    assert ca.startswith(b"-----BEGIN CERTIFICATE-----")  # generated at install by default
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        (hook,) = objects[f"{kind}/kubeward-gate"]["webhooks"]
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert base64.b64decode(hook["clientConfig"]["caBundle"]) == ca
        expressions = hook["namespaceSelector"]["matchExpressions"]
        assert {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["kube-system", "kubeward-gate"],
        } in expressions
    with pytest.raises(RenderFailed, match=r"image\.digest is required"):
        _render(_values(image={"repository": "ghcr.io/kubeward/kubeward", "digest": ""}))
    managed = _render(_values(certManager={"enabled": True, "issuerRef": {"name": "ca"}}))
    assert managed["Certificate/kubeward-gate"]["spec"]["secretName"] == "kubeward-gate-tls"
    annotations = managed["ValidatingWebhookConfiguration/kubeward-gate"]["metadata"]["annotations"]
    assert annotations == {"cert-manager.io/inject-ca-from": "kubeward-gate/kubeward-gate"}


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics (matchLabels and matchExpressions, ANDed)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _rule_matches(rules: list[dict[str, Any]], group: str, resource: str, op: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and op in r["operations"]
        for r in rules
    )


class Apiserver:
    """Calls the chart's webhooks as the kube-apiserver would for an object's admission."""

    def __init__(self, objects: dict[str, dict[str, Any]], port: int) -> None:
        self.hooks = {
            kind: objects[f"{kind}WebhookConfiguration/kubeward-gate"]["webhooks"][0]
            for kind in ("Mutating", "Validating")
        }
        self.clients = {}
        for kind, hook in self.hooks.items():
            service = hook["clientConfig"]["service"]
            self.clients[kind] = ApiServer(
                port,
                ca_data=base64.b64decode(hook["clientConfig"]["caBundle"]).decode(),
                timeout=hook["timeoutSeconds"],
                server_name=f"{service['name']}.{service['namespace']}.svc",
            )
        self.calls = 0

    def admit(self, obj: dict[str, Any], namespace: str) -> tuple[bool, str, dict[str, Any]]:
        """(allowed, message, the object as stored)."""
        labels = {**NAMESPACES[namespace], "kubernetes.io/metadata.name": namespace}
        group, resource = RESOURCES[obj["kind"]]
        for kind in ("Mutating", "Validating"):
            hook = self.hooks[kind]
            if not _selected(hook["namespaceSelector"], labels) or not _rule_matches(
                hook["rules"], group, resource, "CREATE"
            ):
                continue
            self.calls += 1
            review = admission(obj, namespace=namespace)
            response = self.clients[kind].post(hook["clientConfig"]["service"]["path"], review)
            answer = response["response"]
            assert answer["uid"] == review["request"]["uid"]
            if not answer["allowed"]:
                return False, answer["status"]["message"], obj
            if "patch" in answer:
                patch = json.loads(base64.b64decode(answer["patch"]))
                obj = jsonpatch.JsonPatch(patch).apply(copy.deepcopy(obj))
        return True, "", obj

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="module")
def chart_gate(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, dict[str, Any]], GateProcess]]:
    """The gate run from the rendered ConfigMap and Secret, paths moved to a temp dir."""
    values = _values(
        policies=(world.directory / "policies.yaml").read_text(),
        trustedRoot=(world.directory / "root.json").read_text(),
        timeoutSeconds=4,
        deadlineMarginSeconds=1,
        registry={
            "timeoutSeconds": 2,
            "ca": world.registry.ca_file.read_text(),
            "credentialsSecret": "",
        },
    )
    objects = _render(values)
    directory = tmp_path_factory.mktemp("chart")
    config_map = objects["ConfigMap/kubeward-gate-config"]["data"]
    for name, text in config_map.items():
        (directory / name).write_text(text)
    secret = objects["Secret/kubeward-gate-tls"]["data"]
    for name in ("tls.crt", "tls.key"):
        (directory / name).write_bytes(base64.b64decode(secret[name]))
    port = free_port()
    text = config_map["gate.yaml"].replace("/etc/kubeward/config", str(directory))
    text = text.replace("/etc/kubeward/tls", str(directory))
    text = text.replace("/var/lib/kubeward", str(directory))
    text = text.replace("{host: 0.0.0.0, port: 8443}", f"{{host: 127.0.0.1, port: {port}}}")
    assert str(directory) in text and str(port) in text
    (directory / "gate.yaml").write_text(text)
    ca_file = directory / "ca.pem"
    hook = objects["ValidatingWebhookConfiguration/kubeward-gate"]["webhooks"][0]
    ca_file.write_bytes(base64.b64decode(hook["clientConfig"]["caBundle"]))
    # The generated certificate names the Service, not 127.0.0.1: readiness is polled with
    # SNI set to the Service name.
    gate = start_gate(
        directory / "gate.yaml",
        ca_file=ca_file,
        env=env_for(world),
        port=port,
        server_name="kubeward-gate.kubeward-gate.svc",
    )
    yield objects, gate
    assert gate.stop() in STOPPED


def test_the_apiserver_side(
    world: World, chart_gate: tuple[dict[str, dict[str, Any]], GateProcess]
) -> None:
    objects, gate = chart_gate
    apiserver = Apiserver(objects, gate.port)
    try:
        signed, unsigned = world.image("app/signed:1.0"), world.image("app/unsigned:1.0")
        allowed, _, stored = apiserver.admit(pod(signed), "team")
        assert allowed and apiserver.calls == 2  # mutating, then validating
        assert stored["spec"]["containers"][0]["image"] == f"{signed}@{world.digests['app/signed']}"
        cronjob = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "@daily",
                "jobTemplate": {
                    "spec": {"template": {"spec": pod(unsigned, init=(signed,))["spec"]}}
                },
            },
        }
        allowed, message, _ = apiserver.admit(cronjob, "team")
        assert not allowed
        assert (
            f"CronJob/nightly: container c0 image {unsigned}@{world.digests['app/unsigned']}"
            in message
        )  # the mutating webhook pinned it first
        # The chart leaves break-glass off: the annotation is not honoured.
        glass = apiserver.clients["Validating"].post(
            "/imagereview",
            {
                "apiVersion": "imagepolicy.k8s.io/v1alpha1",
                "kind": "ImageReview",
                "spec": {
                    "containers": [{"image": unsigned}],
                    "namespace": "team",
                    "annotations": {"acme.image-policy.k8s.io/break-glass": "true"},
                },
            },
        )
        assert glass["status"]["allowed"] is False
        calls = apiserver.calls
        for namespace in ("plain", "kube-system", "kubeward-gate"):  # never sent to the gate
            allowed, _, stored = apiserver.admit(pod(unsigned), namespace)
            assert allowed and stored["spec"]["containers"][0]["image"] == unsigned
        assert apiserver.calls == calls
    finally:
        apiserver.close()
