"""The cluster view over the real-world corpora (../shared/corpora).

1. Every corpus folder, read as a cluster snapshot (`--cluster`): every .yaml/.json file is a
   dump, Helm templates and CI files included, so most are not Kubernetes objects and some do
   not parse. No internal error, whatever the input.
2. Snapshots built from the corpora's own workloads (kubernetes/examples and argo-cd's
   install manifests): each Deployment, StatefulSet and DaemonSet becomes running Pods with
   realistic `status` blocks in one of five shapes (plain; side-loaded; with a `kubectl debug`
   container; a second replica on another digest; a pinned image running a platform manifest
   of a multi-arch index given with --image-index). The runtime findings must be exactly the
   ones the shapes call for, at the lines of the dump.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.cluster import ClusterInput
from kubeward.engine import ScanOptions, scan
from kubeward.model.image import parse_image
from kubeward.registry import Layer, load_rules
from tests.conftest import require_shared

RUNTIME_RULES = sorted(
    r.id
    for r in load_rules().values()
    if r.layer is Layer.RUNTIME and r.target.__module__ == "kubeward.model.runtime"
)
_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_WORKLOADS = 150  # per corpus: enough of every shape, a bounded dump


def test_every_corpus_as_a_snapshot_without_internal_error() -> None:
    corpora = require_shared("corpora")
    folders = sorted(p for p in corpora.iterdir() if p.is_dir())
    report = scan(
        [],
        ScanOptions(only_rules=RUNTIME_RULES, jobs=1, cluster=ClusterInput(snapshots=folders)),
    )
    internal = [e for e in report.errors if "internal error" in e.reason]
    assert not internal, internal[:5]
    assert report.files_scanned > 5000  # the folders were read, not skipped


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _workloads(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(root.rglob("*.yaml")):
        try:
            docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
            continue
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") not in _WORKLOADS:
                continue
            spec = ((doc.get("spec") or {}).get("template") or {}).get("spec")
            if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
                continue
            images = [
                c.get("image") for c in spec["containers"] + (spec.get("initContainers") or [])
            ]
            if all(isinstance(i, str) and parse_image(i).is_resolved for i in images):
                yield f"{path.relative_to(root)}#{doc['metadata'].get('name')}", spec


def _status(c: dict[str, Any], image_id: str) -> dict[str, Any]:
    return {
        "name": c["name"],
        "image": c["image"],
        "imageID": image_id,
        "containerID": "containerd://" + _digest(image_id)[7:],
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": "2026-12-01T10:00:00Z"}},
    }


def _pod(ns: str, name: str, spec: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    spec = {**spec, "nodeName": "node-a"}
    init = spec.get("initContainers") or []
    status: dict[str, Any] = {
        "phase": "Running",
        "qosClass": "BestEffort",
        "containerStatuses": [_status(c, ids[c["name"]]) for c in spec["containers"]],
    }
    if init:
        status["initContainerStatuses"] = [_status(c, ids[c["name"]]) for c in init]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": name.rsplit("-", 1)[0],
                    "uid": "0d3f6a1e-0000-4000-8000-000000000001",
                    "controller": True,
                }
            ],
        },
        "spec": spec,
        "status": status,
    }


def _running(image: str, *parts: str) -> str:
    """A repo digest in the image's repository."""
    return f"{parse_image(image).name}@{_digest(image, *parts)}"


