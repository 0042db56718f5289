"""Typosquat detection: image names close to, but not equal to, a well-known image.

The well-known images, their registries and where each list comes from are package data
(`kubeward/data/well_known_images.json`). A reference is suspect when:

- its **registry host** is unknown but one edit, a separator or look-alike characters away from
  a known one (`ghrc.io` for `ghcr.io`);
- on a registry where anyone can create a namespace, its **organisation** is unknown but close
  to a known one (`bitnarni/` for `bitnami/`: `rn` looks like `m`);
- its **name** is not a well-known name but close to one (`ngnix`, `nglnx`, `ngiinx` for
  `nginx`; `kube-controllermanager` for `kube-controller-manager`);
- a well-known name sits under an unknown organisation of a public registry where the real
  image is not published at all (`docker.io/someone/kube-apiserver`).

What is *not* suspect, by measured choice (see tests/test_typosquat.py): a difference in digits
only (`mysql8`, `python3`: versions), one edit on names shorter than five characters (`node`
and `nodes`), a name in a private registry (its owner controls it; a typo there fails to pull),
a Docker Hub `library/` name that is not official (nobody can push there), and, look-alikes
being publisher-aware, a sibling image of the same known publisher that differs from a
well-known one only in a short edition or variant word (`gitlab/gitlab-ee` beside the listed
`gitlab/gitlab-ce`, `portainer/portainer-ee` beside `portainer/portainer-ce`): only that
publisher can push under its namespace, and its editions are real images.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from kubeward.model.image import DOCKER_HUB, ImageRef, parse_image

MIN_EDIT_LEN = 5  # one edit on shorter names is too often another real name
MIN_HOST_EDIT_LEN = 6
MIN_LOCATION_LEN = 6

_SEP_RE = re.compile(r"[-_.]")
_DIGIT_RE = re.compile(r"\d")
_LOOKALIKE_SEQ = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_LOOKALIKE_CHR = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l"})


def _sep_key(s: str) -> str:
    return _SEP_RE.sub("", s.lower())


def _look_key(s: str) -> str:
    out = _sep_key(s)
    for a, b in _LOOKALIKE_SEQ:
        out = out.replace(a, b)
    return out.translate(_LOOKALIKE_CHR)


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a transposition is one edit), capped at `limit`."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) >= limit:
            return limit
        prev2, prev = prev, cur
    return min(prev[len(b)], limit)


def _edit_reason(a: str, b: str) -> str:
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return "two characters swapped"
        return "one character changed"
    return "one character added" if len(a) > len(b) else "one character missing"


@dataclass(frozen=True, slots=True)
class Suspect:
    """Why a reference looks like a typosquat."""

    kind: str  # registry | organisation | name | location
    part: str  # the suspect part as written
    looks_like: str  # the well-known part it imitates
    reason: str
    known: str  # a well-known image (or host) it imitates

    @property
    def message(self) -> str:
        if self.kind == "location":
            return (
                f"'{self.part}' is a well-known image published as {self.known}, "
                f"not under {self.looks_like}"
            )
        what = {"registry": "registry", "organisation": "organisation", "name": "name"}[self.kind]
        return (
            f"{what} '{self.part}' looks like '{self.looks_like}' ({self.reason}), "
            f"as in the well-known {self.known}"
        )


class _Near:
    """Closest match of a string among a set: separators, look-alikes, then one edit."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        self.by_sep: dict[str, str] = {}
        self.by_look: dict[str, str] = {}
        self.by_len: dict[int, list[str]] = defaultdict(list)
        for n in sorted(self.names):
            self.by_sep.setdefault(_sep_key(n), n)
            self.by_look.setdefault(_look_key(n), n)
            self.by_len[len(n)].append(n)

    def find(self, s: str, *, min_len: int) -> tuple[str, str] | None:
        if s in self.names:
            return None
        hit = self.by_sep.get(_sep_key(s))
        if hit is not None and hit != s:
            return hit, "separators differ"
        hit = self.by_look.get(_look_key(s))
        if hit is not None and hit != s and _DIGIT_RE.sub("", hit) != _DIGIT_RE.sub("", s):
            return hit, "look-alike characters"
        if len(s) < min_len:
            return None
        for n in (*self.by_len[len(s) - 1], *self.by_len[len(s)], *self.by_len[len(s) + 1]):
            if len(n) < min_len or _DIGIT_RE.sub("", n) == _DIGIT_RE.sub("", s):
                continue
            if edit_distance(s, n) == 1:
                return n, _edit_reason(s, n)
        return None


