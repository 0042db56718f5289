"""`kubeward fix` (issue 19) against a real registry on 127.0.0.1: the diff, --write, a second
run that changes nothing, and every byte outside the pinned spans as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.verify.registry import ImageRef, sha256_digest
from tests.conftest import REPO
from tests.verify._registry_fixture import Registry, start_registry
from tests.verify.test_registry_verify import DOCKER_MANIFEST, OCI_INDEX, push_config_image, pusher

SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"
LOCK = f"""# owner/repo@ref -> commit
actions/checkout@v4: {{sha: {SHA}, version: v4.2.2}}
"docker/login-action@v3": 9780b0c442fbb1117ed29e0efdff1e18412f7567
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from start_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def images(registry: Registry) -> dict[str, str]:
    """Pushed: a single-manifest image and a two-platform index; their digests."""
    client = pusher(registry)
    host = registry.host
    web = push_config_image(client, ImageRef(host, "acme/web", "1.0"), b'{"os":"linux"}')
    multi = ImageRef(host, "acme/multi", "2.0")
    plats: dict[str, str] = {}
    entries = []
    for arch in ("amd64", "arm64"):
        config = json.dumps({"architecture": arch, "os": "linux"}).encode()
        digest = push_config_image(client, ImageRef(host, "acme/multi", arch), config)
        plats[arch] = digest
        entries.append(
            {
                "mediaType": DOCKER_MANIFEST,
                "digest": digest,
                "size": 1,
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    index_digest = client.put_manifest(multi, "2.0", index, OCI_INDEX)
    assert index_digest == sha256_digest(index)
    return {"web": web, "multi": index_digest, **plats}


def _tree(root: Path, host: str) -> dict[str, bytes]:
    files = {
        # CRLF line endings, a BOM, comments, flow style and quotes: all must stay.
        "deploy/app.yaml": (
            "\ufeff# the shop\r\napiVersion: apps/v1\r\nkind: Deployment\r\n"
            "metadata: {name: shop}  # keep me\r\nspec:\r\n  template:\r\n    spec:\r\n"
            "      containers:\r\n"
            f'        - name: web\r\n          image: "{host}/acme/web:1.0"   # pinned soon\r\n'
            f"        - {{name: multi, image: '{host}/acme/multi:2.0'}}\r\n"
        ).encode(),
        "Dockerfile": f"# syntax=docker/dockerfile:1\nFROM {host}/acme/web:1.0 AS base\n".encode(),
        ".github/workflows/ci.yml": (
            b"on: push\npermissions: {contents: read}\njobs:\n  b:\n    runs-on: ubuntu-24.04\n"
            b"    steps:\n      - uses: actions/checkout@v4\n"
            b'      - uses: "docker/login-action@v3"   # log in\n'
            b"        with: {registry: ghcr.io}\n"
        ),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root.parent / "actions.lock.yaml").write_text(LOCK)
    return files


def _fix(registry: Registry, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "DOCKER_CONFIG": str(registry.docker_config),
    }
    cmd = [sys.executable, "-m", "kubeward", "fix", ".", "--registry-ca", str(registry.ca_file)]
    cmd += ["--actions-lock", str(root.parent / "actions.lock.yaml"), *args]
    return subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def _expected(
    files: dict[str, bytes], host: str, d: dict[str, str], multi: str
) -> dict[str, bytes]:
    web = f"{host}/acme/web:1.0".encode()
    mul = f"{host}/acme/multi:2.0".encode()
    pinned_web = web + b"@" + d["web"].encode()
    return {
        "deploy/app.yaml": files["deploy/app.yaml"]
        .replace(b'"' + web + b'"', b'"' + pinned_web + b'"')
        .replace(b"'" + mul + b"'", b"'" + mul + b"@" + multi.encode() + b"'"),
        "Dockerfile": files["Dockerfile"].replace(b"FROM " + web, b"FROM " + pinned_web),
        ".github/workflows/ci.yml": files[".github/workflows/ci.yml"]
        .replace(b"actions/checkout@v4\n", f"actions/checkout@{SHA} # v4.2.2\n".encode())
        .replace(
            b'"docker/login-action@v3"',
            b'"docker/login-action@9780b0c442fbb1117ed29e0efdff1e18412f7567" # v3',
        ),
    }


def test_diff_write_and_second_run(
    registry: Registry, images: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root, registry.host)
    expected = _expected(files, registry.host, images, images["multi"])
    # The diff changes nothing on disk and shows each pinned line, old and new.
    got = _fix(registry, root)
    assert got.returncode == 0, got.stderr
    assert {rel: (root / rel).read_bytes() for rel in files} == files
    minus = [
        ln for ln in got.stdout.splitlines() if ln.startswith("-") and not ln.startswith("---")
    ]
    plus = [ln for ln in got.stdout.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert len(minus) == len(plus) == 5, got.stdout
    assert f"+FROM {registry.host}/acme/web:1.0@{images['web']} AS base" in plus
    assert f"+      - uses: actions/checkout@{SHA} # v4.2.2" in plus
    assert "--- a/deploy/app.yaml" in got.stdout and "+++ b/Dockerfile" in got.stdout
    # --write: exactly the spans changed, every other byte (BOM, CRLF, comments) kept.
    got = _fix(registry, root, "--write")
    assert got.returncode == 0, got.stderr
    assert "pinned 5 reference(s) in 3 file(s)" in got.stderr
    assert {rel: (root / rel).read_bytes() for rel in files} == expected
    # Idempotent: nothing left to pin, nothing written.
    again = _fix(registry, root)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    _fix(registry, root, "--write")
    assert {rel: (root / rel).read_bytes() for rel in files} == expected


def test_platform_picks_the_manifest_of_an_index(
    registry: Registry, images: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root, registry.host)
    got = _fix(registry, root, "--write", "--platform", "linux/arm64")
    assert got.returncode == 0, got.stderr
    expected = _expected(files, registry.host, images, images["arm64"])
    assert {rel: (root / rel).read_bytes() for rel in files} == expected
    assert images["arm64"] != images["multi"]


def test_what_cannot_be_pinned_is_named_and_left(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root.parent / "actions.lock.yaml").write_text(LOCK)
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - {{name: a, image: {registry.host}/acme/absent:9}}\n"
        "    - {name: b, image: 'ghcr.io/acme/x:${TAG}'}\n"
    )
    wf = "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - uses: acme/unlocked@v1\n"
    (root / "pod.yaml").write_text(pod)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "w.yml").write_text(wf)
    got = _fix(registry, root, "--write")
    assert got.returncode == 1 and got.stdout == ""
    lines = got.stderr.splitlines()
    # The templated image is image-unresolved's, not a tag to pin: no line for it.
    assert lines == [
        "kubeward: not fixed: .github/workflows/w.yml:6:29: acme/unlocked@v1 is not in the "
        "actions lock; left alone",
        f"kubeward: not fixed: pod.yaml:6:24: {registry.host}/acme/absent:9: not found in its "
        "registry",
    ]
    assert "Traceback" not in got.stderr
    assert (root / "pod.yaml").read_text() == pod
    assert (root / ".github" / "workflows" / "w.yml").read_text() == wf


def test_a_bad_lock_is_a_usage_error(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root.parent / "actions.lock.yaml").write_text("actions/checkout@v4: v4.2.2\n")
    got = _fix(registry, root, "--no-images")
    assert got.returncode == 2
    assert got.stderr.strip().splitlines() == [
        f"kubeward: error: {root.parent / 'actions.lock.yaml'}: actions/checkout@v4: "
        "'v4.2.2' is not a full 40-hex commit SHA"
    ]


def test_a_link_out_of_the_tree_is_not_edited(
    registry: Registry, images: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root.parent / "actions.lock.yaml").write_text(LOCK)
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - {{name: a, image: {registry.host}/acme/web:1.0}}\n"
    )
    outside = tmp_path / "outside.yaml"
    outside.write_text(pod)
    (root / "link.yaml").symlink_to(outside)
    (root / "pod.yaml").write_text(pod)
    got = _fix(registry, root, "--write")
    assert got.returncode == 0, got.stderr
    assert outside.read_text() == pod  # the scan refused the link; fix never followed it
    assert (root / "pod.yaml").read_text() == pod.replace(
        "acme/web:1.0}", f"acme/web:1.0@{images['web']}}}"
    )


