"""Registry logins through Docker credential helpers, against the real registry with htpasswd.

The helpers are real executables written here (`docker-credential-<name>`, a /bin/sh script on
a PATH directory of the test) speaking the docker-credential-helpers protocol: `get` with the
server address on stdin, `{"ServerURL","Username","Secret"}` on stdout, or exit 1 printing
`credentials not found in native keychain`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify import _docker_config
from kubeward.verify.registry import (
    ImageRef,
    RegistryClient,
    RegistryError,
    RegistryOptions,
)
from tests.conftest import REPO
from tests.verify._registry_fixture import Registry
from tests.verify.test_registry_verify import push_config_image, pusher

HANG_GUARD = 120


def write_helper(bin_dir: Path, name: str, body: str) -> Path:
    """An executable `docker-credential-<name>` whose `get` runs the shell `body`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" != get ]; then echo "unsupported $1"; exit 1; fi\n'
        "read -r server\n" + body + "\n"
    )
    path.chmod(0o755)
    return path


def answering(registry: Registry, log: Path | None = None) -> str:
    """Shell: answer the registry's credentials for its host, not-found for anything else;
    with `log`, record the server asked for and the environment the helper got."""
    record = f'printf "%s\\n" "$server" > {log}; env > {log}.env\n' if log else ""
    creds = json.dumps(
        {"ServerURL": registry.host, "Username": registry.user, "Secret": registry.password}
    )
    return (
        record + f'if [ "$server" = "{registry.host}" ]; then\n'
        f"  printf '%s' '{creds}'\n"
        "  exit 0\n"
        "fi\n"
        "echo 'credentials not found in native keychain'\n"
        "exit 1"
    )


