"""The registry client against servers that misbehave, in the same run as a good image.

`FaultServer` is a raw-socket HTTP server on 127.0.0.1 whose repository name says how it
misbehaves (`/v2/<fault>/...`): it trickles bytes, answers a bad status line, a 200 KB
header or 1,000 headers, cuts its body short, or hangs up. `RegistryProxy` is a plain-HTTP
proxy in front of the real `docker-registry` that answers the referrers API with garbage and
passes everything else through. Each run verifies the cosign vector image (which must still
verify) beside a bad one (which must be a one-line ERROR), in a subprocess whose timeout only
catches hangs.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.verify.registry import ImageRef, RegistryClient, RegistryError, RegistryOptions
from tests.conftest import REPO, require_shared
from tests.verify._registry_fixture import Registry, write_tls
from tests.verify.test_registry_verify import (
    COSIGN_DIGEST,
    attach_bundle,
    push_empty_image,
    pusher,
)

HANG_GUARD = 120
"""Seconds a whole `kubeward` run may take before the test calls it hung (not a speed claim)."""
REQUEST_TIMEOUT = "3"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
POLICY = [
    "--certificate-identity",
    "cody@soyland.com",
    "--certificate-oidc-issuer",
    "https://github.com/login/oauth",
    "--attestation",
    "custom",
]


# --- a server that misbehaves ----------------------------------------------------------------


def _head(status: str = "200 OK", *extra: str, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {MANIFEST_TYPE}", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class FaultServer:
    """Plain HTTP on 127.0.0.1; the first path segment after /v2/ picks the fault."""

    def __init__(self, *, greeting: bytes | None = None) -> None:
        self.greeting = greeting
        """Sent as soon as a client connects, before any request (for the TLS fault)."""
        self.redirect_to = ""
        """Where the `redirect` fault sends an authenticated request."""
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.greeting is not None:
                    conn.sendall(self.greeting)
                    return
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode()
                fault = path.split("/")[2] if path.startswith("/v2/") else ""
                if fault == "redirect":
                    self._redirect(conn, b"\r\nauthorization:" in request.lower())
                    return
                self._answer(conn, fault)
            except OSError:
                return  # the client gave up: what the trickling faults wait for

    def _redirect(self, conn: socket.socket, authorized: bool) -> None:
        """Ask for credentials, then send the request elsewhere (as blob storage does)."""
        if not authorized:
            conn.sendall(_head("401 Unauthorized", 'WWW-Authenticate: Basic realm="r"', length=0))
            return
        conn.sendall(_head("307 Temporary Redirect", f"Location: {self.redirect_to}", length=0))

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self._stop.wait(1.0):
                return
            conn.sendall(bytes([byte]))

    def _answer(self, conn: socket.socket, fault: str) -> None:
        if fault == "trickle-head":
            self._trickle(conn, _head("200 OK", "X-Slow: " + "s" * 10_000))
        elif fault == "trickle-body":
            conn.sendall(_head(length=100_000))
            self._trickle(conn, b"{" + b" " * 99_999)
        elif fault == "bad-status":
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        elif fault == "huge-header":
            conn.sendall(_head("200 OK", "X-Big: " + "b" * 200_000, length=2) + b"{}")
        elif fault == "many-headers":
            extra = [f"X-Header-{i}: {i}" for i in range(1000)]
            conn.sendall(_head("200 OK", *extra, length=2) + b"{}")
        elif fault == "truncated":
            conn.sendall(_head(length=2000) + b'{"schemaVersion": 2, "layers": [')
        elif fault == "hang-up":
            conn.shutdown(socket.SHUT_RDWR)
        else:
            conn.sendall(_head("404 Not Found", length=0))


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    server = FaultServer()
    yield server
    server.close()


# --- a proxy in front of the real registry -------------------------------------------------


class RegistryProxy(http.server.ThreadingHTTPServer):
    """Plain HTTP on 127.0.0.1, forwarding to the real registry with its credentials, except
    the referrers API, which answers `self.referrers`: (status, content type, body)."""

    daemon_threads = True

    def __init__(self, upstream: Registry) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.context = ssl.create_default_context(cafile=str(upstream.ca_file))
        self.referrers: tuple[int, str, bytes] = (404, "text/plain", b"")
        self.referrers_asked = 0
        self.authorizations: list[str | None] = []
        """The Authorization header of each request the proxy received."""
        self.host = f"127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: RegistryProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        proxy = self.server
        proxy.authorizations.append(self.headers.get("Authorization"))
        if "/referrers/" in self.path:
            proxy.referrers_asked += 1
            status, content_type, body = proxy.referrers
            self._reply(status, {"Content-Type": content_type}, body)
            return
        upstream = proxy.upstream
        host, port = upstream.host.split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=proxy.context, timeout=30)
        creds = base64.b64encode(f"{upstream.user}:{upstream.password}".encode()).decode()
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept",)}
        conn.request("GET", self.path, headers={**headers, "Authorization": f"Basic {creds}"})
        response = conn.getresponse()
        body = response.read()
        keep = ("content-type", "docker-content-digest", "location")
        self._reply(
            response.status, {k: v for k, v in response.getheaders() if k.lower() in keep}, body
        )
        conn.close()

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def proxy(registry: Registry) -> Iterator[RegistryProxy]:
    server = RegistryProxy(registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# --- the runs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_image(registry: Registry) -> str:
    """The cosign vector image with its real attestation bundle, as in test_registry_verify."""
    client = pusher(registry)
    ref = ImageRef(registry.host, "repo", "latest")
    assert push_empty_image(client, ref) == COSIGN_DIGEST
    bundle = require_shared("vectors", "cosign", "oci-attestation.sigstore.json").read_bytes()
    attach_bundle(client, ref, COSIGN_DIGEST, bundle)
    return f"{registry.host}/repo:latest"


def _kubeward(registry: Registry, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(registry.docker_config),
        "PYTHONPATH": str(REPO / "src"),
    }
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD,
        check=False,
        cwd=REPO,
    )


def _verify(registry: Registry, *images: str, insecure: str) -> subprocess.CompletedProcess[str]:
    root = require_shared("vectors", "cosign", "trusted_root_pgi.json")
    return _kubeward(
        registry,
        "verify",
        *images,
        *POLICY,
        "--trusted-root",
        str(root),
        "--registry-ca",
        str(registry.ca_file),
        "--insecure-registry",
        insecure,
        "--registry-timeout",
        REQUEST_TIMEOUT,
    )


def _report(stdout: str) -> dict[str, list[str]]:
    """`verify`'s text output: each image's head line and the lines under it."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        if not line.startswith(" "):
            current = blocks.setdefault(line.split()[1], [])
        current.append(line)
    return blocks


