"""The `dockerfile-package-signature-disabled` rule: a package manager's signature check is off."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Dockerfile, Word
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._checks import APT_TOOLS, command_findings, words_and_bodies
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY, flag_value, has_flag

_RPM_FRONTENDS = frozenset({"yum", "dnf", "microdnf", "tdnf", "zypper"})
# `deb [trusted=yes] URI ...`; a local `file:`/`copy:` repository of packages built in the
# same build is not a download, so it is left alone.
_TRUSTED_RE = re.compile(
    r"\[[^\]\n]*\b(?:trusted|allow-insecure|allow-weak)=yes\b[^\]\n]*\](?!\s*(?:file|copy|cdrom):)"
)
_GPGCHECK_RE = re.compile(r"gpgcheck\s*=\s*(?:0|false|no)\b", re.I)
_APT_OPT_RE = re.compile(
    r"^(?:APT::Get::AllowUnauthenticated|Acquire::AllowInsecureRepositories|"
    r"Acquire::AllowDowngradeToInsecureRepositories)\s*=\s*(?:1|true|yes)$",
    re.I,
)


def _signature_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    argv = cmd.argv
    name = cmd.name
    if name in APT_TOOLS:
        w = has_flag(
            argv, "--allow-unauthenticated", "--allow-insecure-repositories", "--force-yes"
        )
        if w is not None:
            yield w, f"{name} {w.text} installs packages whose signatures are not verified"
        for w, value in flag_value(argv, "-o", "--option"):
            if _APT_OPT_RE.match(value):
                yield w, f"{name} -o {value} turns off repository signature checks"
    elif name == "apk":
        w = has_flag(argv, "--allow-untrusted")
        if w is not None:
            yield w, "apk --allow-untrusted installs packages with missing or unknown signatures"
    elif name in _RPM_FRONTENDS:
        w = has_flag(argv, "--nogpgcheck", "--no-gpg-checks", "--no-gpgcheck")
        if w is not None:
            yield w, f"{name} {w.text} installs packages without checking their GPG signatures"
        for w, value in flag_value(argv, "--setopt"):
            if _GPGCHECK_RE.search(value):
                yield w, f"{name} --setopt={value} turns off GPG signature checks"
    elif name == "rpm":
        w = has_flag(argv, "--nosignature", "--nodigest", "--nogpg")
        if w is not None:
            yield w, f"rpm {w.text} installs packages without verifying signatures or digests"
    for w, text in words_and_bodies(cmd):
        m = _TRUSTED_RE.search(text)
        if m:
            yield w, f"APT source option {m.group(0)} accepts unsigned repository contents"
        elif _GPGCHECK_RE.search(text) and name not in _RPM_FRONTENDS:
            yield w, "a repository definition with gpgcheck=0 accepts unsigned packages"


def _signature_env(name: str, value: str) -> str | None:
    if name == "GOSUMDB" and value.strip().lower() == "off":
        return "GOSUMDB=off turns off Go's checksum database, so module content is not verified"
    if name == "GONOSUMCHECK" and value.strip() not in ("", "0"):
        return f"{name}={value} turns off Go module checksum verification"
    if name == "GOFLAGS" and re.search(r"(?:^|\s)-insecure\b", value):
        return "GOFLAGS=-insecure fetches modules without TLS or checksum verification"
    return None


@rule(
    id="dockerfile-package-signature-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://manpages.debian.org/bookworm/apt/sources.list.5.en.html",
        "https://wiki.alpinelinux.org/wiki/Alpine_Package_Keeper",
    ),
)
def package_signature_disabled(df: Dockerfile) -> Iterator[Finding]:
    """A package manager is told to install packages without verifying their signatures.

    Flags `apt-get --allow-unauthenticated`, `--allow-insecure-repositories`, `--force-yes`,
    the matching `-o APT::...` options, `[trusted=yes]` APT sources, `apk --allow-untrusted`,
    `yum`/`dnf`/`microdnf`/`zypper --nogpgcheck`, `gpgcheck=0` repository files,
    `rpm --nosignature`/`--nodigest`, and `GOSUMDB=off`.

    ## Why it matters
    Package signatures are what make a mirror, a proxy or the network untrusted: without them
    anyone who can answer the download can install code as root in the image (SLSA threat D:
    use compromised dependency).

    ## Remediation
    Import the repository's signing key and drop the switch:

        RUN curl -fsSLo /etc/apt/keyrings/vendor.asc https://vendor.example/key.asc \\
         && echo "deb [signed-by=/etc/apt/keyrings/vendor.asc] https://vendor.example/apt \\
              stable main" > /etc/apt/sources.list.d/vendor.list \\
         && apt-get update && apt-get install -y vendor-tool=1.4.2-1

    ## Example
        # bad
        RUN apk add --allow-untrusted /tmp/tool.apk
        # good
        RUN apk add tool=1.4.2-r0
    """
    yield from command_findings(df, _signature_checks, _signature_env)
