"""`kubeward scan --cluster`: a realistic snapshot, end to end through the command line.

tests/fixtures/cluster/snapshot/ is what `kubectl get -A -o yaml` (workloads.yaml: Namespaces,
Nodes, Deployments, ReplicaSets, Pods with their status) and `kubectl get -o json`
(rbac-admission.json: a ClusterRoleBinding, a ValidatingWebhookConfiguration failing open)
print; admission-ledger.jsonl is the gate's ledger for it and indexes/ holds the OCI index of
the multi-arch worker image. What it holds, and what must be found:

- shop/web (`ghcr.io/acme/web:1.4`): two replicas on two amd64 nodes run different digests:
  the tag moved; the second digest was never admitted;
- shop/api (pinned): one replica runs another digest than the pin and the admitted one;
- shop/worker (pinned to an index): each node runs its platform manifest; drift offline
  unless the index is given (then nothing);
- payments/ledger: one replica side-loaded (imageID a config ID); the other has a
  `kubectl debug` ephemeral container whose image admission never saw;
- tools/toolbox: a bare Pod; kube-system/kube-apiserver-cp-1: a static Pod's mirror;
- a cluster-admin ClusterRoleBinding and a webhook with `failurePolicy: Ignore`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO

CLUSTER = FIXTURES / "cluster"
SNAPSHOT = CLUSTER / "snapshot"
WORKLOADS = SNAPSHOT / "workloads.yaml"
RBAC = SNAPSHOT / "rbac-admission.json"
LEDGER = CLUSTER / "admission-ledger.jsonl"
INDEXES = CLUSTER / "indexes"


def line_of(path: Path, needle: str, *, after: str | None = None) -> int:
    """The 1-based line of the first `needle` (after the first line holding `after`)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    start = 0
    if after is not None:
        start = next(i for i, text in enumerate(lines) if after in text)
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def run(*args: str | Path, cwd: Path = REPO) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", "--no-progress", "-f", "json", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def found(report: dict[str, Any], *, layer: int | None = None) -> set[tuple[str, str, int]]:
    return {
        (f["rule"], Path(f["location"]["path"]).name, f["location"]["start"]["line"])
        for f in report["findings"]
        if layer is None or f["layer"] == layer
    }


def _image_id(pod: str) -> int:
    return line_of(WORKLOADS, "imageID:", after=f"name: {pod}")


def _status_image_id(pod: str, container: str) -> int:
    """The imageID of a named status entry of the Pod (status entries follow the spec)."""
    start = line_of(WORKLOADS, f"name: {pod}")
    status = line_of(WORKLOADS, "status:", after=f"name: {pod}")
    assert status > start
    lines = WORKLOADS.read_text(encoding="utf-8").split("\n")
    entry = next(i for i in range(status, len(lines)) if f"name: {container}" in lines[i])
    # keys of one status entry are sorted: imageID comes before name
    return max(i + 1 for i in range(status, entry) if "imageID:" in lines[i])


def expected_runtime(*, with_index: bool) -> set[tuple[str, str, int]]:
    web2 = _image_id("web-7d9f8c6b5-q7r4m")
    api2 = _image_id("api-5c7d9f4b8-t6w2n")
    out = {
        ("running-tag-moved", "workloads.yaml", web2),
        ("running-digest-not-admitted", "workloads.yaml", web2),
        ("running-digest-differs-from-spec", "workloads.yaml", api2),
        ("running-digest-not-admitted", "workloads.yaml", api2),
        ("running-image-side-loaded", "workloads.yaml", _image_id("ledger-8d6c5b7f9-m4n5p")),
        (
            "ephemeral-container-running",
            "workloads.yaml",
            line_of(WORKLOADS, "image: docker.io/nicolaka/netshoot", after="ephemeralContainers:"),
        ),
        (
            "running-digest-not-admitted",
            "workloads.yaml",
            _status_image_id("ledger-8d6c5b7f9-r8s9t", "debugger-x7k2p"),
        ),
        ("pod-without-controller", "workloads.yaml", line_of(WORKLOADS, "name: toolbox")),
        ("running-digest-not-admitted", "workloads.yaml", _image_id("toolbox")),
        (
            "static-pod-running",
            "workloads.yaml",
            line_of(WORKLOADS, "kubernetes.io/config.mirror:"),
        ),
        ("running-digest-not-admitted", "workloads.yaml", _image_id("kube-apiserver-cp-1")),
    }
    if not with_index:  # the platform manifests of the worker's index: undecided offline
        for pod in ("worker-6f8b7c9d4-a1b2c", "worker-6f8b7c9d4-d3e4f"):
            out.add(("running-digest-differs-from-spec", "workloads.yaml", _image_id(pod)))
            out.add(("running-digest-not-admitted", "workloads.yaml", _image_id(pod)))
    return out