FAULTS = {
    "trickle-head": "no complete answer within the 3 s request deadline",
    "trickle-body": "no complete answer within the 3 s request deadline",
    "bad-status": "malformed HTTP response: bad status line 'SSH-2.0-OpenSSH_9.6",
    "huge-header": "malformed HTTP response: got more than 65536 bytes when reading header",
    "many-headers": "malformed HTTP response: got more than 100 headers",
    "truncated": "response cut short (",
    "hang-up": "registry unreachable: the server closed the connection without answering",
}


@pytest.mark.shared
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_one_image_error_and_the_good_image_still_verifies(
    registry: Registry, good_image: str, faults: FaultServer, fault: str
) -> None:
    bad = f"{faults.host}/{fault}:latest"
    done = _verify(registry, good_image, bad, insecure=faults.host)
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr, done.stderr
    assert done.returncode == 4, (done.stdout, done.stderr)  # no failure, one not checked
    blocks = _report(done.stdout)
    assert blocks[good_image][0].startswith(f"PASS  {good_image} ({COSIGN_DIGEST})"), done.stdout
    head, *reasons = blocks[bad]
    assert head == f"ERROR {bad}"
    assert len(reasons) == 1, reasons
    assert reasons[0].startswith(f"      - http://{faults.host}/v2/{fault}/manifests/latest: ")
    assert FAULTS[fault] in reasons[0], reasons[0]