def _build(tmp: Path, workloads: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """Write the snapshot and the index files; return the expected (rule, unique needle)."""
    pods: list[dict[str, Any]] = []
    expected: list[tuple[str, str]] = []
    indexes = tmp / "indexes"
    indexes.mkdir()
    for i, (where, spec) in enumerate(workloads):
        ns, shape = f"corpus-{i}", i % 5
        containers = spec["containers"] + (spec.get("initContainers") or [])
        name = f"w{i}-5d8f9c7b6"
        plain = {}
        for c in containers:
            ref = parse_image(c["image"])
            plain[c["name"]] = (
                f"{ref.name}@{ref.digest}" if ref.digest else _running(c["image"], "plain")
            )
        if shape == 1:  # side-loaded: config IDs, no repo digest
            ids = {c["name"]: _digest(where, c["name"], "config") for c in containers}
            pods.append(_pod(ns, f"{name}-a", spec, ids))
            expected += [("running-image-side-loaded", f"imageID: {v}") for v in ids.values()]
        elif shape == 2:  # kubectl debug
            dbg = {"name": f"debugger-{i}", "image": f"docker.io/library/busybox:1.{i}"}
            pods.append(_pod(ns, f"{name}-a", {**spec, "ephemeralContainers": [dbg]}, plain))
            expected.append(("ephemeral-container-running", f"image: {dbg['image']}"))
        elif shape == 3:  # a second replica on another digest
            pods.append(_pod(ns, f"{name}-a", spec, plain))
            moved = {c["name"]: _running(c["image"], where, "moved") for c in containers}
            pods.append(_pod(ns, f"{name}-b", spec, moved))
            seen: set[str] = set()
            for c in containers:
                ref = parse_image(c["image"])
                if ref.digest:
                    expected.append(("running-digest-differs-from-spec", moved[c["name"]]))
                elif ref.text not in seen:  # one finding per (namespace, image as written)
                    seen.add(ref.text)
                    expected.append(("running-tag-moved", moved[c["name"]]))
        elif shape == 4:  # pinned images run a platform manifest of their (given) index
            ids = dict(plain)
            for c in containers:
                ref = parse_image(c["image"])
                if ref.digest is None:
                    continue
                platform = _digest(where, c["name"], "arm64")
                index = {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [
                        {
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": platform,
                            "size": 1000,
                            "platform": {"architecture": "arm64", "os": "linux"},
                        }
                    ],
                }
                raw = json.dumps(index).encode()
                digest = "sha256:" + hashlib.sha256(raw).hexdigest()
                (indexes / f"{digest[7:]}.json").write_bytes(raw)
                c_spec = [dict(x) for x in spec["containers"]]
                for x in c_spec:
                    if x["name"] == c["name"]:
                        x["image"] = f"{ref.name}@{digest}"
                spec = {**spec, "containers": c_spec}
                ids[c["name"]] = f"{ref.name}@{platform}"
            pods.append(_pod(ns, f"{name}-a", spec, ids))
        else:
            pods.append(_pod(ns, f"{name}-a", spec, plain))
    snap = tmp / "snapshot"
    snap.mkdir()
    doc = {"apiVersion": "v1", "kind": "List", "items": pods, "metadata": {"resourceVersion": ""}}
    (snap / "pods.yaml").write_text(yaml.safe_dump(doc, sort_keys=True, width=1000))
    return expected


@pytest.mark.parametrize("corpus", ["kubernetes-examples", "argo-cd"])
def test_snapshot_built_from_corpus_workloads(corpus: str, tmp_path: Path) -> None:
    workloads = list(_workloads(require_shared("corpora", corpus)))[:MAX_WORKLOADS]
    assert len(workloads) >= 10
    expected = _build(tmp_path, workloads)
    report = scan(
        [],
        ScanOptions(
            only_rules=RUNTIME_RULES,
            jobs=1,
            cluster=ClusterInput(
                snapshots=(tmp_path / "snapshot",), indexes=(tmp_path / "indexes",)
            ),
        ),
    )
    assert report.errors == []
    lines = (tmp_path / "snapshot" / "pods.yaml").read_text().split("\n")

    def line(needle: str) -> int:
        return next(i for i, text in enumerate(lines, start=1) if needle in text)

    want = {(rule, line(needle)) for rule, needle in expected}
    got = {(r.rule.id, r.span.start.line) for r in report.results}
    assert got == want
    assert {r for r, _ in want} >= {"running-image-side-loaded", "ephemeral-container-running"}