def test_snapshot_findings_by_rule_file_and_line() -> None:
    code, report, _ = run("--cluster", SNAPSHOT, "--admission-ledger", LEDGER)
    assert code == 1
    assert report["errors"] == []
    assert found(report, layer=6) == expected_runtime(with_index=False)
    # The existing rules run on the cluster's objects, with lines into the JSON dump too.
    got = found(report)
    role = line_of(RBAC, '"name": "deployer"')  # the subject granted cluster-admin
    assert ("rbac-cluster-admin-binding", "rbac-admission.json", role) in got
    assert (
        "policy-webhook-fails-open",
        "rbac-admission.json",
        line_of(RBAC, '"failurePolicy": "Ignore"'),
    ) in got
    assert (
        "image-not-pinned-by-digest",
        "workloads.yaml",
        line_of(WORKLOADS, "image: ghcr.io/acme/web:1.4"),
    ) in got


def test_uncertain_multiarch_findings_say_so_and_are_medium() -> None:
    _, report, _ = run("--cluster", SNAPSHOT, "--admission-ledger", LEDGER)
    worker = _image_id("worker-6f8b7c9d4-a1b2c")
    hits = [f for f in report["findings"] if f["location"]["start"]["line"] == worker]
    assert {f["rule"] for f in hits} == {
        "running-digest-differs-from-spec",
        "running-digest-not-admitted",
    }
    for f in hits:
        assert f["severity"] == "medium"
        assert "cannot tell offline" in f["message"]
        assert "--image-index" in f["message"]
    moved = next(f for f in report["findings"] if f["rule"] == "running-tag-moved")
    assert moved["severity"] == "high"  # both replicas on amd64 nodes: certain
    assert moved["related"][0]["location"]["start"]["line"] == _image_id("web-7d9f8c6b5-x2k9p")


def test_index_settles_platform_digests() -> None:
    _, report, _ = run(
        "--cluster", SNAPSHOT, "--admission-ledger", LEDGER, "--image-index", INDEXES
    )
    assert report["errors"] == []
    assert found(report, layer=6) == expected_runtime(with_index=True)
    (posture,) = [s for s in report["sections"] if s["id"] == "cluster-posture"]
    rows = {r["namespace"]: r for r in posture["rows"]}
    assert rows["shop"] == {
        "namespace": "shop",
        "running": 6,
        "pinned": 4,
        "signed": "-",  # no --verify-images
        "admitted": 4,  # web x2k9p, api h3j8k, both workers (the admitted index)
        "drifting": 3,  # both web replicas (the tag moved) and api t6w2n
        "side-loaded": 0,
    }
    assert rows["payments"]["side-loaded"] == 1
    assert rows["payments"]["running"] == 3  # two ledger containers and the debug container


def test_without_ledger_no_admission_findings_and_posture_says_unchecked() -> None:
    _, report, _ = run("--cluster", SNAPSHOT)
    rules = {r for r, _, _ in found(report, layer=6)}
    assert "running-digest-not-admitted" not in rules
    assert "running-tag-moved" in rules
    (posture,) = [s for s in report["sections"] if s["id"] == "cluster-posture"]
    assert {r["admitted"] for r in posture["rows"]} == {"-"}


def test_repository_and_cluster_in_one_report(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "        - {name: web, image: ghcr.io/acme/web:1.4}\n"
    )
    _, report, _ = run(repo, "--cluster", SNAPSHOT)
    assert report["roots"] == [str(repo), str(SNAPSHOT)]
    paths = {Path(f["location"]["path"]).name for f in report["findings"]}
    assert {"web.yaml", "workloads.yaml", "rbac-admission.json"} <= paths
    # The repository's Deployment is not a running Pod: no runtime finding points into it.
    assert not [
        f
        for f in report["findings"]
        if f["layer"] == 6 and f["location"]["path"].endswith("web.yaml")
    ]


def test_a_dump_inside_the_scanned_path_is_read_once_as_a_dump() -> None:
    _, report, _ = run(".", "--cluster", "snapshot", "--cluster", SNAPSHOT, cwd=CLUSTER)
    assert report["summary"]["files_scanned"] == len(list(SNAPSHOT.iterdir())) + len(
        list(INDEXES.iterdir())
    )
    runtime = [(f["rule"], f["location"]["start"]["line"]) for f in report["findings"]]
    assert len(runtime) == len(set(runtime))  # nothing twice
    assert {(r, n) for r, n, _ in found(report, layer=6)} == {
        (r, n)
        for r, n, _ in expected_runtime(with_index=False)
        if r != "running-digest-not-admitted"
    }


def test_bad_dumps_and_ledger_lines_are_error_entries(tmp_path: Path) -> None:
    snap = tmp_path / "dumps"
    shutil.copytree(SNAPSHOT, snap)
    (snap / "broken.yaml").write_text("apiVersion: v1\nkind: List\nitems: [\n")
    (snap / "binary.json").write_bytes(b"\x00\x01\x02")
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(LEDGER.read_text() + 'not json\n{"image": 3}\n')
    _, report, _ = run("--cluster", snap, "--admission-ledger", ledger)
    errors = {(Path(e["path"]).name, e["reason"].split(":")[0]) for e in report["errors"]}
    assert ("broken.yaml", "malformed YAML") in errors
    assert ("binary.json", "binary file (NUL bytes)") in errors
    bad_ledger = [e for e in report["errors"] if e["path"].endswith("ledger.jsonl")]
    assert len(bad_ledger) == 1 and "2 line(s)" in bad_ledger[0]["reason"]
    assert bad_ledger[0]["line"] == len(LEDGER.read_text().splitlines()) + 1
    # ...and the scan went on: the same runtime findings as from the good dumps.
    assert {(r, n) for r, n, _ in found(report, layer=6)} == {
        (r, n) for r, n, _ in expected_runtime(with_index=False)
    }