@pytest.mark.shared
def test_tls_error_is_one_image_error(
    registry: Registry, good_image: str, faults: FaultServer
) -> None:
    """A server that is not TLS where TLS is expected: an ssl error, reported, not raised."""
    plain = FaultServer(greeting=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    try:
        bad = f"{plain.host}/tls:latest"
        done = _verify(registry, good_image, bad, insecure=faults.host)
    finally:
        plain.close()
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 4
    blocks = _report(done.stdout)
    assert blocks[good_image][0].startswith("PASS  ")
    head, reason = blocks[bad]
    assert head == f"ERROR {bad}"
    assert f"https://{plain.host}/v2/tls/manifests/latest: TLS error: " in reason, reason


@pytest.mark.shared
@pytest.mark.parametrize(
    "answer",
    [
        (200, "application/vnd.oci.image.index.v1+json", b'{"manifests": [ garbage'),
        (200, "application/vnd.oci.image.index.v1+json", b'{"manifests": {"not": "a list"}}'),
        (200, "application/vnd.oci.image.index.v1+json", b"[" * 5000 + b"]" * 5000),
        (200, "text/html", b"<html>not an index</html>"),
        (500, "application/json", b'{"errors": [{"code": "UNKNOWN"}]}'),
    ],
    ids=["not-json", "manifests-not-a-list", "deep-nesting", "wrong-content-type", "5xx"],
)
def test_referrers_garbage_falls_back_to_the_tag_scheme(
    registry: Registry, good_image: str, proxy: RegistryProxy, answer: tuple[int, str, bytes]
) -> None:
    proxy.referrers = answer
    asked = proxy.referrers_asked
    image = f"{proxy.host}/repo:latest"
    done = _verify(registry, image, insecure=proxy.host)
    assert "Traceback" not in done.stderr, done.stderr
    assert proxy.referrers_asked > asked, "the referrers API was never asked"
    assert done.returncode == 0, (done.stdout, done.stderr)
    lines = _report(done.stdout)[image]
    assert lines[0].startswith(f"PASS  {image} ({COSIGN_DIGEST})")
    assert f"from referrers tag {COSIGN_DIGEST.replace(':', '-')[:12]}" in lines[1], lines


@pytest.mark.shared
def test_scan_verify_images_reports_the_bad_image_and_goes_on(
    registry: Registry, good_image: str, faults: FaultServer, tmp_path: Path
) -> None:
    """`scan --verify-images` with a trickling and a malformed registry: file errors at their
    lines, the good image verified (no finding), never the internal-error exit 3."""
    bad = [f"{faults.host}/trickle-body:1.0", f"{faults.host}/many-headers:1.0"]
    manifest = tmp_path / "deploy.yaml"
    containers = [good_image, *bad]
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        + "".join(f"    - name: c{i}\n      image: {image}\n" for i, image in enumerate(containers))
    )
    root = require_shared("vectors", "cosign", "trusted_root_pgi.json")
    done = _kubeward(
        registry,
        "scan",
        str(tmp_path),
        "--verify-images",
        *POLICY,
        "--trusted-root",
        str(root),
        "--registry-ca",
        str(registry.ca_file),
        "--insecure-registry",
        faults.host,
        "--registry-timeout",
        REQUEST_TIMEOUT,
        "--rule",
        "image-signature-unverified",
        "--fail-on-errors",
        "-f",
        "json",
        "--no-progress",
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, (done.returncode, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["findings"] == []
    errors = {e["line"]: e["reason"] for e in doc["errors"]}
    assert sorted(errors) == [10, 12]
    assert "request deadline" in errors[10] and bad[0] in errors[10]
    assert "got more than 100 headers" in errors[12] and bad[1] in errors[12]


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.shared
def test_redirect_is_followed_without_our_credentials(
    good_image: str, faults: FaultServer, proxy: RegistryProxy
) -> None:
    """A registry that asks for credentials and then redirects to another host (blob storage
    does): the answer comes from there, and our Authorization stays with the first host."""
    faults.redirect_to = f"http://{proxy.host}/v2/repo/manifests/latest"
    client = RegistryClient(
        RegistryOptions(
            insecure=frozenset({faults.host, proxy.host}), credentials=("user", "secret")
        )
    )
    seen = len(proxy.authorizations)
    manifest = client.get_manifest(ImageRef(faults.host, "redirect", "latest"))
    assert manifest is not None and manifest.digest == COSIGN_DIGEST
    assert proxy.authorizations[seen:] == [None]


def test_redirect_to_plain_http_is_refused(faults: FaultServer) -> None:
    """Plain HTTP only to a loopback registry named insecure, redirects included."""
    faults.redirect_to = "http://127.0.0.1:9/v2/x/manifests/latest"
    client = RegistryClient(
        RegistryOptions(insecure=frozenset({faults.host}), credentials=("user", "secret"))
    )
    with pytest.raises(
        RegistryError, match=re.escape("refusing a redirect to http://127.0.0.1:9/v2/x/")
    ):
        client.get_manifest(ImageRef(faults.host, "redirect", "latest"))


# --- through an HTTPS proxy ------------------------------------------------------------------


class _TunnelProxy:
    """A CONNECT proxy on 127.0.0.1 that tunnels every target to one local port, and
    remembers the CONNECT lines and Proxy-Authorization headers it saw."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str | None]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        lines = head.decode().split("\r\n")
        auth = next(
            (
                v
                for k, _, v in (h.partition(": ") for h in lines[1:])
                if k.lower() == "proxy-authorization"
            ),
            None,
        )
        self.requests.append((lines[0], auth))
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(source: socket.socket, sink: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)


def test_https_goes_through_the_environment_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY (with credentials) is used by a CONNECT tunnel, and TLS is still checked
    against the registry's own name, as with urllib before."""
    ca, cert, key = write_tls(tmp_path, ("registry.kubeward.test",))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", MANIFEST_TYPE)
            self.send_header("Content-Length", str(len(manifest)))
            self.end_headers()
            self.wfile.write(manifest)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tunnel = _TunnelProxy(server.server_address[1])
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://proxy-user:proxy-pw@127.0.0.1:{tunnel.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = RegistryClient(RegistryOptions(ca_file=ca, retries=0))
        got = client.get_manifest(ImageRef("registry.kubeward.test", "tunnel", "latest"))
    finally:
        tunnel.close()
        server.shutdown()
        server.server_close()
    assert got is not None and got.data == manifest
    expected = "Basic " + base64.b64encode(b"proxy-user:proxy-pw").decode()
    ((line, auth),) = tunnel.requests
    assert line.startswith("CONNECT registry.kubeward.test:443 HTTP/1.") and auth == expected


# --- the deadlines through the library -----------------------------------------------------


def test_image_deadline_bounds_all_requests(faults: FaultServer) -> None:
    """`with_deadline` cuts a request whose own timeout would allow far more."""
    client = RegistryClient(RegistryOptions(insecure=frozenset({faults.host}), timeout=600))
    bounded = client.with_deadline(2)
    assert bounded.with_deadline(600).deadline == bounded.deadline, "a deadline never extends"
    ref = ImageRef(faults.host, "trickle-body", "latest")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(bounded.get_manifest, ref)
        with pytest.raises(RegistryError, match="within the 2 s image deadline"):
            future.result(timeout=HANG_GUARD)
    assert bounded.deadline is not None and bounded.deadline.remaining() < 0


def test_expired_image_deadline_sends_nothing(faults: FaultServer) -> None:
    client = RegistryClient(RegistryOptions(insecure=frozenset({faults.host})))
    expired = client.with_deadline(0)
    time.sleep(0.01)
    with pytest.raises(RegistryError, match="0 s image deadline"):
        expired.get_manifest(ImageRef(faults.host, "hang-up", "latest"))