class Detector:
    """Judges image names against a list of well-known images."""

    def __init__(
        self,
        known: Iterable[str],
        *,
        hosts: Iterable[str] = (),
        public: Iterable[str] = (DOCKER_HUB,),
        aliases: dict[str, str] | None = None,
        orgs: Iterable[str] = (),
    ) -> None:
        self.aliases = dict(aliases or {})
        self.public = set(public)
        self.known: set[str] = set()
        by_loc: dict[tuple[str, str], set[str]] = defaultdict(set)
        by_host: dict[str, set[str]] = defaultdict(set)
        self.homes: dict[str, list[str]] = defaultdict(list)
        known_orgs: set[str] = set(orgs)
        official: set[str] = set()
        all_hosts = set(hosts)
        for text in known:
            ref = parse_image(text)
            if not ref.is_resolved:
                raise ValueError(f"well-known image {text!r}: {ref.error}")
            self.known.add(ref.name)
            ns, _, base = ref.repository.rpartition("/")
            by_loc[(ref.registry, ns)].add(base)
            by_host[ref.registry].add(ref.repository)
            self.homes[base].append(ref.familiar_name)
            if ns and ns != "library":
                known_orgs.add(ns.split("/")[0])
            if ref.registry == DOCKER_HUB and ns == "library":
                official.add(base)
            all_hosts.add(ref.registry)
        self.orgs = _Near(known_orgs)
        self.official = frozenset(official)
        self.hosts = _Near(all_hosts)
        self.basenames = _Near(self.homes)
        self.by_loc = {loc: _Near(names) for loc, names in by_loc.items()}
        self.by_host = {host: _Near(names) for host, names in by_host.items()}

    def is_known(self, ref: ImageRef) -> bool:
        return self._name(ref) in self.known

    def _name(self, ref: ImageRef) -> str:
        host = ref.registry.lower()
        return f"{self.aliases.get(host, host)}/{ref.repository}"

    def check(self, ref: ImageRef) -> Suspect | None:
        if not ref.is_resolved:
            return None
        host = ref.registry.lower()
        return self._check(self.aliases.get(host, host), ref.repository)

    @lru_cache(maxsize=8192)  # noqa: B019  (one detector per process; names repeat a lot)
    def _check(self, host: str, repository: str) -> Suspect | None:
        if f"{host}/{repository}" in self.known:
            return None
        bare_host = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        if bare_host not in self.hosts.names:
            near = self.hosts.find(bare_host, min_len=MIN_HOST_EDIT_LEN)
            if near is not None:
                return Suspect("registry", bare_host, near[0], near[1], near[0])
            return None  # a private registry: its owner decides what it serves
        ns, _, base = repository.rpartition("/")
        org = ns.split("/")[0] if ns else ""
        public = host in self.public
        if public and org and org != "library" and org not in self.orgs.names:
            near = self.orgs.find(org, min_len=MIN_EDIT_LEN)
            if near is not None:
                same = f"{host}/{near[0]}/{repository.partition('/')[2]}"
                example = (
                    same
                    if same in self.known
                    else next(
                        (k for k in sorted(self.known) if k.split("/")[1] == near[0]), near[0]
                    )
                )
                return Suspect("organisation", org, near[0], near[1], example)
        if not public:  # a registry whose owner publishes only its own images
            paths = self.by_host.get(host)
            near = paths.find(repository, min_len=MIN_EDIT_LEN) if paths is not None else None
            if near is not None:
                return Suspect("name", repository, near[0], near[1], f"{host}/{near[0]}")
            return None
        if base not in self.basenames.names:
            near = self.basenames.find(base, min_len=MIN_EDIT_LEN)
            if near is None:
                return None
            sibling = f"{host}/{ns}/{near[0]}" in self.known
            if sibling and org in self.orgs.names and is_variant(base, near[0]):
                return None  # the publisher's own edition or variant (gitlab-ee, gitlab-ce)
            return Suspect("name", base, near[0], near[1], self.homes[near[0]][0])
        if (
            public
            and org
            and org != "library"
            and org not in self.orgs.names
            and len(base) >= MIN_LOCATION_LEN
            and base not in self.official  # generic names, republished by many publishers
        ):
            homes = self.homes[base]
            if all(_host_of(h) != host for h in homes):
                return Suspect("location", base, f"{host}/{ns}", "", " or ".join(homes[:3]))
        return None


MAX_VARIANT_TOKEN = 3


def is_variant(name: str, known: str) -> bool:
    """Whether two names of one publisher differ only in one short separated word, as its
    editions and variants do (`gitlab-ee`/`gitlab-ce`, `portainer-ee`/`portainer-ce`), not
    in the product's name (`grafna`, `source-controler`)."""
    a, b = _SEP_RE.split(name.lower()), _SEP_RE.split(known.lower())
    if len(a) != len(b) or len(a) < 2:
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and max(len(diff[0][0]), len(diff[0][1])) <= MAX_VARIANT_TOKEN


def _host_of(familiar: str) -> str:
    return parse_image(familiar).registry


@dataclass(frozen=True, slots=True)
class WellKnownGroup:
    source: str
    url: str
    names: tuple[str, ...]


def well_known_groups() -> list[WellKnownGroup]:
    data = _data()
    return [
        WellKnownGroup(g["source"], g["url"], tuple(_qualify(g["registry"], n) for n in g["names"]))
        for g in data["groups"]
    ]


def _qualify(registry: str, name: str) -> str:
    return name if registry == DOCKER_HUB else f"{registry}/{name}"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("kubeward").joinpath("data", "well_known_images.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    data = _data()
    names = [n for g in well_known_groups() for n in g.names]
    return Detector(
        names,
        hosts=data["registry_hosts"]["hosts"],
        public=data["public_registries"]["hosts"],
        aliases=data["host_aliases"],
        orgs=[o["name"] for o in data["organisations"]["entries"]],
    )
