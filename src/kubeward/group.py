"""One root cause, one result: judged findings merged before they are reported.

Two steps, applied by the engine after judging (so suppressions and the baseline have spoken
on every single finding) and before rendering:

1. **Same root cause.** Findings that one change fixes become one result, the others kept on
   it as related locations (labelled with their rule) and listed in `properties.same_cause`:
   - `image-mutable-tag` and `image-pull-policy-not-always` on an image that
     `image-not-pinned-by-digest` reports at the same place: the digest fixes all three;
   - `slsa-build-level-below-target` on a push that `image-push-without-provenance` reports:
     the missing provenance is what keeps the level down;
   - `rbac-cluster-admin-binding` on a binding to a role that `rbac-wildcard` reports as `*`
     on `*`: the role is the cause, each binding a place it reaches.
2. **Same image.** The image rules' results for one image used many times (test fixtures
   name one image thousands of times) become one result per (rule, image, severity) in each
   scanned root: the first use, with the others as related locations (at most
   `MAX_GROUP_RELATED` listed; the message says how many more).

Every result keeps the findings it stands for in `Result.absorbed`, each with its own
fingerprint: a baseline written after grouping lists them all, and a baseline written before
grouping suppresses each finding before it could be grouped, so both keep suppressing the same
findings.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from kubeward.registry import Finding, Related
from kubeward.results import Result
from kubeward.source import Span

MAX_GROUP_RELATED = 20
"""Other uses of one image listed as related locations of its grouped result."""

DIGEST = "image-not-pinned-by-digest"
FIXED_BY_DIGEST = ("image-mutable-tag", "image-pull-policy-not-always")
PROVENANCE = "image-push-without-provenance"
SLSA_LEVEL = "slsa-build-level-below-target"
WILDCARD = "rbac-wildcard"
ADMIN_BINDING = "rbac-cluster-admin-binding"

IMAGE_RULES = frozenset(
    {
        "image-deprecated-registry",
        "image-mutable-tag",
        "image-not-covered-by-verification-policy",
        "image-not-pinned-by-digest",
        "image-pull-policy-not-always",
        "image-registry-not-allowed",
        "image-typosquat",
        "image-unresolved",
    }
)
"""Rules whose results are grouped per image."""

ImageOf = Callable[[Result], str | None]


def image_of_source(text_of: Callable[[Span], str]) -> ImageOf:
    """The image a result of an image rule is about: its `image` property when the rule sets
    one, else the text at the image's place (the result's own span, or the related location
    labelled "the image" when the result points at a pull-policy line)."""

    def image_of(r: Result) -> str | None:
        prop = r.finding.properties.get("image")
        if isinstance(prop, str):
            return prop
        span = next((x.span for x in r.finding.related if x.label == "the image"), r.span)
        text = text_of(span).strip().strip("\"'")
        return text or None

    return image_of


def group_results(
    results: Sequence[Result], *, image_of: ImageOf, roots: Sequence[str] = ()
) -> list[Result]:
    """The results to report, merged as the module says, in the order given."""
    merged = _same_cause(list(results))
    return _same_image(merged, image_of=image_of, roots=roots)


def all_absorbed(result: Result) -> list[Result]:
    """Every finding a result stands for besides its own, however deeply merged."""
    out: list[Result] = []
    for a in result.absorbed:
        out.append(a)
        out.extend(all_absorbed(a))
    return out


# --- one root cause -----------------------------------------------------------------------------


def _same_cause(results: list[Result]) -> list[Result]:
    by_key: dict[tuple[str, Span], int] = {}
    for i, r in enumerate(results):
        by_key.setdefault((r.rule.id, r.span), i)
    absorbed: dict[int, list[Result]] = defaultdict(list)  # primary index -> merged results
    gone: set[int] = set()

    def into(primary: int, i: int) -> None:
        if primary != i and i not in gone and primary not in gone:
            absorbed[primary].append(results[i])
            gone.add(i)

    wildcards: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        if r.rule.id == WILDCARD and r.finding.properties.get("star_on_star") is True:
            wildcards[r.span.path].append(i)
    for i, r in enumerate(results):
        rid = r.rule.id
        if rid in FIXED_BY_DIGEST:
            spans = (r.span, *(x.span for x in r.finding.related))
            target = next((by_key[(DIGEST, s)] for s in spans if (DIGEST, s) in by_key), None)
            if target is not None:
                into(target, i)
        elif rid == SLSA_LEVEL and (PROVENANCE, r.span) in by_key:
            into(by_key[(PROVENANCE, r.span)], i)
        elif rid == ADMIN_BINDING:
            for rel in r.finding.related:
                role = next(
                    (w for w in wildcards.get(rel.span.path, ()) if _inside(results[w], rel)),
                    None,
                )
                if role is not None:
                    into(role, i)
                    break
    out = []
    for i, r in enumerate(results):
        if i in gone:
            continue
        more = absorbed.get(i)
        out.append(_merge_cause(r, more) if more else r)
    return out


def _inside(wildcard: Result, rel: Related) -> bool:
    """Whether a binding's related location "ROLE is defined here" is the wildcard's role."""
    role = wildcard.finding.properties.get("role")
    return (
        isinstance(role, str)
        and rel.label == f"{role} is defined here"
        and rel.span.start.offset <= wildcard.span.start.offset
    )


def _merge_cause(primary: Result, more: list[Result]) -> Result:
    notes = tuple(Related(m.span, f"{m.rule.id}: {m.message}") for m in more)
    seen = {x.span for x in primary.finding.related}
    extra = tuple(
        x for m in more for x in m.finding.related if x.span not in seen and x.span != primary.span
    )
    also = list(dict.fromkeys(m.rule.id for m in more))
    props = {**primary.finding.properties, "same_cause": also}
    finding = dataclasses.replace(
        primary.finding,
        message=f"{primary.message} (the same fix clears {', '.join(also)})",
        related=(*primary.finding.related, *notes, *_unique(extra)),
        properties=props,
    )
    severity = max((primary.severity, *(m.severity for m in more)), key=lambda s: s.rank)
    return dataclasses.replace(
        primary, finding=finding, severity=severity, absorbed=(*primary.absorbed, *more)
    )


def _unique(related: Iterable[Related]) -> tuple[Related, ...]:
    out: dict[Span, Related] = {}
    for x in related:
        out.setdefault(x.span, x)
    return tuple(out.values())


# --- one image used many times --------------------------------------------------------------


def _root_of(path: str, roots: Sequence[str]) -> str:
    best = ""
    for root in roots:
        r = root.rstrip("/")
        if (path == r or path.startswith(r + "/") or r in ("", ".")) and len(r) >= len(best):
            best = r
    return best


def _same_image(results: list[Result], *, image_of: ImageOf, roots: Sequence[str]) -> list[Result]:
    groups: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        if r.rule.id not in IMAGE_RULES:
            continue
        image = image_of(r)
        if image:
            key = (r.rule.id, image, r.severity.value, _root_of(r.span.path, roots))
            groups[key].append(i)
    replaced: dict[int, Result] = {}
    gone: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        first, rest = members[0], [results[i] for i in members[1:]]
        replaced[first] = _merge_uses(results[first], rest)
        gone.update(members[1:])
    return [replaced.get(i, r) for i, r in enumerate(results) if i not in gone]


def _merge_uses(primary: Result, rest: list[Result]) -> Result:
    listed = rest[:MAX_GROUP_RELATED]
    not_listed = len(rest) - len(listed)
    uses = tuple(Related(m.span, "another use of this image") for m in listed)
    n = len(rest)
    tail = f"{n} other use{'s' if n != 1 else ''} of this image"
    tail += f" ({len(listed)} listed, {not_listed} more not listed)" if not_listed else " listed"
    props = {
        **primary.finding.properties,
        "other_uses": n,
        "other_uses_not_listed": not_listed,
    }
    finding: Finding = dataclasses.replace(
        primary.finding,
        message=f"{primary.message}; {tail}",
        related=(*primary.finding.related, *uses),
        properties=props,
    )
    return dataclasses.replace(primary, finding=finding, absorbed=(*primary.absorbed, *rest))
