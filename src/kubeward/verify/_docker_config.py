"""Registry logins from the user's Docker config file, with Docker credential helpers.

The lookup docker and go-containerregistry (cosign) do: `credHelpers[<registry>]`, else
`credsStore`, names a helper `docker-credential-<name>`, run as `docker-credential-<name> get`
with the server address on stdin; it prints `{"ServerURL", "Username", "Secret"}` or, when it
has nothing, exits non-zero printing `credentials not found in native keychain`. A username of
`<token>` means the secret is an identity (refresh) token. Without a helper, `auths` entries
(`auth` base64 `user:password`, or `username`/`password`, or `identitytoken`) are used.

Running a helper runs a program, so it is fenced: its name comes only from the user's Docker
config (`--registry-config`, `$DOCKER_CONFIG`, `~/.docker/config.json`; never from anything the
scanned repository holds), must be a plain name, is looked up on the absolute entries of
`PATH` only (a relative or empty entry would mean the current directory), and runs with a fixed
small environment, no shell, a timeout and a cap on what it may print.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

IDENTITY_TOKEN_USER = "<token>"
"""The username a credential helper (or `identitytoken` in `auths`) gives for an identity
token: the secret is then an OAuth2 refresh token for the registry's token service."""

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
HELPER_PREFIX = "docker-credential-"
HELPER_TIMEOUT = 30.0
"""Seconds a credential helper may take (cloud helpers may call their provider's API)."""
HELPER_OUTPUT_LIMIT = 64 * 1024
_NOT_FOUND = "credentials not found in native keychain"
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_CONFIG = 4 * 1024 * 1024

HELPER_ENVIRONMENT = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    # amazon-ecr-credential-helper
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ECR_CACHE_DIR",
    "AWS_ECR_DISABLE_CACHE",
    # docker-credential-gcr, gcloud
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUDSDK_CONFIG",
    # Azure (docker-credential-acr-env)
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
)
"""The only variables a credential helper sees (when set): what the common helpers read."""


