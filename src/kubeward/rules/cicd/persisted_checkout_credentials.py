"""persisted-checkout-credentials: checkout keeps its token in an uploaded `.git/config`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.workflow import Job, Step
from kubeward.registry import Finding, Layer, Related, Severity, rule

_UPLOADS = ("actions/upload-artifact", "actions/upload-pages-artifact")
_VERSION_RE = re.compile(r"\bv?(\d+)(?:\.(\d+))?(?:\.\d+)?\b")
_BROAD_PATHS = frozenset(
    {
        ".",
        "./",
        "*",
        "**",
        "./*",
        "./**",
        "${{ github.workspace }}",
        "${{github.workspace}}",
        "$GITHUB_WORKSPACE",
        "${GITHUB_WORKSPACE}",
    }
)


def _version(step: Step) -> tuple[int, int] | None:
    """The action's version from its ref (`@v4.4.0`) or the pin comment (`@<sha> # v4.4.0`)."""
    u = step.uses
    if u is None or u.span is None:
        return None
    text = u.ref or ""
    if u.is_sha_pinned:
        line = step.file.line_text(u.span.start.line)
        text = line.split("#", 1)[1] if "#" in line else ""
    m = _VERSION_RE.search(text)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def _leaky_upload(step: Step) -> str | None:
    """Why an upload step may include `.git/config` (None: it cannot)."""
    path = (step.input_str("path") or "").strip()
    lines = [
        ln.strip() for ln in path.splitlines() if ln.strip() and not ln.strip().startswith("!")
    ]
    broad = [ln for ln in lines if ln in _BROAD_PATHS or ".git" in ln.split("/")]
    if not broad:
        return None
    hidden = step.input("include-hidden-files")
    if hidden is not None and hidden.bool is False:
        return None
    if hidden is not None and hidden.bool is True:
        return f"uploads {broad[0]} with include-hidden-files: true"
    v = _version(step)
    if (
        step.uses is not None
        and step.uses.is_action("actions/upload-artifact")
        and v
        and v >= (4, 4)
    ):
        return None  # upload-artifact >= 4.4 leaves hidden files (.git) out by default
    return f"uploads {broad[0]}, hidden files included"


@rule(
    id="persisted-checkout-credentials",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://github.com/actions/checkout#usage",
        "https://unit42.paloaltonetworks.com/github-repo-artifacts-leak-tokens/",
        "https://github.com/actions/upload-artifact#uploading-hidden-files",
    ),
)
def persisted_checkout_credentials(job: Job) -> Iterator[Finding]:
    """Checkout keeps its token in `.git/config` in a job that uploads the checkout.

    `actions/checkout` writes the `GITHUB_TOKEN` into `.git/config` unless
    `persist-credentials: false`. When the job then uploads the workspace (`path: .`, the
    workspace variable, or a path into `.git`) as an artifact with hidden files included,
    anyone who can download the artifacts gets the token ("ArtiPACKED"). Uploads of a build
    output directory, `include-hidden-files: false`, and `actions/upload-artifact` v4.4 or later
    without `include-hidden-files: true` (it leaves hidden files out) are not flagged.

    ## Why it matters
    Artifacts of public repositories are public; a leaked token is valid until the job ends
    and can push to the repository.

    ## Remediation
        - uses: actions/checkout@<sha> # v4
          with:
            persist-credentials: false
    """
    uploads = [
        (s, why)
        for s in job.steps
        if s.uses is not None and s.uses.is_action(*_UPLOADS) and (why := _leaky_upload(s))
    ]
    if not uploads:
        return
    last, why = uploads[-1]
    for s in job.steps:
        if s.uses is None or not s.uses.is_action("actions/checkout") or s.uses.span is None:
            continue
        if s.index > last.index:
            continue
        p = s.input("persist-credentials")
        if p is not None and p.bool is False:
            continue
        related = (
            (Related(last.uses.span, "artifact uploaded here"),)
            if last.uses and last.uses.span
            else ()
        )
        yield Finding(
            s.uses.span,
            f"{s.label} persists the token in .git/config and job {job.id} {why}",
            related=related,
        )
