"""`kubeward scan --kubeconfig`: the live read, against an emulated API server.

No API server can run on these machines, so the tests start an emulation: a small HTTPS server
on 127.0.0.1, in the test process, with a real TLS certificate (a CA and a server certificate
for 127.0.0.1 made with `cryptography`) and bearer-token authentication, serving the
documented list endpoints (`GET /api/v1/pods`, `/apis/apps/v1/deployments`, ...) the way the
API server answers them: a `PodList`-style JSON object whose items carry no `apiVersion` and
`kind`, paged with `limit` and `metadata.continue` (two items a page, fewer than asked, as
the API server may), 404 for resources not served (CRDs not installed), 401 without the
token. The objects are those of the snapshot in tests/fixtures/cluster, so the live read must
find exactly what the snapshot scan finds. kubeward itself runs as a real process
(`python -m kubeward scan`), through the real `kubernetes` client.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import FIXTURES, REPO

pytest.importorskip("kubernetes")

SNAPSHOT = FIXTURES / "cluster" / "snapshot"
LEDGER = FIXTURES / "cluster" / "admission-ledger.jsonl"
TOKEN = "emulated-token-7f3a"
PAGE = 2

_PLURALS = {
    "Namespace": "namespaces",
    "Node": "nodes",
    "Pod": "pods",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "ClusterRoleBinding": "clusterrolebindings",
    "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
}


def _collections() -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """path -> (apiVersion, list kind, items without apiVersion/kind), from the snapshot."""
    items = yaml.safe_load((SNAPSHOT / "workloads.yaml").read_text())["items"]
    items += json.loads((SNAPSHOT / "rbac-admission.json").read_text())["items"]
    out: dict[str, tuple[str, str, list[dict[str, Any]]]] = {}
    for obj in items:
        api, kind = obj.pop("apiVersion"), obj.pop("kind")
        base = "/api/v1" if api == "v1" else f"/apis/{api}"
        path = f"{base}/{_PLURALS[kind]}"
        out.setdefault(path, (api, f"{kind}List", []))[2].append(obj)
    return out


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None, ca_key: Any
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(
            issuer.subject
            if issuer
            else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class _Emulator(BaseHTTPRequestHandler):
    collections: ClassVar[dict[str, tuple[str, str, list[dict[str, Any]]]]] = {}
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "Unauthorized", "code": 401})  # fmt: skip
            return
        url = urlsplit(self.path)
        found = self.collections.get(url.path)
        if found is None:
            self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404})  # fmt: skip
            return
        api, kind, items = found
        query = parse_qs(url.query)
        limit = min(int(query.get("limit", ["500"])[0]), PAGE)
        start = int(base64.b64decode(query["continue"][0])) if "continue" in query else 0
        end = start + limit
        meta: dict[str, Any] = {"resourceVersion": "90311"}
        if end < len(items):
            meta["continue"] = base64.b64encode(str(end).encode()).decode()
        self._send(200, {"kind": kind, "apiVersion": api, "metadata": meta,
                         "items": items[start:end]})  # fmt: skip


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("apiserver")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("emulated-cluster-ca", ca_key, None, ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("kube-apiserver", key, ca, ca_key)
    (tmp / "server.pem").write_bytes(_pem(cert))
    (tmp / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    handler = type("Handler", (_Emulator,), {"collections": _collections(), "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "server.pem", tmp / "server.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    other_ca = _cert(
        "someone-else", ca_key := ec.generate_private_key(ec.SECP256R1()), None, ca_key
    )
    try:
        yield {
            "url": f"https://127.0.0.1:{server.server_address[1]}",
            "ca": _pem(ca),
            "other_ca": _pem(other_ca),
            "requests": handler.requests,
            "tmp": tmp,
        }
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(path: Path, server: dict[str, Any], *, token: str = TOKEN, ca: str = "ca") -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "emulated",
                "cluster": {
                    "server": server["url"],
                    "certificate-authority-data": base64.b64encode(server[ca]).decode(),
                },
            }
        ],
        "users": [{"name": "viewer", "user": {"token": token}}],
        "contexts": [{"name": "emu", "context": {"cluster": "emulated", "user": "viewer"}}],
        "current-context": "emu",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def run(*args: str | Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PYTHONPATH": str(REPO / "src"),
        "PATH": "/usr/bin:/bin",
        "TMPDIR": str(tmp),
        "HOME": str(tmp),
    }
    return subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", "--no-progress", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _runtime(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["message"]) for f in report["findings"] if f["layer"] == 6}


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text().split("\n")
    return next(i for i, text in enumerate(lines, start=1) if needle in text)


def test_live_read_finds_what_the_snapshot_finds(apiserver: dict[str, Any], tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path / "kubeconfig", apiserver)
    saved = tmp_path / "saved"
    live = run("--kubeconfig", kc, "--context", "emu", "--save-snapshot", saved,
               "--admission-ledger", LEDGER, "-f", "json", tmp=tmp_path)  # fmt: skip
    assert live.returncode == 1, live.stderr
    report = json.loads(live.stdout)
    assert report["errors"] == []
    snap = run("--cluster", SNAPSHOT, "--admission-ledger", LEDGER, "-f", "json", tmp=tmp_path)
    assert _runtime(report) == _runtime(json.loads(snap.stdout))
    assert len(_runtime(report)) >= 10
    # Findings point at the lines of the saved dump files.
    pods = saved / "core" / "pods.json"
    got = {
        (f["rule"], f["location"]["path"], f["location"]["start"]["line"])
        for f in report["findings"]
    }
    side = next(line for line in pods.read_text().split("\n") if '"imageID": "sha256:' in line)
    assert ("running-image-side-loaded", pods.as_posix(), line_of(pods, side.strip())) in got
    crb = saved / "rbac.authorization.k8s.io" / "clusterrolebindings.json"
    assert ("rbac-cluster-admin-binding", crb.as_posix(), line_of(crb, '"name": "deployer"')) in got
    hooks = saved / "admissionregistration.k8s.io" / "validatingwebhookconfigurations.json"
    assert ("policy-webhook-fails-open", hooks.as_posix(), line_of(hooks, '"Ignore"')) in got
    # Paged: the Pods came two at a time, each page asked with the server's continue token.
    pods_served = len(_collections()["/api/v1/pods"][2])
    pages = [r for r in apiserver["requests"] if r.startswith("/api/v1/pods?")]
    assert len(pages) == -(-pods_served // PAGE) and all("limit=500" in p for p in pages)
    assert sum("continue=" in p for p in pages) == len(pages) - 1


def test_without_save_the_dumps_are_shown_by_context_and_removed(
    apiserver: dict[str, Any], tmp_path: Path
) -> None:
    kc = kubeconfig(tmp_path / "kubeconfig", apiserver)
    proc = run("--kubeconfig", kc, "-f", "json", tmp=tmp_path)
    report = json.loads(proc.stdout)
    paths = {f["location"]["path"] for f in report["findings"]}
    assert "cluster/emu/core/pods.json" in paths
    assert not [p for p in os.listdir(tmp_path) if p.startswith("kubeward-live-")]


def test_wrong_token_is_one_error_entry(apiserver: dict[str, Any], tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path / "kubeconfig", apiserver, token="wrong")
    proc = run("--kubeconfig", kc, "-f", "json", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [e["reason"] for e in report["errors"]] == [
        "emu: API server not usable: 401 unauthorized (check the credentials); nothing more read"
    ]


def test_untrusted_server_certificate_is_one_error_entry(
    apiserver: dict[str, Any], tmp_path: Path
) -> None:
    kc = kubeconfig(tmp_path / "kubeconfig", apiserver, ca="other_ca")
    proc = run("--kubeconfig", kc, "-f", "json", tmp=tmp_path)
    report = json.loads(proc.stdout)
    assert "Traceback" not in proc.stderr
    (error,) = report["errors"]
    assert error["path"] == "cluster/emu"
    assert (
        "API server not usable" in error["reason"]
        and "CERTIFICATE_VERIFY_FAILED" in error["reason"]
    )
    assert report["findings"] == []


def test_unknown_context_is_a_usage_error(apiserver: dict[str, Any], tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path / "kubeconfig", apiserver)
    proc = run("--kubeconfig", kc, "--context", "prod", tmp=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"kubeward: error: {kc}: no context named 'prod'"