def test_one_dump_file_of_any_name(tmp_path: Path) -> None:
    dump = tmp_path / "cluster.out"
    dump.write_text(WORKLOADS.read_text())
    _, report, _ = run("--cluster", dump)
    assert (
        "running-image-side-loaded",
        "cluster.out",
        _image_id("ledger-8d6c5b7f9-m4n5p"),
    ) in found(report)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a PATH to scan, --cluster FILE|DIR, or --kubeconfig"),
        (("--cluster", "no-such-dump"), "no-such-dump: no such file or directory"),
        (
            (".", "--admission-ledger", str(LEDGER)),
            "--admission-ledger only applies with --cluster or --kubeconfig",
        ),
    ],
)
def test_usage_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", "--no-progress", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"kubeward: error: {message}"


HOSTILE = """\
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: a, ownerReferences: oops}, spec: 3, status: x}
  - apiVersion: v1
    kind: Pod
    metadata: {name: b, namespace: [x], annotations: {kubernetes.io/config.mirror: {a: 1}}}
    spec: {nodeName: {n: 1}, containers: [{name: [1], image: {x: 1}}, 7], ephemeralContainers: 5}
    status:
      containerStatuses: [{name: c, imageID: {a: b}}, 3, {imageID: "docker://"}, {imageID: 12}]
      initContainerStatuses: {a: 1}
      ephemeralContainerStatuses: [{image: [1]}, {name: e, image: "{{ .x }}", imageID: "sha256:zz"}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: c, ownerReferences: [1, {controller: "yes"}, {controller: [true]}]}
    spec: {containers: [{name: app, image: "ghcr.io/a/b:1@sha256:{{ .d }}"}]}
    status:
      containerStatuses:
        - {name: app, imageID: "docker-pullable://ghcr.io/a/b@sha256:{{ x }}"}
        - {name: app, imageID: "ghcr.io/a/b@sha256:ZEROS"}
  - {apiVersion: v1, kind: Node, metadata: {name: n}, status: {nodeInfo: {architecture: [1]}}}
  - {apiVersion: v1, kind: Node, metadata: {name: [n]}, status: {nodeInfo: 3}}
"""


def test_hostile_snapshot_objects_are_no_internal_error(tmp_path: Path) -> None:
    (tmp_path / "hostile.yaml").write_text(HOSTILE.replace("ZEROS", "0" * 64))
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text('{"image": "ghcr.io/a/b:1", "verdict": "allow", "digest": "sha256:bad"}\n')
    _, report, _ = run(
        "--cluster",
        tmp_path / "hostile.yaml",
        "--admission-ledger",
        ledger,
        "--image-index",
        ledger,
    )
    assert not [e for e in report["errors"] if "internal error" in e["reason"]], report["errors"]
    # The rules still judged what they could read.
    assert sorted((f["rule"], f["location"]["start"]["line"]) for f in report["findings"]) == [
        ("ephemeral-container-running", 12),  # the templated image, as written
        ("image-unresolved", 16),
        ("pod-without-controller", 4),
        ("running-digest-not-admitted", 20),  # the one well-formed running digest
        ("static-pod-running", 7),
    ]
    assert "None" not in json.dumps(report["findings"])
    reasons = sorted(e["reason"].split(";")[0] for e in report["errors"])
    assert reasons == [
        "admission ledger: 1 line(s) are not gate ledger records (JSON objects with string "
        "'image' and 'verdict')",
        "not an OCI image index or Docker manifest list",
    ]


def test_verify_results_judge_running_digests_offline() -> None:
    root = FIXTURES / "rules" / "running-image-unverified"
    pods = root / "cluster" / "pods.yaml"
    results = root / "verify-results.json"
    indexes = root / "cluster" / "indexes"
    _, report, _ = run(
        "--cluster", root / "cluster", "--verify-results", results, "--image-index", indexes
    )
    unverified = [f for f in report["findings"] if f["rule"] == "running-image-unverified"]
    assert [
        (Path(f["location"]["path"]).name, f["location"]["start"]["line"]) for f in unverified
    ] == [("pods.yaml", line_of(pods, "imageID:", after="name: unsigned"))]
    assert "no signature found" in unverified[0]["message"]
    assert "verify-results.json" in unverified[0]["message"]
    (posture,) = [s for s in report["sections"] if s["id"] == "cluster-posture"]
    assert posture["rows"][0]["signed"] == 2  # `signed`, and `platform` through its index