class CredentialError(Exception):
    """The Docker config or a credential helper could not give an answer (one-line reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DockerConfig:
    """The parts of a Docker `config.json` that say how to log in to registries."""

    path: Path | None
    auths: dict[str, object]
    creds_store: str | None
    cred_helpers: dict[str, str]

    @classmethod
    def load(cls, path: Path | None = None) -> DockerConfig:
        """`path` (a file, or a directory holding `config.json`), else `$DOCKER_CONFIG` or
        `~/.docker/config.json`. A missing default file is an empty config; a missing named
        file, or a file that is not a JSON object, is a `CredentialError`."""
        named = path is not None
        if path is None:
            directory = os.environ.get("DOCKER_CONFIG")
            path = Path(directory) / "config.json" if directory else _home() / ".docker/config.json"
        elif path.is_dir():
            path = path / "config.json"
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_CONFIG + 1)
        except FileNotFoundError:
            if named:
                raise CredentialError(f"{path}: no such Docker config file") from None
            return cls(None, {}, None, {})
        except OSError as exc:
            raise CredentialError(f"{path}: cannot read: {exc.strerror}") from exc
        if len(data) > _MAX_CONFIG:
            raise CredentialError(f"{path}: larger than {_MAX_CONFIG} bytes")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CredentialError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise CredentialError(f"{path}: not a JSON object")
        auths = doc.get("auths")
        store = doc.get("credsStore")
        helpers = doc.get("credHelpers")
        return cls(
            path=path,
            auths=auths if isinstance(auths, dict) else {},
            creds_store=store if isinstance(store, str) and store else None,
            cred_helpers=(
                {k: v for k, v in helpers.items() if isinstance(v, str) and v}
                if isinstance(helpers, dict)
                else {}
            ),
        )

    def credentials(self, registry: str) -> tuple[str, str] | None:
        """(username, secret) for `registry` (a host[:port]; `docker.io` for Docker Hub), or
        None for anonymous. The username is `IDENTITY_TOKEN_USER` for an identity token."""
        key = DOCKER_HUB_KEY if registry in ("docker.io", "registry-1.docker.io") else registry
        helper = self.cred_helpers.get(registry) or self.cred_helpers.get(key) or self.creds_store
        if helper is not None:
            return run_helper(helper, key, config=self.path)
        return self._from_auths(registry, key)

    def _from_auths(self, registry: str, key: str) -> tuple[str, str] | None:
        for name in (registry, key, f"https://{registry}", f"http://{registry}"):
            entry = self.auths.get(name) or self.auths.get(name + "/")
            if not isinstance(entry, dict):
                continue
            token = entry.get("identitytoken")
            if isinstance(token, str) and token:
                return IDENTITY_TOKEN_USER, token
            if isinstance(entry.get("auth"), str) and entry["auth"]:
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    continue
                return user, password
            if isinstance(entry.get("username"), str):
                return entry["username"], str(entry.get("password", ""))
        return None


def _home() -> Path:
    try:
        return Path.home()
    except RuntimeError:
        return Path("/nonexistent")


def helper_path(name: str) -> Path:
    """The absolute path of `docker-credential-<name>` on the absolute `PATH` entries."""
    if not _HELPER_NAME.fullmatch(name):
        raise CredentialError(f"credential helper name {name[:80]!r} is not a plain name")
    program = HELPER_PREFIX + name
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue  # "" and relative entries mean the current directory: never
        candidate = Path(entry) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise CredentialError(f"credential helper {program} not found on PATH (absolute entries)")


def helper_environment() -> dict[str, str]:
    env = {k: os.environ[k] for k in HELPER_ENVIRONMENT if k in os.environ}
    env["PATH"] = os.pathsep.join(
        e for e in os.environ.get("PATH", "").split(os.pathsep) if e and os.path.isabs(e)
    )
    env["LC_ALL"] = "C"
    return env


def run_helper(name: str, server: str, *, config: Path | None = None) -> tuple[str, str] | None:
    """`docker-credential-<name> get` for `server`: (username, secret), or None when the
    helper has no credentials for it. Failures are `CredentialError`s that never quote what
    the helper printed on success paths (it may be a secret)."""
    program = helper_path(name)
    where = f"credential helper {program.name}" + (f" (from {config})" if config else "")
    try:
        process = subprocess.Popen(
            [str(program), "get"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=helper_environment(),
            cwd="/",
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise CredentialError(f"{where}: cannot run: {exc.strerror}") from exc
    timed_out = threading.Event()

    def kill() -> None:
        # the whole session: a child the helper left holding stdout must not keep us reading
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)

    def expire() -> None:
        timed_out.set()
        kill()

    timer = threading.Timer(HELPER_TIMEOUT, expire)
    timer.daemon = True
    timer.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(server.encode())
            process.stdin.close()
        except OSError:
            pass  # a helper that exits without reading: its exit status tells
        output = process.stdout.read(HELPER_OUTPUT_LIMIT + 1)
        if len(output) > HELPER_OUTPUT_LIMIT:
            kill()
        status = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if len(output) > HELPER_OUTPUT_LIMIT:
        raise CredentialError(f"{where}: printed more than {HELPER_OUTPUT_LIMIT} bytes")
    if timed_out.is_set():
        raise CredentialError(f"{where}: no answer within {HELPER_TIMEOUT:g} s")
    if status != 0:
        message = output.decode("utf-8", "replace").strip()
        if message == _NOT_FOUND:
            return None
        first = "".join(c if c.isprintable() else " " for c in message.splitlines()[0][:200])
        raise CredentialError(f"{where} failed for {server} (exit {status}): {first or '-'}")
    try:
        doc = json.loads(output)
    except (ValueError, UnicodeDecodeError):
        raise CredentialError(f"{where}: answer for {server} is not JSON") from None
    username = doc.get("Username") if isinstance(doc, dict) else None
    secret = doc.get("Secret") if isinstance(doc, dict) else None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise CredentialError(f"{where}: answer for {server} has no Username and Secret strings")
    if not username and not secret:
        return None
    return username, secret
