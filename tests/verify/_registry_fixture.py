"""A real `docker-registry` (CNCF distribution) on 127.0.0.1, over TLS, with htpasswd auth."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
USER = "kubeward"
PASSWORD = "s3cret-for-tests"


@dataclass(frozen=True)
class Registry:
    host: str
    """`127.0.0.1:PORT`"""
    ca_file: Path
    docker_config: Path
    """A directory holding `config.json` with the credentials (use as DOCKER_CONFIG)."""
    user: str = USER
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_tls(directory: Path, names: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1, localhost and `names`:
    (ca.pem, server.pem, server.key) in `directory`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                    *(x509.DNSName(name) for name in names),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


def _wait_ready(host: str, ca_file: Path, process: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"https://{host}/v2/", context=context, timeout=1)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("docker-registry did not become ready within 15 s")


def start_registry(directory: Path) -> Iterator[Registry]:
    """Start the registry; yields it and stops it afterwards."""
    if not REGISTRY_BINARY.exists():
        reason = f"{REGISTRY_BINARY} is missing (apt-get install docker-registry)"
        if os.environ.get("KUBEWARD_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " but KUBEWARD_REQUIRE_SHARED=1")
        pytest.skip(reason)
    import bcrypt

    ca_file, cert_file, key_file = write_tls(directory)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()
    (directory / "htpasswd").write_text(f"{USER}:{hashed}\n")
    port = _free_port()
    host = f"127.0.0.1:{port}"
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "data")},
            "delete": {"enabled": True},
        },
        "http": {
            "addr": host,
            "tls": {"certificate": str(cert_file), "key": str(key_file)},
        },
        "auth": {"htpasswd": {"realm": "kubeward-tests", "path": str(directory / "htpasswd")}},
    }
    (directory / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    docker_config = directory / "docker"
    docker_config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    log = (directory / "registry.log").open("wb")
    process = subprocess.Popen(
        [str(REGISTRY_BINARY), "serve", str(directory / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(host, ca_file, process)
        yield Registry(host=host, ca_file=ca_file, docker_config=docker_config)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