def docker_config(directory: Path, doc: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def image(registry: Registry) -> str:
    """An unsigned image in the registry (pushed with explicit credentials)."""
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    push_config_image(pusher(registry), ImageRef(registry.host, "helped", "v1"), config)
    return f"{registry.host}/helped:v1"


def client(registry: Registry, config: Path) -> RegistryClient:
    return RegistryClient(RegistryOptions(ca_file=registry.ca_file, docker_config=config))


def manifest_digest(registry: Registry, config: Path) -> str:
    manifest = client(registry, config).get_manifest(ImageRef(registry.host, "helped", "v1"))
    assert manifest is not None
    return manifest.digest


@pytest.fixture()
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH directory for the helpers, ahead of the system's."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return directory


def test_creds_store_helper_logs_in(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "asked"
    write_helper(bin_dir, "test", answering(registry, log))
    config = docker_config(
        tmp_path / "docker", {"auths": {registry.host: {}}, "credsStore": "test"}
    )
    monkeypatch.setenv("KUBEWARD_TEST_SECRET", "must-not-reach-the-helper")
    digest = manifest_digest(registry, config)
    assert digest.startswith("sha256:")
    assert log.read_text() == f"{registry.host}\n"
    env = dict(line.split("=", 1) for line in (tmp_path / "asked.env").read_text().splitlines())
    assert "KUBEWARD_TEST_SECRET" not in env
    assert env["PATH"] == f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    assert env["LC_ALL"] == "C"
    allowed = set(_docker_config.HELPER_ENVIRONMENT) | {"LC_ALL", "PWD", "SHLVL", "_", "OLDPWD"}
    assert set(env) <= allowed, set(env) - allowed
    # the directory form of --registry-config finds the same file
    assert manifest_digest(registry, config.parent) == digest


def test_cred_helpers_entry_wins_over_creds_store(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    write_helper(bin_dir, "per-host", answering(registry))
    # credsStore names a helper that does not exist: used, it would fail the lookup
    config = docker_config(
        tmp_path / "docker",
        {"credsStore": "absent", "credHelpers": {registry.host: "per-host"}},
    )
    assert manifest_digest(registry, config).startswith("sha256:")
    other = docker_config(tmp_path / "other", {"credsStore": "absent"})
    with pytest.raises(RegistryError, match="docker-credential-absent not found on PATH"):
        manifest_digest(registry, other)


def test_helper_without_credentials_means_anonymous(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    write_helper(bin_dir, "empty", "echo 'credentials not found in native keychain'; exit 1")
    config = docker_config(tmp_path / "docker", {"credsStore": "empty"})
    with pytest.raises(RegistryError, match="authentication required and no credentials found"):
        manifest_digest(registry, config)


def test_helper_failure_is_one_line(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    write_helper(bin_dir, "broken", "echo 'keychain locked'; echo second line; exit 3")
    config = docker_config(tmp_path / "docker", {"credsStore": "broken"})
    with pytest.raises(RegistryError) as info:
        manifest_digest(registry, config)
    assert "docker-credential-broken" in info.value.reason
    assert "(exit 3): keychain locked" in info.value.reason
    assert "second line" not in info.value.reason


def test_helper_answer_that_is_not_json_is_not_echoed(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    write_helper(bin_dir, "garbled", "echo 'hunter2 is the password'")
    config = docker_config(tmp_path / "docker", {"credsStore": "garbled"})
    with pytest.raises(RegistryError, match="is not JSON") as info:
        manifest_digest(registry, config)
    assert "hunter2" not in info.value.reason


def test_helper_output_is_bounded(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    write_helper(bin_dir, "chatty", "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    config = docker_config(tmp_path / "docker", {"credsStore": "chatty"})
    with pytest.raises(RegistryError, match="printed more than 65536 bytes"):
        manifest_digest(registry, config)


def test_helper_that_hangs_is_killed(
    registry: Registry,
    image: str,
    bin_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_docker_config, "HELPER_TIMEOUT", 1.0)
    write_helper(bin_dir, "slow", "sleep 600")
    config = docker_config(tmp_path / "docker", {"credsStore": "slow"})
    with pytest.raises(RegistryError, match="no answer within 1 s"):
        manifest_digest(registry, config)


def test_helper_on_a_relative_path_entry_is_never_run(
    registry: Registry, image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    write_helper(tmp_path / "rel", "planted", f"touch {ran}; exit 1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"rel{os.pathsep}{os.pathsep}/usr/bin")
    config = docker_config(tmp_path / "docker", {"credsStore": "planted"})
    with pytest.raises(RegistryError, match="not found on PATH"):
        manifest_digest(registry, config)
    assert not ran.exists()


@pytest.mark.parametrize("name", ["../../bin/sh", "a/b", "-x", ""])
def test_helper_names_must_be_plain(
    registry: Registry, bin_dir: Path, tmp_path: Path, name: str
) -> None:
    config = docker_config(tmp_path / "docker", {"credHelpers": {registry.host: name or "x y"}})
    with pytest.raises(RegistryError, match="is not a plain name"):
        manifest_digest(registry, config)


def test_identity_token_against_a_basic_auth_registry(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    """`<token>` means an identity token; a basic challenge cannot take one."""
    token = json.dumps({"ServerURL": registry.host, "Username": "<token>", "Secret": "rt"})
    write_helper(bin_dir, "token", f"printf '%s' '{token}'")
    config = docker_config(tmp_path / "docker", {"credsStore": "token"})
    with pytest.raises(RegistryError, match="credentials found are an identity token"):
        manifest_digest(registry, config)


def test_credentials_are_looked_up_once_per_registry(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    write_helper(bin_dir, "counted", f"echo run >> {counter}\n" + answering(registry))
    config = docker_config(tmp_path / "docker", {"credsStore": "counted"})
    c = client(registry, config)
    ref = ImageRef(registry.host, "helped", "v1")
    assert c.get_manifest(ref) is not None
    assert c.with_deadline(60).get_manifest(ref) is not None
    assert counter.read_text().splitlines() == ["run"]


# --- through the command line --------------------------------------------------------------


def _public_key(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path / "cosign.pub"
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _kubeward(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD,
        check=False,
    )


def test_verify_cli_with_registry_config(
    registry: Registry, image: str, bin_dir: Path, tmp_path: Path
) -> None:
    """With the helper's login the unsigned image is checked and fails (exit 1); without
    a login it cannot be checked (exit 4); a --registry-config that is missing is usage."""
    write_helper(bin_dir, "test", answering(registry))
    config = docker_config(tmp_path / "docker", {"credsStore": "test"})
    empty = docker_config(tmp_path / "empty", {})
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO / "src"),
    }
    common = ["verify", image, "--key", str(_public_key(tmp_path))]
    common += ["--registry-ca", str(registry.ca_file), "-f", "json"]
    checked = _kubeward(*common, "--registry-config", str(config), env=env)
    assert checked.returncode == 1, checked.stderr
    (result,) = json.loads(checked.stdout)["results"]
    assert result["verdict"] == "fail"
    assert result["digest"] == manifest_digest(registry, config)
    unchecked = _kubeward(*common, "--registry-config", str(empty), env=env)
    assert unchecked.returncode == 4, unchecked.stderr
    (result,) = json.loads(unchecked.stdout)["results"]
    assert result["verdict"] == "error"
    assert any("no credentials found" in r for r in result["reasons"]), result
    missing = _kubeward(*common, "--registry-config", str(tmp_path / "nope.json"), env=env)
    assert missing.returncode == 2
    assert "--registry-config" in missing.stderr and "no such Docker config" in missing.stderr
    assert "Traceback" not in checked.stderr + unchecked.stderr + missing.stderr
