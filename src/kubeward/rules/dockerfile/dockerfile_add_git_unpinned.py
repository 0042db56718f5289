"""The `dockerfile-add-git-unpinned` rule: ADD clones a git repository at a moving ref."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.model.gitref import is_full_commit
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._add import add_sources, has_checksum, is_git
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY, onbuild_note


@rule(
    id="dockerfile-add-git-unpinned",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://docs.docker.com/reference/dockerfile/#adding-private-git-repositories",
        "https://github.com/moby/buildkit/pull/3979",
    ),
)
def add_git_unpinned(df: Dockerfile) -> Iterator[Finding]:
    """ADD clones a git repository at a branch or tag, not at a commit.

    `ADD https://github.com/org/repo.git#v1.2 /src` clones whatever the ref points to at build
    time. A commit (a 40-hex fragment `#<sha>`, a `?checksum=<sha>`/`?commit=<sha>` query, or
    `--checksum=<sha>`) fixes the content.

    ## Why it matters
    Branches and tags move. Whoever can push to the repository (or rewrite a tag) changes the
    image on the next build, with no change to the Dockerfile (SLSA threat D: use compromised
    dependency).

    ## Remediation
    Pin the commit, keeping the tag for readers:

        ADD https://github.com/moby/buildkit.git?tag=v0.13.2&checksum=<40-hex commit> /src

    or `ADD https://github.com/moby/buildkit.git#8e3f4b1c2a7d9e0f1b2c3d4e5f60718293a4b5c6 /src`.

    ## Example
        # bad
        ADD https://github.com/moby/buildkit.git#v0.13.2 /src
        # good
        ADD https://github.com/moby/buildkit.git#8e3f4b1c2a7d9e0f1b2c3d4e5f60718293a4b5c6 /src
    """
    f = df.file
    for ins, src in add_sources(df):
        if not is_git(src) or has_checksum(ins) or is_templated(src):
            continue
        fragment = src.partition("#")[2].split(":", 1)[0]
        query = dict(
            kv.partition("=")[::2] for kv in src.partition("?")[2].split("#")[0].split("&") if kv
        )
        pins = [fragment, query.get("checksum", ""), query.get("commit", ""), query.get("ref", "")]
        if any(is_full_commit(p) for p in pins):
            continue
        ref = fragment or query.get("tag") or query.get("branch") or query.get("ref") or ""
        at = f"ref {ref}" if ref else "the default branch"
        yield Finding(
            f.find_span(src, first_line=ins.start_line, last_line=ins.end_line),
            onbuild_note(
                ins,
                f"ADD clones {src.split('#')[0].split('?')[0]} at {at}, which can move; "
                "pin a commit",
            ),
        )
