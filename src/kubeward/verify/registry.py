"""A small OCI distribution client: manifests, blobs, tags, referrers, auth, TLS.

Anonymous, basic and bearer-token auth (the distribution token flow), credentials from the
Docker config file, a custom CA bundle, and plain HTTP only for loopback registries the user
names with `insecure`. Every request has a timeout and a bounded number of retries; every
failure surfaces as `RegistryError` with a reason.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.model.image import ImageRef as ImageRef
from kubeward.verify._errors import VerificationError

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_MAX_MANIFEST = 4 * 1024 * 1024
_MAX_BLOB = 64 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_DOCKER_HUB = "registry-1.docker.io"


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
        doc = json.loads(self.data)
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


def docker_config_credentials(registry: str) -> tuple[str, str] | None:
    """Credentials for `registry` from `$DOCKER_CONFIG/config.json` or ~/.docker/config.json."""
    directory = os.environ.get("DOCKER_CONFIG")
    path = Path(directory) / "config.json" if directory else Path.home() / ".docker/config.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry in ("docker.io", _DOCKER_HUB):
        keys.append("https://index.docker.io/v1/")
    for key in keys:
        entry = auths.get(key) or auths.get(key + "/")
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return user, password
        if isinstance(entry.get("username"), str):
            return entry["username"], str(entry.get("password", ""))
    return None


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries."""

    ca_file: Path | None = None
    insecure: frozenset[str] = frozenset()
    """Registries (host:port) to reach over plain HTTP; only loopback ones are accepted."""
    timeout: float = 10.0
    retries: int = 2
    credentials: tuple[str, str] | None = None
    """Explicit credentials; otherwise the Docker config file is consulted."""


class _NoRedirectAuth(urllib.request.HTTPRedirectHandler):
    """Follow redirects (blob storage), but never carry our Authorization to another host."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != req.host:
            new.remove_header("Authorization")
        return new


@dataclass
class RegistryClient:
    """Talks to one or more registries; keeps bearer tokens per registry and scope."""

    options: RegistryOptions = field(default_factory=RegistryOptions)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _basic: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for host in self.options.insecure:
            if not _is_loopback(host):
                raise RegistryError(
                    f"--insecure-registry {host}: plain HTTP is only allowed for loopback "
                    "registries"
                )
        context = ssl.create_default_context(
            cafile=str(self.options.ca_file) if self.options.ca_file else None
        )
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirectAuth()
        )

    # --- plumbing ---------------------------------------------------------------------------

    def _base(self, registry: str) -> str:
        host = _DOCKER_HUB if registry == "docker.io" else registry
        scheme = "http" if registry in self.options.insecure else "https"
        return f"{scheme}://{host}"

    def _credentials(self, registry: str) -> tuple[str, str] | None:
        return self.options.credentials or docker_config_credentials(registry)

    def _send(
        self, request: urllib.request.Request, *, limit: int
    ) -> tuple[int, dict[str, str], bytes]:
        last: Exception | None = None
        for attempt in range(self.options.retries + 1):
            try:
                with self._opener.open(request, timeout=self.options.timeout) as response:
                    body = response.read(limit + 1)
                    if len(body) > limit:
                        raise RegistryError(f"{request.full_url}: response larger than {limit}")
                    return response.status, dict(response.headers.items()), body
            except urllib.error.HTTPError as exc:
                body = exc.read(65536) if exc.fp else b""
                if exc.code >= 500 and attempt < self.options.retries:
                    last = exc
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return exc.code, dict(exc.headers.items()), body
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise RegistryError(
                        f"{request.full_url}: TLS certificate not trusted "
                        f"({reason.verify_message}); pass the registry's CA with --registry-ca"
                    ) from exc
                if attempt < self.options.retries:
                    time.sleep(0.2 * (attempt + 1))
                    continue
        raise RegistryError(f"{request.full_url}: registry unreachable: {_describe(last)}")

    def _token(self, registry: str, challenge: str, scope: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{registry}: bearer challenge without a usable realm")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        request = urllib.request.Request(url)
        creds = self._credentials(registry)
        if creds is not None:
            request.add_header("Authorization", _basic_header(creds))
        status, _, body = self._send(request, limit=1024 * 1024)
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

        def build() -> urllib.request.Request:
            req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
            token = self._tokens.get((registry, scope))
            if token is not None:
                req.add_header("Authorization", f"Bearer {token}")
            elif registry in self._basic:
                creds = self._credentials(registry)
                if creds is not None:
                    req.add_header("Authorization", _basic_header(creds))
            return req

        status, response_headers, body = self._send(build(), limit=limit)
        if status != 401:
            return status, response_headers, body
        challenge = _header(response_headers, "WWW-Authenticate") or ""
        if challenge.lower().startswith("bearer"):
            self._tokens[(registry, scope)] = self._token(registry, challenge, scope)
        elif challenge.lower().startswith("basic"):
            if self._credentials(registry) is None:
                raise RegistryError(
                    f"{registry}: authentication required and no credentials found "
                    "(docker login, or DOCKER_CONFIG)",
                    status=401,
                )
            self._basic.add(registry)
        else:
            raise RegistryError(
                f"{registry}: unauthorized ({challenge or 'no challenge'})", status=401
            )
        status, response_headers, body = self._send(build(), limit=limit)
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
        try:
            media_type = json.loads(body).get("mediaType") or _header(headers, "Content-Type")
        except (ValueError, AttributeError) as exc:
            raise RegistryError(f"{ref}: manifest is not JSON") from exc
        return Manifest(data=body, media_type=str(media_type or ""), digest=digest)

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
        """OCI 1.1 referrers of `digest`; None when the registry has no referrers API."""
        status, _, body = self.request(
            "GET",
            ref.registry,
            f"/v2/{ref.repository}/referrers/{digest}",
            scope=f"repository:{ref.repository}:pull",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        )
        if status in (404, 405):
            return None
        if status != 200:
            raise RegistryError(f"{ref}: referrers API answered {status}")
        try:
            manifests = json.loads(body).get("manifests") or []
        except (ValueError, AttributeError) as exc:
            raise RegistryError(f"{ref}: referrers API answered garbage") from exc
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


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "unknown error"
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
