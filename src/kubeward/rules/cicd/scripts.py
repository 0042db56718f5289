"""Shell scripts of both CI systems (GitHub `run:`, GitLab `script:` lines): what they fetch and
run, and GitLab variables that reach a second parse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.gitlab import jobs_in, looks_like_gitlab
from kubeward.model.workflow import Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Severity, instances_in, provider, rule
from kubeward.rules.dockerfile.package_trust import tls_env_note
from kubeward.source import SourceFile, Span


@dataclass(frozen=True, slots=True)
class ShellScript:
    """One script scalar: a GitHub step's `run:` or a GitLab script line."""

    file: SourceFile
    node: YNode
    system: str  # github | gitlab
    where: str

    @property
    def text(self) -> str:
        return self.node.text or ""

    def span_of(self, start: int, end: int) -> Span:
        """The span of `text[start:end]`, found in the raw scalar (block scalars are indented)."""
        needle = self.text[start:end].split("\n", 1)[0]
        raw = self.file.text[self.node.start.offset : self.node.end.offset]
        i = raw.find(needle) if needle else -1
        if i < 0:
            return self.node.span
        base = self.node.start.offset + i
        return self.file.span(base, base + len(needle))


@provider(ShellScript)
def shell_scripts(f: SourceFile) -> Iterator[ShellScript]:
    for wf in instances_in(f, Workflow):
        for job in wf.jobs:
            for s in job.steps:
                if s.run is not None and s.run.is_scalar:
                    yield ShellScript(f, s.run, "github", f"{s.label} of job {job.id}")
    if looks_like_gitlab(f):
        for j in jobs_in(f, f.rel):
            for line in j.script_lines():
                yield ShellScript(f, line, "gitlab", f"job {j.name}")


_PIPE_SHELL = re.compile(
    r"\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da)?sh\b"
    r"|\b(?:ba)?sh\s+(?:-c\s+)?[\"']?\$\((?:curl|wget)\b"
    r"|\b(?:ba)?sh\s+<\(\s*(?:curl|wget)\b"
    r"|\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(?:python3?|perl|ruby|node)\b(?!\s+-m\s+json)"
)


@rule(
    id="curl-pipe-shell",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=("https://slsa.dev/spec/v1.0/threats",),
)
def curl_pipe_shell(script: ShellScript) -> Iterator[Finding]:
    """A script downloaded in the pipeline is piped straight into a shell or interpreter.

    `curl https://... | sh` runs whatever the server returns at that moment, unpinned and
    unverified, with the job's token and secrets. A compromised host, CDN or DNS record, or a
    hijacked domain, changes the pipeline without a commit.

    ## Why it matters
    Codecov's bash uploader (2021) was altered on its server and exfiltrated CI secrets of
    every pipeline that piped it into bash.

    ## Remediation
    Download a pinned version, check its checksum (or signature), then run it:

        curl -fsSLo install.sh https://example.com/install-1.2.3.sh
        echo "<sha256>  install.sh" | sha256sum -c -
        sh install.sh
    """
    text = script.text
    for m in _PIPE_SHELL.finditer(text):
        line_end = text.find("\n", m.start())
        url = _URL.search(text, m.start(), line_end if line_end >= 0 else len(text))
        what = url.group(0).rstrip(")\"'") if url else "a downloaded script"
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"{what} is downloaded and run by an interpreter unchecked in {script.where}",
        )


_URL = re.compile(r"https?://[^\s\"'|;)]+")


_EXTRA_INDEX = re.compile(r"(?:--extra-index-url|PIP_EXTRA_INDEX_URL=)")


