"""The `dockerfile-secret-in-env` rule: a credential as a literal `ENV` value or `ARG` default."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._secrets import (
    BUILD_SECRETS_DOCS,
    NOT_SECRET_NAME_RE,
    is_literal,
    token_shape,
)

_SECRET_NAME_RE = re.compile(
    r"(?i)(?:passw(?:or)?d|passwd|(?:^|_)pass$|(?:^|_)pwd$|secret|token|api_?key|access_?key|"
    r"private_?key|credential|auth_?key|(?:^|_)auth$|signing_?key|encryption_?key|(?:^|_)key$)"
)


@rule(
    id="dockerfile-secret-in-env",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        BUILD_SECRETS_DOCS,
        "https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/",
    ),
)
def secret_in_env(df: Dockerfile) -> Iterator[Finding]:
    """A credential is written as a literal `ENV` value or `ARG` default.

    Judges both the name (`*_PASSWORD`, `*_TOKEN`, `*_SECRET`, `API_KEY`...) and the value:
    a value shaped like a known credential (AWS key id, GitHub/GitLab/npm/PyPI token, private
    key, JWT, a URL with a password) is flagged whatever its name; a credential-like name is
    flagged only with a literal value (not empty, not `${VAR}`, not a boolean, number, path or
    placeholder). Public values with key-like names (`GPG_KEY`, `*_KEY_ID`, `*_SHA256`,
    `*_FILE`, `*_URL`) are not secrets.

    ## Why it matters
    `ENV` values are stored in the image config and `ARG` values in its build history: anyone
    who can pull the image (or read the Dockerfile) reads the credential, and it lives on in
    every registry and cache the image reaches.

    ## Remediation
    Pass the secret at build time with a secret mount, so it never enters a layer:

        RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci

    and give runtime credentials to the container from a Kubernetes `Secret`, not the image.

    ## Example
        # bad
        ENV DB_PASSWORD=s3cr3t-Pa55
        # good
        RUN --mount=type=secret,id=db_password ./migrate.sh
    """
    items: list[tuple[str, str, str, object]] = []
    for _, p in df.envs():
        items.append(("ENV", p.name, p.value, p.value_span))
    for a in df.args():
        if a.default is not None:
            items.append(("ARG", a.name, a.default, a.value_span or a.span))
    for kind, name, value, span in items:
        label = token_shape(value)
        if label is not None:
            yield Finding(
                span,  # type: ignore[arg-type]
                f"{kind} {name} holds {label}; it is stored in the image for anyone who pulls it",
                severity=Severity.CRITICAL,
            )
            continue
        if not _SECRET_NAME_RE.search(name) or NOT_SECRET_NAME_RE.search(name):
            continue
        if is_literal(value):
            yield Finding(
                span,  # type: ignore[arg-type]
                f"{kind} {name} sets a literal credential; it is stored in the image "
                "(use RUN --mount=type=secret)",
            )
