"""Which edits pin what: images through a registry, actions from a lock map."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward import safe_read
from kubeward.engine import ScanOptions, scan
from kubeward.fix._edits import Edit, FileText
from kubeward.fix._errors import FixError
from kubeward.group import all_absorbed
from kubeward.load import DEFAULT_MAX_FILE_SIZE
from kubeward.render import RenderOptions
from kubeward.results import Report, Result

IMAGE_RULE = "image-not-pinned-by-digest"
ACTION_RULE = "action-not-pinned-to-sha"
_SHA = re.compile(r"[0-9a-f]{40}")
_MAX_SIZE = DEFAULT_MAX_FILE_SIZE
# A plain image reference as written in YAML or a Dockerfile: no template, quote or space.
_PLAIN_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
# `owner/repo[/path]@` right before the ref span of a `uses:` value.
_USES_HEAD = re.compile(r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(/[^\s@'\"]*)?@$")


@dataclass(frozen=True, slots=True)
class Pin:
    """What an action ref is pinned to: the commit, and the comment that names it."""

    sha: str
    version: str | None = None


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be fixed, one line each
    files: dict[str, FileText] = field(default_factory=dict)
    report: Report | None = None  # the scan the edits come from
    # The edits of each reported result (by fingerprint), its own and those of the findings
    # it stands for (kubeward.group): a SARIF result's `fixes`.
    by_result: dict[str, list[Edit]] = field(default_factory=dict)


# Resolves an image reference (as written) to the digest to pin; raises `FixError`.
Resolver = Callable[[str], str]


def plan(
    paths: Sequence[Path],
    *,
    resolve: Resolver | None,
    actions: Mapping[str, Pin] | None,
) -> Plan:
    """The edits for the findings of a scan of `paths` (images when `resolve` is given,
    actions when `actions` is)."""
    rules = ([IMAGE_RULE] if resolve is not None else []) + (
        [ACTION_RULE] if actions is not None else []
    )
    out = Plan()
    if not rules:
        return out
    # Helm charts as text: a template is not the place to pin (values are; not done here).
    report = scan(paths, ScanOptions(only_rules=rules, jobs=1, render=RenderOptions(False)))
    out.report = report
    owner = {id(x): r.fingerprint for r in report.results for x in (r, *all_absorbed(r))}
    results = [x for r in report.results for x in (r, *all_absorbed(r))]
    done: set[tuple[str, int]] = set()
    for r in sorted(results, key=Result.sort_key):
        s = r.span
        if (s.path, s.start.offset) in done or s.start.offset < 0:
            continue
        done.add((s.path, s.start.offset))
        ft = out.files.get(s.path)
        if ft is None:
            root = next((str(p) for p in paths if safe_read.inside(s.path, str(p))), None)
            try:
                if root is None:
                    raise safe_read.ReadRefused("outside the paths given")
                ft = out.files[s.path] = FileText.read(s.path, root=root, max_size=_MAX_SIZE)
            except safe_read.ReadRefused as e:
                out.notes.append(f"{s.path}: not read: {e}")
                continue
        where = f"{s.path}:{s.start.line}:{s.start.col}"
        try:
            if r.rule.id == IMAGE_RULE and resolve is not None:
                edits = _pin_image(ft, r, resolve)
            elif r.rule.id == ACTION_RULE and actions is not None:
                edits = _pin_action(ft, r, actions)
            else:
                continue
        except FixError as e:
            out.notes.append(f"{where}: {e}")
            continue
        out.edits += edits
        out.by_result.setdefault(owner[id(r)], []).extend(edits)
    return out


def _pin_image(ft: FileText, r: Result, resolve: Resolver) -> list[Edit]:
    s = r.span
    start, end = s.start.offset, s.end.offset
    raw = ft.text[start:end]
    if len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]:
        start, end, raw = start + 1, end - 1, raw[1:-1]
    if not _PLAIN_IMAGE.fullmatch(raw):
        raise FixError(
            "not a plain image reference here (a template, Helm values or a Kustomize "
            "images: entry); left alone"
        )
    if "@" in raw:
        raise FixError(f"{raw} has an '@' that is not a digest; left alone")
    # The finding names the reference it judged (`REF in WHERE ...`): the span must hold it
    # whole, not a part that decides it (a Kustomize `newTag:`, a Helm values map's `tag:`).
    if not r.message.startswith(f"{raw} in "):
        raise FixError(
            f"the image here is decided by more than this text ({raw!r}: a Kustomize images: "
            "entry or a Helm values map); left alone"
        )
    digest = resolve(raw)
    return [Edit(ft.path, start, end, raw, f"{raw}@{digest}")]


def _pin_action(ft: FileText, r: Result, actions: Mapping[str, Pin]) -> list[Edit]:
    s = r.span
    text = ft.text
    start, end = s.start.offset, s.end.offset
    line_start = text.rfind("\n", 0, start) + 1
    head = _USES_HEAD.search(text, line_start, start)
    if head is None or head.end() != start:
        raise FixError("not an owner/repo@ref reference (a docker:// action, or no ref)")
    ref = text[start:end]
    key = f"{head[1]}/{head[2]}@{ref}".lower()
    pin = actions.get(key)
    if pin is None:
        raise FixError(f"{head[1]}/{head[2]}@{ref} is not in the actions lock; left alone")
    after = end + 1 if text[end : end + 1] in ("'", '"') else end  # after a closing quote
    nxt = text[after : after + 1]
    if nxt not in ("", "\n", "\r", " ", "\t"):
        raise FixError(f"unexpected text after {ref!r}; left alone")
    return [
        Edit(ft.path, start, end, ref, pin.sha),
        Edit(ft.path, after, after, "", f" # {pin.version or ref}"),
    ]


def load_actions_lock(data: object, source: str) -> dict[str, Pin]:
    """A lock map: `owner/repo@ref` to a 40-hex SHA, or to `{sha: ..., version: vX.Y.Z}`."""
    if not isinstance(data, dict):
        raise FixError(f"{source}: the actions lock must be a mapping of owner/repo@ref to a SHA")
    out: dict[str, Pin] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            sha, version = value.get("sha"), value.get("version")
        else:
            sha, version = value, None
        if not isinstance(key, str) or not re.fullmatch(r"[^/@\s]+/[^/@\s]+@\S+", key):
            raise FixError(f"{source}: {key!r} is not owner/repo@ref")
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise FixError(f"{source}: {key}: {sha!r} is not a full 40-hex commit SHA")
        if version is not None and (not isinstance(version, str) or not version.strip()):
            raise FixError(f"{source}: {key}: version must be a non-empty string")
        if version is not None and re.search(r"[\r\n#]", version):
            raise FixError(f"{source}: {key}: version {version!r} cannot be a YAML comment")
        out[key.lower()] = Pin(sha, version)
    return out
