"""gitlab-include-not-pinned: GitLab CI includes that can change under the pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.gitlab import GitlabInclude
from kubeward.registry import Finding, Layer, Severity, rule

_SHA = re.compile(r"^[0-9a-f]{40}$")


@rule(
    id="gitlab-include-not-pinned",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://docs.gitlab.com/ci/yaml/#include",
        "https://docs.gitlab.com/ci/yaml/#includeintegrity",
    ),
    cross_file=True,
)
def gitlab_include_not_pinned(inc: GitlabInclude) -> Iterator[Finding]:
    """GitLab `include:` of another project, a component or a remote URL is not pinned.

    An included file becomes part of the pipeline. `project:` without `ref:` follows the other
    project's default branch, a branch or tag `ref:` follows whatever is pushed there, a
    `component:` at a version or `~latest` moves with releases, and a `remote:` URL serves
    whatever its host returns. Only a full commit SHA (or, for `remote:`, an `integrity:`
    hash) fixes the content. `local:` and GitLab's own `template:` includes are exempt.

    ## Why it matters
    Whoever can push to the included project, or control the remote host, runs code in your
    pipeline with its CI/CD variables and deploy credentials.

    ## Remediation
    Pin the commit:

        include:
          - project: acme/ci-templates
            ref: 4f1c9a7d2b3e5f60718293a4b5c6d7e8f9012345  # v2.3.0
            file: /build.yml
          - remote: https://example.com/ci.yml
            integrity: sha256-<base64 hash>
    """
    node = inc.node
    if inc.kind == "project":
        ref = node.get("ref")
        target = node.get_str("project") or "?"
        if ref is None:
            p = node.get("project")
            yield Finding(
                (p or node).span,
                f"include of project {target} has no ref: it follows the default branch",
            )
        elif not _SHA.match((ref.text or "").strip()) and "$" not in (ref.text or ""):
            yield Finding(
                ref.span,
                f"include of project {target} at ref {ref.text} is mutable; pin a commit SHA",
            )
    elif inc.kind == "remote":
        if node.is_map and node.get("integrity") is not None:
            return
        span = node.span if node.is_scalar else (node.get("remote") or node).span
        url = node.text if node.is_scalar else node.get_str("remote")
        yield Finding(span, f"remote include {url} is not pinned (no integrity: hash)")
    elif inc.kind == "component":
        c = node.get("component")
        text = (c.text if c is not None else "") or ""
        _, _, version = text.rpartition("@")
        if c is not None and not _SHA.match(version) and "$" not in text:
            yield Finding(c.span, f"component {text} is not pinned to a commit SHA")