def _apply_sarif(text: str, replacements: list[dict[str, object]]) -> str:
    """Apply SARIF replacements (lines, code point columns) the way a consumer would."""
    lines = text.split("\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)

    def offset(line: int, col: int) -> int:
        return starts[line - 1] + col - 1

    edits = []
    for r in replacements:
        reg = r["deletedRegion"]
        assert isinstance(reg, dict)
        start = offset(reg["startLine"], reg["startColumn"])
        end = offset(reg["endLine"], reg["endColumn"])
        edits.append((start, end, r["insertedContent"]["text"]))  # type: ignore[index]
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def test_sarif_fixes_give_what_write_writes(
    registry: Registry, images: dict[str, str], tmp_path: Path
) -> None:
    import jsonschema

    from tests.conftest import sarif_schema

    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root, registry.host)
    expected = _expected(files, registry.host, images, images["multi"])
    got = _fix(registry, root, "--sarif", str(tmp_path / "fix.sarif"))
    assert got.returncode == 0, got.stderr
    doc = json.loads((tmp_path / "fix.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(doc, sarif_schema())
    results = doc["runs"][0]["results"]
    assert results and all("fixes" in r for r in results)
    by_uri: dict[str, list[dict[str, object]]] = {}
    for r in results:
        for change in r["fixes"][0]["artifactChanges"]:
            by_uri.setdefault(change["artifactLocation"]["uri"], []).extend(change["replacements"])
    assert set(by_uri) == set(files)
    for rel, reps in by_uri.items():
        raw = files[rel].decode()
        bom = raw[:1] == "\ufeff"
        fixed = ("\ufeff" if bom else "") + _apply_sarif(raw[1:] if bom else raw, reps)
        assert fixed.encode() == expected[rel], rel


def test_a_kustomize_new_tag_is_not_taken_for_an_image(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root.parent / "actions.lock.yaml").write_text(LOCK)
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - {name: a, image: ghcr.io/acme/shop}\n"
    )
    kust = "resources: [deploy.yaml]\nimages:\n  - name: ghcr.io/acme/shop\n    newTag: '1.2'\n"
    (root / "deploy.yaml").write_text(deploy)
    (root / "kustomization.yaml").write_text(kust)
    got = _fix(registry, root, "--write")
    assert (root / "deploy.yaml").read_text() == deploy
    assert (root / "kustomization.yaml").read_text() == kust
    assert got.returncode == 1 and "left alone" in got.stderr, got.stderr
    assert "Traceback" not in got.stderr
