"""committed-private-key on files that cannot carry expectation comments (JSON)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from kubeward.engine import ScanOptions, scan

RULE = "committed-private-key"


def _hits(root: Path) -> set[tuple[str, int]]:
    report = scan([root], ScanOptions(only_rules=[RULE], jobs=1))
    assert not [e for e in report.errors if "internal error" in e.reason]
    prefix = root.as_posix() + "/"
    return {(r.span.path.removeprefix(prefix), r.span.start.line) for r in report.results}


def test_dockerconfigjson_with_auths(tmp_path: Path) -> None:
    auth = base64.b64encode(b"robot:s3cr3t").decode()
    data = {"auths": {"ghcr.io": {"auth": auth}, "quay.io": {"auth": "<base64 user:pass>"}}}
    (tmp_path / ".dockerconfigjson").write_text(json.dumps(data, indent=2))
    assert _hits(tmp_path) == {(".dockerconfigjson", 4)}


def test_empty_docker_config_and_public_key_pass(tmp_path: Path) -> None:
    (tmp_path / ".dockerconfigjson").write_text('{"auths": {}}')
    (tmp_path / "cosign.pub.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
        "-----END PUBLIC KEY-----\n"
    )
    assert _hits(tmp_path) == set()


def test_kubeconfig_client_key_data(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n"
        "      client-certificate-data: Y2VydA==\n      client-key-data: a2V5a2V5a2V5\n"
    )
    assert _hits(tmp_path) == {("kubeconfig", 7)}
