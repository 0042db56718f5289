"""A small OCI distribution client: manifests, blobs, tags, referrers, auth, TLS.

Anonymous, basic and bearer-token auth (the distribution token flow), credentials from the
Docker config file, a custom CA bundle, and plain HTTP only for loopback registries the user
names with `insecure`. Every request has a timeout and a bounded number of retries; every
failure surfaces as `RegistryError` with a reason.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward import __version__
from kubeward.model.image import ImageRef as ImageRef
from kubeward.verify._docker_config import IDENTITY_TOKEN_USER, CredentialError, DockerConfig
from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._json import load_json

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (
    OCI_INDEX,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_MAX_MANIFEST = 4 * 1024 * 1024
_MAX_BLOB = 64 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_DOCKER_HUB = "registry-1.docker.io"
_USER_AGENT = f"kubeward/{__version__}"


class RegistryError(VerificationError):
    """The registry could not be reached, refused us, or answered something unusable."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason, kind="registry-error")
        self.status = status


def parse_image_ref(text: str) -> ImageRef:
    """Parse an image reference; raises `RegistryError` when it is not one.

    `ImageRef` is `kubeward.model.image.ImageRef`, the one reference type of scan and verify.
    """
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise RegistryError(f"{text!r}: digest must be sha256:<64 hex>")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    tag = None
    name, colon, maybe_tag = path.rpartition(":")
    if colon and "/" not in maybe_tag:
        path, tag = name, maybe_tag
    if registry == "docker.io" and "/" not in path:
        path = "library/" + path
    if not path or not re.fullmatch(r"[a-z0-9]+(?:[._/-][a-z0-9]+|__)*", path.replace("__", "_")):
        raise RegistryError(f"{text!r} is not a valid image reference")
    if tag is not None and not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise RegistryError(f"{text!r}: invalid tag {tag!r}")
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest or None)


