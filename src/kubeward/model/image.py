"""Image references, following the `distribution/reference` grammar.

    reference   := name [ ":" tag ] [ "@" digest ]
    name        := [domain '/'] remote-name
    domain      := host [':' port-number]
    tag         := /[\\w][\\w.-]{0,127}/
    digest      := algorithm ":" hex   (sha256: 64 lowercase hex; sha512: 128)

Normalisation follows `ParseNormalizedNamed`: a first path component is a registry host when
it holds a `.` or a `:`, is `localhost`, or has upper-case letters; otherwise the image is on
Docker Hub (`docker.io`), and a single-component Hub name gets `library/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubeward.parse.yamlnode import is_templated

DOCKER_HUB = "docker.io"
_LEGACY_HUB = {"index.docker.io", "registry-1.docker.io"}

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN_RE = re.compile(rf"^{_HOST}(?::[0-9]+)?$")
_REMOTE_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z][a-z0-9]*(?:[+._-][a-z][a-z0-9]*)*:[0-9a-fA-F]{32,}$")
# Registered algorithms and their exact encodings (opencontainers/go-digest).
_REGISTERED = {
    "sha256": re.compile(r"^[a-f0-9]{64}$"),
    "sha384": re.compile(r"^[a-f0-9]{96}$"),
    "sha512": re.compile(r"^[a-f0-9]{128}$"),
}
NAME_TOTAL_LENGTH_MAX = 255


def is_valid_digest(digest: str) -> bool:
    """`sha256:` + 64 lowercase hex (or another registered algorithm's exact form)."""
    if not _DIGEST_RE.match(digest):
        return False
    algo, _, hexpart = digest.partition(":")
    check = _REGISTERED.get(algo)
    return bool(check.match(hexpart)) if check else False


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference: the one type the scan, `kubeward verify` and its registry
    client share (`kubeward.verify.ImageRef` is this class).

    `error` is set (and the other fields best-effort) when the text is not a valid reference;
    `templated` when it holds a template expression, whose value no static rule can know.
    Built from its parts (`ImageRef("ghcr.io", "acme/api", "1.2")`), `text` is the canonical
    form.
    """

    registry: str = DOCKER_HUB
    repository: str = ""
    tag: str | None = None
    digest: str | None = None
    text: str = ""
    """The reference as written."""
    templated: bool = False
    error: str | None = None

    def __post_init__(self) -> None:
        if not self.text and self.repository and self.error is None and not self.templated:
            object.__setattr__(self, "text", self.canonical)

    def __str__(self) -> str:
        return self.canonical

    @property
    def is_resolved(self) -> bool:
        """A literal, valid reference that rules can judge."""
        return not self.templated and self.error is None

    @property
    def is_pinned(self) -> bool:
        """Pinned by content digest (`tag@digest` counts)."""
        return self.digest is not None

    @property
    def name(self) -> str:
        """Fully qualified name without tag or digest: `docker.io/library/nginx`."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar_name(self) -> str:
        """The short form people write: `nginx`, `bitnami/redis`, `ghcr.io/x/y`."""
        if self.registry == DOCKER_HUB:
            repo = self.repository
            return repo[len("library/") :] if repo.startswith("library/") else repo
        return self.name

    @property
    def uses_latest(self) -> bool:
        """`:latest`, or no tag and no digest (which pulls `latest`)."""
        return self.tag == "latest" or (self.tag is None and self.digest is None)

    @property
    def canonical(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def reference(self) -> str:
        """The tag or digest to ask a registry for (the digest when both are given)."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> ImageRef:
        """The same name and tag, pinned to `digest`."""
        return ImageRef(self.registry, self.repository, self.tag, digest)


def parse_image(text: str) -> ImageRef:
    """Parse an image reference; never raises."""
    raw = text.strip()
    if not raw:
        return ImageRef(text=text, error="empty image reference")
    if is_templated(raw):
        return ImageRef(text=text, templated=True)
    rest = raw
    digest: str | None = None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not is_valid_digest(digest):
            return _bad(text, rest, f"'@{digest}' is not a valid content digest")
    tag: str | None = None
    # A ':' after the last '/' separates the tag (a ':' before it belongs to host:port).
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            return _bad(text, rest, f"invalid tag {tag!r}")
    if len(rest) > NAME_TOTAL_LENGTH_MAX:
        return _bad(text, rest, f"name longer than {NAME_TOTAL_LENGTH_MAX} characters")
    registry, repository = split_domain(rest)
    if not _DOMAIN_RE.match(registry):
        return _bad(text, rest, f"invalid registry host {registry!r}")
    if not _REMOTE_RE.match(repository):
        return _bad(text, rest, f"invalid repository name {repository!r}")
    return ImageRef(text=text, registry=registry, repository=repository, tag=tag, digest=digest)


def split_domain(name: str) -> tuple[str, str]:
    """Split a name into (registry, repository) the way Docker normalises it."""
    first, sep, remainder = name.partition("/")
    if not sep or (
        "." not in first and ":" not in first and first != "localhost" and first.lower() == first
    ):
        registry, repository = DOCKER_HUB, name
    else:
        registry, repository = first, remainder
    if registry in _LEGACY_HUB:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def _bad(text: str, name: str, reason: str) -> ImageRef:
    registry, repository = split_domain(name) if name else (DOCKER_HUB, "")
    return ImageRef(text=text, registry=registry, repository=repository, error=reason)
