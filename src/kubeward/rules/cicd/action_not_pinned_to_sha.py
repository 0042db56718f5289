"""action-not-pinned-to-sha: an action or reusable workflow not pinned to a full commit SHA."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.image import parse_image
from kubeward.model.workflow import Uses, Workflow
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._github import GHA_SECURITY
from kubeward.source import Span


@rule(
    id="action-not-pinned-to-sha",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        GHA_SECURITY + "#using-third-party-actions",
        "https://slsa.dev/spec/v1.0/threats#e-compromise-build-process",
    ),
)
def action_not_pinned_to_sha(wf: Workflow) -> Iterator[Finding]:
    """Action or reusable workflow is not pinned to a full commit SHA.

    A tag (`@v4`) or a branch (`@main`) is a pointer the action's owner, or whoever takes over
    their account, can move to new code that then runs with your token and secrets. Only a full
    40-hex commit SHA is immutable. Local actions (`./path`) come from your own repository and
    are exempt; `docker://` actions must name an image digest.

    ## Why it matters
    Moved tags are how tj-actions/changed-files (CVE-2025-30066) leaked the secrets of
    thousands of repositories: every workflow using `@v35` ran the attacker's commit.

    ## Remediation
    Pin the SHA the tag points to and keep the tag as a comment, so Dependabot or Renovate can
    update both:

        - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2

    ## Example
        # bad
        - uses: actions/checkout@v4
        # good
        - uses: ./.github/actions/setup
    """
    uses: list[Uses] = [j.uses for j in wf.jobs if j.uses is not None]
    uses += [s.uses for j in wf.jobs for s in j.steps if s.uses is not None]
    for u in uses:
        if u.span is None or u.kind == "local":
            continue
        if u.kind == "docker":
            yield from _image_not_pinned(u, u.span)
        elif "${{" not in u.text and not _slsa_generator_release(u):
            yield from _ref_not_pinned(u, _ref_span(wf, u, u.span))


def _ref_span(wf: Workflow, u: Uses, span: Span) -> Span:
    """The ref after `@` (the part to change); the whole value when there is none."""
    if not u.ref:
        return span
    raw = wf.file.text[span.start.offset : span.end.offset]
    at = raw.find("@" + u.ref)
    if at < 0:
        return span
    start = span.start.offset + at + 1
    return wf.file.span(start, start + len(u.ref))


def _image_not_pinned(u: Uses, span: Span) -> Iterator[Finding]:
    """A `docker://` action whose image names no digest."""
    ref = parse_image(u.path)
    if ref.templated or ref.digest is not None:
        return
    yield Finding(
        span, f"{u.text} is not pinned to an image digest; use docker://IMAGE@sha256:<digest>"
    )


def _slsa_generator_release(u: Uses) -> bool:
    """slsa-github-generator must be called by release tag (its verifier checks it)."""
    return (
        u.path.startswith(".github/workflows/generator_")
        and u.owner == "slsa-framework"
        and re.fullmatch(r"v\d+\.\d+\.\d+", u.ref or "") is not None
    )


def _ref_not_pinned(u: Uses, span: Span) -> Iterator[Finding]:
    """An action or reusable workflow with no ref, a short SHA or a tag or branch."""
    if u.ref is None:
        yield Finding(span, f"{u.text} names no ref; pin a full commit SHA")
    elif not u.is_sha_pinned:
        what = (
            "a short SHA"
            if re.fullmatch(r"[0-9a-f]{7,39}", u.ref)
            else f"the mutable ref '{u.ref}'"
        )
        yield Finding(
            span,
            f"{u.text} uses {what}; pin a full 40-hex commit SHA (keep '# {u.ref}' as a comment)",
        )