@dataclass(frozen=True)
class Manifest:
    """A fetched manifest: its raw bytes (digest is over these), type and parsed JSON."""

    data: bytes
    media_type: str
    digest: str

    @property
    def json(self) -> dict[str, Any]:
        try:
            doc = load_json(self.data, f"manifest {self.digest}")
        except InputError as exc:
            raise RegistryError(exc.reason) from exc
        if not isinstance(doc, dict):
            raise RegistryError("manifest is not a JSON object")
        return doc


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def docker_config_credentials(
    registry: str, *, config: Path | None = None
) -> tuple[str, str] | None:
    """Credentials for `registry` from the Docker config file (`config`, else
    `$DOCKER_CONFIG/config.json` or ~/.docker/config.json), through its credential helpers
    (`credHelpers`, `credsStore`) when it names them; see `kubeward.verify._docker_config`.

    None means anonymous. A username of `IDENTITY_TOKEN_USER` means an identity token.
    Raises `RegistryError` when the config or a helper fails."""
    try:
        return DockerConfig.load(config).credentials(registry)
    except CredentialError as exc:
        raise RegistryError(f"{registry}: {exc.reason}") from exc


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries."""

    ca_file: Path | None = None
    insecure: frozenset[str] = frozenset()
    """Registries (host:port) to reach over plain HTTP; only loopback ones are accepted."""
    timeout: float = 10.0
    """Seconds one request may take in all: connect, TLS, headers, body, redirects and retries.

    A deadline, not only a socket timeout: a server that trickles a byte every few seconds is
    cut off when it passes."""
    retries: int = 2
    image_deadline: float | None = 120.0
    """Seconds everything one image needs may take (see `RegistryClient.with_deadline`)."""
    credentials: tuple[str, str] | None = None
    """Explicit credentials; otherwise the Docker config file is consulted."""
    docker_config: Path | None = None
    """The Docker config file (or a directory holding `config.json`) to take logins and
    credential helpers from (`--registry-config`); None: `$DOCKER_CONFIG`, then
    `~/.docker/config.json`. Always the user's file, never one from a scanned repository."""


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock by which some work must be done."""

    at: float
    seconds: float
    """The budget it was set with (for messages)."""
    what: str
    """What it bounds: `request` or `image`."""

    @classmethod
    def after(cls, seconds: float, what: str) -> Deadline:
        return cls(time.monotonic() + seconds, seconds, what)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def sooner(self, other: Deadline | None) -> Deadline:
        return self if other is None or self.at <= other.at else other

    def exceeded(self, url: str) -> RegistryError:
        return RegistryError(
            f"{url}: no complete answer within the {self.seconds:g} s {self.what} deadline"
        )


class _Watchdog:
    """Shuts a connection's socket down when its deadline passes, whatever it is blocked in.

    A socket timeout bounds each read, not their sum; the watchdog bounds connect, TLS
    handshake, headers and body together. Shutting the socket down (not closing it) makes the
    blocked read return at once, in the thread that owns the connection.
    """

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._connection.close()


class _Retry(Exception):
    """A failure worth another attempt (network trouble, 5xx), with what to report if not."""

    def __init__(self, reason: str, response: tuple[int, dict[str, str], bytes] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.response = response


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_MAX_ERROR_BODY = 64 * 1024


@dataclass
class RegistryClient:
    """Talks to one or more registries; keeps bearer tokens per registry and scope.

    `deadline`, when set, bounds every request this client makes (on top of each request's
    own `options.timeout`); `with_deadline` gives a client for one image's work.
    """

    options: RegistryOptions = field(default_factory=RegistryOptions)
    deadline: Deadline | None = None
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _basic: set[str] = field(default_factory=set)
    _logins: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    """Credentials by registry, looked up once (a credential helper is a process run)."""
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for host in self.options.insecure:
            if not _is_loopback(host):
                raise RegistryError(
                    f"--insecure-registry {host}: plain HTTP is only allowed for loopback "
                    "registries"
                )
        if self._context is None:
            self._context = ssl.create_default_context(
                cafile=str(self.options.ca_file) if self.options.ca_file else None
            )

    def with_deadline(self, seconds: float | None) -> RegistryClient:
        """This client (same options, shared tokens) with all its requests ending within
        `seconds` from now; an earlier deadline it already has stays. None: no new deadline."""
        if seconds is None:
            return self
        deadline = Deadline.after(seconds, "image").sooner(self.deadline)
        return dataclasses.replace(self, deadline=deadline)

    # --- plumbing ---------------------------------------------------------------------------

    def _base(self, registry: str) -> str:
        host = _DOCKER_HUB if registry == "docker.io" else registry
        scheme = "http" if registry in self.options.insecure else "https"
        return f"{scheme}://{host}"

    def _credentials(self, registry: str) -> tuple[str, str] | None:
        if self.options.credentials is not None:
            return self.options.credentials
        if registry not in self._logins:
            self._logins[registry] = docker_config_credentials(
                registry, config=self.options.docker_config
            )
        return self._logins[registry]

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        data: bytes | None,
        limit: int,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request with its retries, redirects and deadline; every failure a RegistryError."""
        deadline = Deadline.after(self.options.timeout, "request").sooner(self.deadline)
        last = "registry unreachable"
        for attempt in range(self.options.retries + 1):
            if deadline.remaining() <= 0:
                raise deadline.exceeded(url)
            try:
                return self._follow(
                    method, url, headers=headers, data=data, limit=limit, deadline=deadline
                )
            except _Retry as exc:
                last = exc.reason
                pause = 0.2 * (attempt + 1)
                if attempt == self.options.retries or deadline.remaining() <= pause:
                    if exc.response is not None:
                        return exc.response
                    break
                time.sleep(pause)
        raise RegistryError(f"{url}: {last}")

    def _follow(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        data: bytes | None,
        limit: int,
        deadline: Deadline,
    ) -> tuple[int, dict[str, str], bytes]:
        """Follow redirects (blob storage), never carrying our Authorization to another host
        and never from HTTPS to plain HTTP (except to a loopback registry named insecure)."""
        for _ in range(_MAX_REDIRECTS + 1):
            status, response_headers, body = self._exchange(
                method, url, headers=headers, data=data, limit=limit, deadline=deadline
            )
            location = _header(response_headers, "Location")
            if status not in _REDIRECTS or not location or method not in ("GET", "HEAD"):
                return status, response_headers, body
            target = urllib.parse.urljoin(url, location)
            parts = urllib.parse.urlsplit(target)
            if parts.scheme != "https" and not (
                parts.scheme == "http" and parts.netloc in self.options.insecure
            ):
                raise RegistryError(f"{url}: refusing a redirect to {_one_line(target)}")
            if parts.netloc != urllib.parse.urlsplit(url).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise RegistryError(f"{url}: more than {_MAX_REDIRECTS} redirects")

    def _connection(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
        """A connection for `url` and the request target to send on it. HTTPS goes through
        the environment's proxy (`HTTPS_PROXY`, `NO_PROXY`) by a CONNECT tunnel, as Go's
        net/http does, never for loopback hosts; plain HTTP (loopback only) goes direct."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(f"{_one_line(url)}: not an http(s) URL")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=timeout), target
        proxy = _https_proxy_for(host)
        if proxy is None:
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._context
            )
            return connection, target
        proxy_parts = urllib.parse.urlsplit(proxy)
        proxy_headers = {}
        if proxy_parts.username is not None:
            creds = (
                urllib.parse.unquote(proxy_parts.username),
                urllib.parse.unquote(proxy_parts.password or ""),
            )
            proxy_headers["Proxy-Authorization"] = _basic_header(creds)
        connection = http.client.HTTPSConnection(
            proxy_parts.hostname or "",
            proxy_parts.port or 8080,
            timeout=timeout,
            context=self._context,
        )
        connection.set_tunnel(host, port, headers=proxy_headers)
        return connection, target

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        data: bytes | None,
        limit: int,
        deadline: Deadline,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP exchange within `deadline`; raises RegistryError, or _Retry when another
        attempt may help."""
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline.exceeded(url)
        connection, target = self._connection(url, remaining)
        watchdog = _Watchdog(connection, remaining)
        try:
            connection.request(
                method,
                target,
                body=data,
                headers={"User-Agent": _USER_AGENT, "Connection": "close", **headers},
            )
            response = connection.getresponse()
            status = response.status
            response_headers = dict(response.getheaders())
            error = status >= 400
            cap = _MAX_ERROR_BODY if error else limit
            body = _read_body(response, url, cap, deadline, truncate=error)
        except ssl.SSLCertVerificationError as exc:
            raise RegistryError(
                f"{url}: TLS certificate not trusted ({exc.verify_message}); pass the "
                "registry's CA with --registry-ca"
            ) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if watchdog.fired or deadline.remaining() <= 0:
                raise deadline.exceeded(url) from exc
            if isinstance(exc, ssl.SSLError):
                raise RegistryError(f"{url}: TLS error: {_one_line(str(exc))}") from exc
            if isinstance(exc, http.client.IncompleteRead):
                raise _Retry(f"response {_describe(exc)}") from exc
            if isinstance(exc, OSError):
                raise _Retry(f"registry unreachable: {_describe(exc)}") from exc
            raise RegistryError(f"{url}: malformed HTTP response: {_describe(exc)}") from exc
        finally:
            watchdog.close()
        if watchdog.fired:
            raise deadline.exceeded(url)
        if status >= 500:
            raise _Retry(f"registry answered {status}", (status, response_headers, body))
        return status, response_headers, body

    def _token(self, registry: str, challenge: str, scope: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{registry}: bearer challenge without a usable realm")
        realm_host = urllib.parse.urlsplit(realm).netloc
        if realm.startswith("http://") and realm_host not in self.options.insecure:
            # As go-containerregistry: credentials go to a plain-HTTP token service only when
            # it is a loopback host the user named insecure.
            raise RegistryError(
                f"{registry}: refusing to send credentials to the plain-HTTP token service "
                f"{_one_line(realm)}"
            )
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        creds = self._credentials(registry)
        if creds is not None and creds[0] == IDENTITY_TOKEN_USER:
            # An identity token is an OAuth2 refresh token: the distribution spec's POST form
            # (https://distribution.github.io/distribution/spec/auth/oauth/), as
            # go-containerregistry sends it.
            form = urllib.parse.urlencode(
                {
                    **query,
                    "grant_type": "refresh_token",
                    "refresh_token": creds[1],
                    "client_id": "kubeward",
                }
            ).encode()
            status, _, body = self._send(
                "POST",
                realm,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                data=form,
                limit=1024 * 1024,
            )
        else:
            auth = {"Authorization": _basic_header(creds)} if creds is not None else {}
            status, _, body = self._send("GET", url, headers=auth, data=None, limit=1024 * 1024)
        if status != 200:
            raise RegistryError(f"{registry}: token service answered {status}", status=status)
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError) as exc:
            raise RegistryError(f"{registry}: token service answered garbage") from exc
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{registry}: token service gave no token")
        return token

    def request(
        self,
        method: str,
        registry: str,
        path: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        limit: int = _MAX_MANIFEST,
        absolute_url: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One authenticated request: answers a 401 challenge once, then gives up."""
        url = absolute_url or self._base(registry) + path

        def send() -> tuple[int, dict[str, str], bytes]:
            sent = dict(headers or {})
            token = self._tokens.get((registry, scope))
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            elif registry in self._basic:
                creds = self._credentials(registry)
                if creds is not None:
                    sent["Authorization"] = _basic_header(creds)
            return self._send(method, url, headers=sent, data=data, limit=limit)

        status, response_headers, body = send()
        if status != 401:
            return status, response_headers, body
        challenge = _header(response_headers, "WWW-Authenticate") or ""
        if challenge.lower().startswith("bearer"):
            self._tokens[(registry, scope)] = self._token(registry, challenge, scope)
        elif challenge.lower().startswith("basic"):
            creds = self._credentials(registry)
            if creds is None:
                raise RegistryError(
                    f"{registry}: authentication required and no credentials found "
                    "(docker login, DOCKER_CONFIG or --registry-config)",
                    status=401,
                )
            if creds[0] == IDENTITY_TOKEN_USER:
                raise RegistryError(
                    f"{registry}: asks for basic auth, but the credentials found are an "
                    "identity token (only a bearer token service takes one)",
                    status=401,
                )
            self._basic.add(registry)
        else:
            raise RegistryError(
                f"{registry}: unauthorized ({challenge or 'no challenge'})", status=401
            )
        status, response_headers, body = send()
        if status == 401:
            raise RegistryError(f"{registry}: credentials were refused", status=401)
        return status, response_headers, body

    # --- distribution API -------------------------------------------------------------------

    def get_manifest(self, ref: ImageRef, reference: str | None = None) -> Manifest | None:
        """The manifest at a tag or digest; None when the registry says 404."""
        target = reference or ref.reference
        status, headers, body = self.request(
            "GET",
            ref.registry,
            f"/v2/{ref.repository}/manifests/{target}",
            scope=f"repository:{ref.repository}:pull",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if status == 404:
            return None
        if status != 200:
            raise RegistryError(
                f"{ref.registry}/{ref.repository}:{target}: registry answered {status}"
                f"{_error_text(body)}",
                status=status,
            )
        digest = sha256_digest(body)
        if target.startswith("sha256:") and digest != target:
            raise RegistryError(f"{ref}: registry served a manifest whose digest is {digest}")
        manifest = Manifest(data=body, media_type="", digest=digest)
        try:
            media_type = manifest.json.get("mediaType") or _header(headers, "Content-Type")
        except RegistryError as exc:
            raise RegistryError(f"{ref}: {exc.reason}") from exc
        return dataclasses.replace(manifest, media_type=str(media_type or ""))

    def get_blob(self, ref: ImageRef, digest: str, *, limit: int = _MAX_BLOB) -> bytes:
        status, _, body = self.request(
            "GET",
            ref.registry,
            f"/v2/{ref.repository}/blobs/{digest}",
            scope=f"repository:{ref.repository}:pull",
            limit=limit,
        )
        if status != 200:
            raise RegistryError(f"{ref.registry}/{ref.repository}: blob {digest}: {status}")
        if sha256_digest(body) != digest:
            raise RegistryError(f"{ref.registry}/{ref.repository}: blob {digest} content mismatch")
        return body

    def referrers(self, ref: ImageRef, digest: str) -> list[dict[str, Any]] | None:
        """OCI 1.1 referrers of `digest`; None when the registry offers no usable referrers
        API, and the caller falls back to the `sha256-<hex>` tag scheme.

        Like go-containerregistry's `fetchReferrers` (which cosign uses), only a 200 answer
        of type OCI image index counts as the API; a 404, 400, 406 or any other type means
        no API. Unlike it, a 5xx or an index that does not parse also falls back rather than
        failing the image: the tag scheme may still hold the evidence, and evidence from
        either place is verified all the same.
        """
        status, headers, body = self.request(
            "GET",
            ref.registry,
            f"/v2/{ref.repository}/referrers/{digest}",
            scope=f"repository:{ref.repository}:pull",
            headers={"Accept": OCI_INDEX},
        )
        content_type = (_header(headers, "Content-Type") or "").partition(";")[0].strip()
        if status != 200 or content_type.lower() != OCI_INDEX:
            return None
        try:
            manifests = load_json(body, "referrers index").get("manifests")
        except (InputError, AttributeError):
            return None
        if not isinstance(manifests, list):
            return None
        return [m for m in manifests if isinstance(m, dict)]

    def put_blob(self, ref: ImageRef, data: bytes) -> str:
        """Monolithic upload (POST then PUT); returns the digest."""
        digest = sha256_digest(data)
        scope = f"repository:{ref.repository}:pull,push"
        status, headers, body = self.request(
            "POST", ref.registry, f"/v2/{ref.repository}/blobs/uploads/", scope=scope, data=b""
        )
        location = _header(headers, "Location")
        if status != 202 or not location:
            raise RegistryError(f"{ref}: blob upload refused ({status}){_error_text(body)}")
        url = urllib.parse.urljoin(self._base(ref.registry) + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        status, _, body = self.request(
            "PUT",
            ref.registry,
            "",
            scope=scope,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            absolute_url=url,
        )
        if status != 201:
            raise RegistryError(f"{ref}: blob upload failed ({status}){_error_text(body)}")
        return digest

    def put_manifest(self, ref: ImageRef, reference: str, data: bytes, media_type: str) -> str:
        status, _, body = self.request(
            "PUT",
            ref.registry,
            f"/v2/{ref.repository}/manifests/{reference}",
            scope=f"repository:{ref.repository}:pull,push",
            data=data,
            headers={"Content-Type": media_type},
        )
        if status != 201:
            raise RegistryError(f"{ref}: manifest push failed ({status}){_error_text(body)}")
        return sha256_digest(data)


def _basic_header(creds: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _error_text(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return ": " + "; ".join(str(e.get("message", e.get("code"))) for e in errors)
    except (ValueError, AttributeError, TypeError):
        return ""


def _describe(exc: Exception) -> str:
    """A short, single-line account of a network or protocol failure."""
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        if exc.expected:
            return f"cut short ({len(exc.partial)} bytes read, {exc.expected} more expected)"
        return f"cut short ({len(exc.partial)} bytes read)"
    if isinstance(exc, http.client.BadStatusLine):
        return f"bad status line {str(exc)[:80]!r}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc)
    return _one_line(text) or type(exc).__name__


def _one_line(text: str, limit: int = 200) -> str:
    """Text from the network, made safe for a one-line message."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _read_body(
    response: http.client.HTTPResponse,
    url: str,
    limit: int,
    deadline: Deadline,
    *,
    truncate: bool,
) -> bytes:
    """The body, read in chunks, checking `deadline` between them. Over `limit` bytes is an
    error (cut at `limit` when `truncate`); shorter than its Content-Length is IncompleteRead."""
    declared = response.length
    if declared is not None and declared > limit and not truncate:
        raise RegistryError(f"{url}: response larger than {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    cap = limit if truncate else limit + 1
    while total < cap:
        chunk = response.read(min(_CHUNK, cap - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if deadline.remaining() <= 0:
            raise TimeoutError("deadline passed while reading the body")
    body = b"".join(chunks)
    if len(body) > limit:
        raise RegistryError(f"{url}: response larger than {limit} bytes")
    if not truncate and declared is not None and total < min(declared, cap):
        raise http.client.IncompleteRead(body, declared - total)
    return body


def _https_proxy_for(host: str) -> str | None:
    """The HTTPS proxy the environment names for `host`; never one for loopback hosts."""
    if _is_loopback(host):
        return None
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else "http://" + proxy
