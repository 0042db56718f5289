"""An identity token from a credential helper (`Username: "<token>"`) against the real
`docker-registry` with token authentication: the client exchanges it at the token service as
an OAuth2 refresh token (`POST`, `grant_type=refresh_token`), as go-containerregistry does,
and the registry accepts the access token the service signs.

The token service is a small HTTPS server written here that implements the distribution token
protocol: it checks the refresh token, and signs an ES256 JWT (`x5c` header, a certificate in
the registry's `rootcertbundle`) granting the scope asked for.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from kubeward.verify.registry import ImageRef, RegistryClient, RegistryError, RegistryOptions
from tests.verify._registry_fixture import REGISTRY_BINARY, _free_port, write_tls
from tests.verify.test_credential_helpers import docker_config, write_helper

SERVICE, ISSUER = "kubeward-token-test", "kubeward-token-issuer"
REFRESH_TOKEN = "refresh-token-for-tests"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """The distribution token protocol: GET with basic auth, POST with a refresh token."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def jwt(self, scope: str) -> str:
        access = []
        for item in scope.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "kubeward",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": os.urandom(8).hex(),
            "access": access,
        }
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, form: dict[str, str]) -> None:
                service.requests.append((self.command, form))
                ok = form.get("grant_type") == "refresh_token" and (
                    form.get("refresh_token") == REFRESH_TOKEN
                )
                if not ok or form.get("service") != SERVICE:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"access_token": service.jwt(form.get("scope", ""))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                self._answer(form)

            def do_GET(self) -> None:
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                self._answer(query)  # no refresh token in a GET: refused

        return Handler


@dataclass(frozen=True)
class TokenRegistry:
    host: str
    ca_file: Path
    service: TokenService


def _signer(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward token signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / "token-signer.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    if not REGISTRY_BINARY.exists():
        pytest.skip(f"{REGISTRY_BINARY} is missing (apt-get install docker-registry)")
    directory = tmp_path_factory.mktemp("token-registry")
    ca_file, cert_file, key_file = write_tls(directory)
    key, cert, bundle = _signer(directory)
    service = TokenService(key, cert)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), service.handler())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    realm = f"https://127.0.0.1:{server.server_address[1]}/token"
    host = f"127.0.0.1:{_free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
        "http": {"addr": host, "tls": {"certificate": str(cert_file), "key": str(key_file)}},
        "auth": {
            "token": {
                "realm": realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(bundle),
            }
        },
    }
    (directory / "config.yml").write_text(json.dumps(config))
    log = (directory / "registry.log").open("wb")
    process = subprocess.Popen(
        [str(REGISTRY_BINARY), "serve", str(directory / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"https://{host}/v2/", context=context, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up
            except OSError:
                time.sleep(0.1)
        yield TokenRegistry(host, ca_file, service)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        server.shutdown()


def test_identity_token_from_a_helper_is_a_refresh_token(
    token_registry: TokenRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    answer = json.dumps(
        {"ServerURL": token_registry.host, "Username": "<token>", "Secret": REFRESH_TOKEN}
    )
    write_helper(bin_dir, "idtoken", f"printf '%s' '{answer}'")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    config = docker_config(tmp_path / "docker", {"credsStore": "idtoken"})
    client = RegistryClient(RegistryOptions(ca_file=token_registry.ca_file, docker_config=config))
    ref = ImageRef(token_registry.host, "token/app", "v1")
    blob = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    digest = client.put_blob(ref, blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(blob),
                "digest": digest,
            },
            "layers": [],
        }
    ).encode()
    pushed = client.put_manifest(ref, "v1", manifest, MANIFEST_TYPE)
    fetched = client.get_manifest(ref)
    assert fetched is not None and fetched.digest == pushed
    methods = {m for m, _ in token_registry.service.requests}
    assert methods == {"POST"}
    for _, form in token_registry.service.requests:
        assert form["grant_type"] == "refresh_token"
        assert form["refresh_token"] == REFRESH_TOKEN
        assert form["client_id"] == "kubeward"
        assert form["scope"].startswith("repository:token/app:")


def test_a_wrong_identity_token_is_refused(
    token_registry: TokenRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    answer = json.dumps({"ServerURL": token_registry.host, "Username": "<token>", "Secret": "x"})
    write_helper(bin_dir, "badtoken", f"printf '%s' '{answer}'")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    config = docker_config(tmp_path / "docker", {"credsStore": "badtoken"})
    client = RegistryClient(RegistryOptions(ca_file=token_registry.ca_file, docker_config=config))
    with pytest.raises(RegistryError, match="token service answered 401"):
        client.get_manifest(ImageRef(token_registry.host, "token/app", "v1"))


def test_no_credentials_to_a_plain_http_token_service(tmp_path: Path) -> None:
    """A registry (here a loopback one the user named insecure) whose challenge sends the
    client to a plain-HTTP realm on another host: the credentials are not sent there."""
    token_requests: list[str] = []

    class Realm(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            token_requests.append(self.headers.get("Authorization") or "")
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    realm = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Realm)
    realm_url = f"http://127.0.0.1:{realm.server_address[1]}/token"

    class Challenging(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{realm_url}",service="s"')
            self.send_header("Content-Length", "0")
            self.end_headers()

    registry = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Challenging)
    for server in (realm, registry):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{registry.server_address[1]}"
    try:
        client = RegistryClient(
            RegistryOptions(insecure=frozenset({host}), credentials=("user", "secret"))
        )
        with pytest.raises(RegistryError, match="refusing to send credentials to the plain-HTTP"):
            client.get_manifest(ImageRef(host, "app", "v1"))
    finally:
        realm.shutdown()
        registry.shutdown()
    assert token_requests == []
