"""Secrets baked into images: credentials in ENV/ARG, key material copied into a layer."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile, RunScript
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._common import onbuild_note, onbuild_of

_BUILD_SECRETS = "https://docs.docker.com/build/building/secrets/"

# Values whose shape alone says "credential", whatever the variable is called.
_TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "a GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    ),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
    (
        "a URL with a password",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]+@[^\s]+", re.I),
    ),
)
_SECRET_NAME_RE = re.compile(
    r"(?i)(?:passw(?:or)?d|passwd|(?:^|_)pass$|(?:^|_)pwd$|secret|token|api_?key|access_?key|"
    r"private_?key|credential|auth_?key|(?:^|_)auth$|signing_?key|encryption_?key|(?:^|_)key$)"
)
# Names that hold public or non-secret values despite the words above.
_NOT_SECRET_NAME_RE = re.compile(
    r"(?i)(?:gpg_?keys?|pgp_?keys?|_key_?id$|fingerprint|public_?key|pub_?key|keyring|keyserver|"
    r"_(?:file|path|dir|url|uri|endpoint|host|port|version|sha\d*|checksum|hash|length|size|"
    r"type|mode|method|enabled|name|user|username|header|prefix|ttl|expiry|expires)$)"
)
_PLACEHOLDER_RE = re.compile(
    r"(?i)^(?:|true|false|yes|no|on|off|none|null|nil|undefined|\d+|[x*.<>_-]+|<[^>]*>|"
    r"changeme_in_runtime|dummy|example|placeholder|your[_-].*|todo|tbd|-)$"
)


def _shape(value: str) -> str | None:
    for label, pattern in _TOKEN_SHAPES:
        if pattern.search(value):
            return label
    return None


def _literal(value: str) -> bool:
    v = value.strip()
    return (
        bool(v) and not is_templated(v) and not _PLACEHOLDER_RE.match(v) and not v.startswith("/")
    )


@rule(
    id="dockerfile-secret-in-env",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        _BUILD_SECRETS,
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
        label = _shape(value)
        if label is not None:
            yield Finding(
                span,  # type: ignore[arg-type]
                f"{kind} {name} holds {label}; it is stored in the image for anyone who pulls it",
                severity=Severity.CRITICAL,
            )
            continue
        if not _SECRET_NAME_RE.search(name) or _NOT_SECRET_NAME_RE.search(name):
            continue
        if _literal(value):
            yield Finding(
                span,  # type: ignore[arg-type]
                f"{kind} {name} sets a literal credential; it is stored in the image "
                "(use RUN --mount=type=secret)",
            )


# In scripts, a bare `key=` or `auth=` is as often a GPG fingerprint or a mode as a secret.
_RUN_SECRET_NAME_RE = re.compile(
    r"(?i)(?:passw(?:or)?d|passwd|secret|token|api_?key|access_?key|private_?key|credential)"
)


def _secret_assignment(text: str) -> str | None:
    name, _, value = text.partition("=")
    if (
        _RUN_SECRET_NAME_RE.search(name)
        and not _NOT_SECRET_NAME_RE.search(name)
        and _literal(value)
    ):
        return name
    return None


@rule(
    id="dockerfile-secret-in-run",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(_BUILD_SECRETS,),
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
            label = _shape(w.text)
            if label is not None or name is not None:
                what = label or f"a literal {name}"
                yield Finding(
                    script.word_span(w),
                    script.note(f"RUN sets {what}; the command text is kept in the image history"),
                    severity=Severity.CRITICAL if label else None,
                )
        for w in cmd.argv:
            label = _shape(w.text)
            if label is not None and not _ASSIGN_LIKE.match(w.text):
                yield Finding(
                    script.word_span(w),
                    script.note(
                        f"RUN passes {label} on the command line; it is kept in the image history"
                    ),
                    severity=Severity.CRITICAL,
                )


_ASSIGN_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

_KEY_NAME_RE = re.compile(
    r"(?i)^(?:id_(?:rsa|dsa|ecdsa|ed25519)|cosign\.key|\.dockerconfigjson|\.npmrc|\.pypirc|"
    r"\.netrc|\.git-credentials|kubeconfig|.*\.kubeconfig|.*\.pem|.*\.key|.*\.p12|.*\.pfx|"
    r".*\.jks|.*\.keystore|credentials\.json|service[-_]account.*\.json)$"
)
_PUBLIC_RE = re.compile(
    r"(?i)(?:^|[._-])(?:ca|cacert|cert|certs|certificate|chain|fullchain|bundle|pub|public)(?:[._-]|$)"
)
_DIR_KEY_RE = re.compile(r"(?i)(?:^|/)\.(?:ssh|aws|docker|kube|gnupg)(?:/|$)")


def _key_material(src: str) -> str | None:
    base = src.rstrip("/").rsplit("/", 1)[-1]
    if _DIR_KEY_RE.search(src):
        return "a credentials directory"
    if not _KEY_NAME_RE.match(base) or base.endswith(".pub"):
        return None
    if base.lower().endswith((".pem", ".key")) and _PUBLIC_RE.search(base.rsplit(".", 1)[0]):
        return None
    return "key material"


@rule(
    id="dockerfile-copies-key-material",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(_BUILD_SECRETS,),
)
def copies_key_material(df: Dockerfile) -> Iterator[Finding]:
    """COPY or ADD puts key material or a credentials file into an image layer.

    Flags sources named like private keys and credential files: `*.pem`, `*.key`,
    `id_rsa`/`id_ed25519`, `cosign.key`, `.dockerconfigjson`, `.npmrc`, `.pypirc`, `.netrc`,
    `kubeconfig`, `*.p12`/`*.pfx`, and the `.ssh`, `.aws`, `.docker`, `.kube` and `.gnupg`
    folders. Certificates and public keys (`ca.pem`, `tls-cert.pem`, `*.pub`) are not flagged.

    ## Why it matters
    A layer is forever: deleting the file in a later instruction does not remove it from the
    image, and every registry, cache and node that holds the image holds the key.

    ## Remediation
    Mount the secret for the one instruction that needs it:

        RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci

    ## Example
        # bad
        COPY .npmrc /root/.npmrc
        # good
        RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
    """
    f = df.file
    for _, ins in df.instructions():
        cmd = onbuild_of(ins) or ins.cmd
        if cmd not in ("COPY", "ADD") or len(ins.value) < 2:
            continue
        for src in ins.value[:-1]:
            what = _key_material(src)
            if what is None or "://" in src:
                continue
            yield Finding(
                f.find_span(src, first_line=ins.start_line, last_line=ins.end_line),
                onbuild_note(
                    ins,
                    f"{cmd} {src} bakes {what} into an image layer; use RUN --mount=type=secret",
                ),
            )
