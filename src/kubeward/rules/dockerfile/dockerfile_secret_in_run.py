"""The `dockerfile-secret-in-run` rule: a credential written literally into a `RUN` command."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import RunScript
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._secrets import (
    BUILD_SECRETS_DOCS,
    NOT_SECRET_NAME_RE,
    is_literal,
    token_shape,
)

# In scripts, a bare `key=` or `auth=` is as often a GPG fingerprint or a mode as a secret.
_RUN_SECRET_NAME_RE = re.compile(
    r"(?i)(?:passw(?:or)?d|passwd|secret|token|api_?key|access_?key|private_?key|credential)"
)


def _secret_assignment(text: str) -> str | None:
    name, _, value = text.partition("=")
    if (
        _RUN_SECRET_NAME_RE.search(name)
        and not NOT_SECRET_NAME_RE.search(name)
        and is_literal(value)
    ):
        return name
    return None


@rule(
    id="dockerfile-secret-in-run",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(BUILD_SECRETS_DOCS,),
)
def secret_in_run(script: RunScript) -> Iterator[Finding]:
    """A credential is written literally into a `RUN` command.

    Flags words shaped like a known credential (a GitHub, GitLab, npm or PyPI token, an AWS
    key id, a private key, a JWT, a URL with a password such as
    `git clone https://user:token@host/repo.git`) and `NAME=value` assignments of
    credential-like names (`NPM_TOKEN=...`) with a literal value. References to variables
    (`https://$USER:$TOKEN@host`) are not flagged here.

    ## Why it matters
    The text of every `RUN` is kept in the image history (`docker history --no-trunc`), so the
    credential ships with the image to every registry, cache and node that holds it.

    ## Remediation
    Mount the secret for the one command that needs it:

        RUN --mount=type=secret,id=gh_token,env=GH_TOKEN \\
            git clone https://x-access-token:${GH_TOKEN}@github.com/acme/lib.git /src/lib

    ## Example
        # bad
        RUN NPM_TOKEN=npm_0123456789abcdefghijABCDEFGHIJ012345 npm publish
        # good
        RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm publish
    """
    for cmd in script.commands():
        for w in cmd.env():
            name = _secret_assignment(w.text)
            label = token_shape(w.text)
            if label is not None or name is not None:
                what = label or f"a literal {name}"
                yield Finding(
                    script.word_span(w),
                    script.note(f"RUN sets {what}; the command text is kept in the image history"),
                    severity=Severity.CRITICAL if label else None,
                )
        for w in cmd.argv:
            label = token_shape(w.text)
            if label is not None and not _ASSIGN_LIKE.match(w.text):
                yield Finding(
                    script.word_span(w),
                    script.note(
                        f"RUN passes {label} on the command line; it is kept in the image history"
                    ),
                    severity=Severity.CRITICAL,
                )


_ASSIGN_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