@rule(
    id="pip-extra-index-url",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://github.com/pypa/pip/issues/8606",
    ),
)
def pip_extra_index_url(script: ShellScript) -> Iterator[Finding]:
    """`pip --extra-index-url` mixes a private index with PyPI (dependency confusion).

    With `--extra-index-url` pip looks for every package on both indexes and takes the highest
    version from either. Anyone can publish a higher-versioned package of your private name on
    PyPI and it wins.

    ## Why it matters
    Dependency confusion (Birsan, 2021) reached Apple, Microsoft and PayPal build systems this
    way; the PyTorch nightly compromise of December 2022 (`torchtriton`) used exactly this pip
    behaviour.

    ## Remediation
    Use a single index that proxies PyPI and serves your private names first, or pin
    hashes so a substitute cannot install:

        pip install --index-url https://pypi.internal.example/simple \\
            --require-hashes -r requirements.txt
    """
    for m in _EXTRA_INDEX.finditer(script.text):
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"--extra-index-url in {script.where} lets PyPI shadow private packages",
        )


# GitLab variables whoever pushes a branch or opens a merge request chooses.
GITLAB_ATTACKER_VARS = (
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_TAG",
    "CI_COMMIT_TAG_MESSAGE",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
    "CI_COMMIT_AUTHOR",
    "GITLAB_USER_NAME",
    "CI_MERGE_REQUEST_LABELS",
    "CI_MERGE_REQUEST_MILESTONE",
)
_VAR_RE = re.compile(r"\$\{?(" + "|".join(GITLAB_ATTACKER_VARS) + r")\b\}?")
# Commands that parse their string argument again as code.
_REPARSE = re.compile(
    r"\beval\b|\b(?:ba|z|da)?sh\s+-c\b|\b(?:python3?|perl|ruby)\s+-[ce]\b|\bnode\s+-e\b|\bssh\b"
)


@rule(
    id="gitlab-script-injection",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=("https://docs.gitlab.com/ci/variables/predefined_variables/",),
)
def gitlab_script_injection(script: ShellScript) -> Iterator[Finding]:
    """Merge-request or commit text reaches a command that parses it again as code.

    GitLab passes `$CI_MERGE_REQUEST_TITLE`, `$CI_COMMIT_MESSAGE`, `$CI_COMMIT_BRANCH` and
    friends to the shell as environment variables, which is safe when quoted
    (`"$CI_COMMIT_MESSAGE"`).
    It turns into code injection when the value is handed to something that parses it again:
    `eval`, `sh -c "...$VAR..."`, `python -c`, `node -e`, or a remote `ssh` command line.
    Plain uses are not flagged.

    ## Why it matters
    Whoever opens a merge request or pushes a branch chooses these values; the job runs with
    its CI/CD variables and the job token.

    ## Remediation
    Keep the value data: pass it as an argument or through the environment of the inner
    program, never inside code text:

        python -c 'import os; print(os.environ["CI_COMMIT_MESSAGE"])'
    """
    if script.system != "gitlab":
        return
    text = script.text
    if not _REPARSE.search(text):
        return
    for m in _VAR_RE.finditer(text):
        # Single-quoted for an inner program that reads the environment is fine.
        before = text[: m.start()]
        if before.count("'") % 2 == 1 and "eval" not in before:
            continue
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"${m.group(1)} is parsed again as code in {script.where}",
        )


@dataclass(frozen=True, slots=True)
class CiVariable:
    """One `env:` (GitHub workflow, job, step) or `variables:` (GitLab top level, job) entry."""

    file: SourceFile
    key: YNode
    value: YNode
    where: str

    @property
    def name(self) -> str:
        return str(self.key.value)


def _entries(f: SourceFile, block: YNode | None, where: str) -> Iterator[CiVariable]:
    if block is None or not block.is_map:
        return
    for k, v in block.items():
        if v.is_map:  # GitLab `VAR: {value: x, description: ...}`
            v = v.get("value") or v
        if k.is_scalar and v.is_scalar:
            yield CiVariable(f, k, v, where)


@provider(CiVariable)
def ci_variables(f: SourceFile) -> Iterator[CiVariable]:
    for wf in instances_in(f, Workflow):
        yield from _entries(f, wf.env, "the workflow env:")
        for job in wf.jobs:
            yield from _entries(f, job.env, f"env: of job {job.id}")
            for s in job.steps:
                yield from _entries(f, s.env, f"env: of {s.label} of job {job.id}")
    if looks_like_gitlab(f):
        for doc in f.documents:
            if doc.is_map:
                yield from _entries(f, doc.get("variables"), "the pipeline variables:")
        for j in jobs_in(f, f.rel):
            if j.name != "<top level>":
                yield from _entries(f, j.node.get("variables"), f"variables: of job {j.name}")


@rule(
    id="pip-index-env",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://pip.pypa.io/en/stable/topics/configuration/#environment-variables",
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://pip.pypa.io/en/stable/cli/pip/#cmdoption-trusted-host",
    ),
)
def pip_index_env(var: CiVariable) -> Iterator[Finding]:
    """pip is configured through the environment to mix indexes or to skip TLS checks.

    pip reads every option from a `PIP_<OPTION>` environment variable, so `env:` or
    `variables:` reach every `pip install` of the job, including those of build tools and
    scripts. `PIP_EXTRA_INDEX_URL` mixes a private index with PyPI (pip takes the highest
    version from either: dependency confusion); `PIP_TRUSTED_HOST` turns off TLS certificate
    checks (and allows plain HTTP) for the named hosts, so anyone on the network path can serve
    packages. An empty value is not flagged (nor a lower-case name: pip reads `PIP_` only).

    ## Why it matters
    Both let someone other than the package's owner decide what is installed in the
    pipeline, with its secrets and the image it builds.

    ## Remediation
    Use a single index that serves private names first and proxies PyPI, over verified TLS
    (trust a private CA with `PIP_CERT`, not `PIP_TRUSTED_HOST`):

        env:
          PIP_INDEX_URL: https://pypi.internal.example/simple
    """
    name = var.name
    value = (var.value.text or "").strip()
    if not value:
        return
    if name == "PIP_EXTRA_INDEX_URL":
        yield Finding(
            var.key.span,
            f"PIP_EXTRA_INDEX_URL in {var.where} makes every pip install also search "
            f"{value if '${{' in value else value.split()[0]}: PyPI can shadow private packages",
        )
    elif name == "PIP_TRUSTED_HOST":
        yield Finding(
            var.key.span,
            f"PIP_TRUSTED_HOST in {var.where} lets every pip install reach {value} "
            "over plain HTTP or unverified TLS",
            severity=Severity.HIGH,
        )


@rule(
    id="ci-env-tls-verification-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify",
        "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
    ),
)
def ci_env_tls_verification_disabled(var: CiVariable) -> Iterator[Finding]:
    """A pipeline variable turns off TLS certificate checks for every command of the job.

    `GIT_SSL_NO_VERIFY` (any value), `NODE_TLS_REJECT_UNAUTHORIZED: 0`,
    `npm_config_strict_ssl: false` and `PYTHONHTTPSVERIFY: 0` set in `env:` or `variables:`
    make git, Node.js/npm or Python accept any certificate in every step that inherits them,
    including the ones that fetch dependencies and push releases. (`PIP_TRUSTED_HOST` is
    reported by `pip-index-env`.)

    ## Why it matters
    Anyone on the network path (a proxy, a compromised runner network, DNS) can then serve the
    code and packages the pipeline builds and ships, and read the credentials it sends.

    ## Remediation
    Remove the variable; for a private CA, trust it instead of turning checks off:

        env:
          NODE_EXTRA_CA_CERTS: /etc/ssl/certs/internal-ca.pem
          GIT_SSL_CAINFO: /etc/ssl/certs/internal-ca.pem
    """
    if var.name == "PIP_TRUSTED_HOST":
        return
    note = tls_env_note(var.name, (var.value.text or "").strip())
    if note:
        yield Finding(var.key.span, f"{note} (set in {var.where})")
