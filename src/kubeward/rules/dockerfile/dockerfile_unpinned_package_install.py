"""The `dockerfile-unpinned-package-install` rule: packages installed without an exact version."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Dockerfile, Word
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.dockerfile._checks import APT_TOOLS, command_findings
from kubeward.rules.dockerfile._common import (
    SLSA_COMPROMISED_DEPENDENCY,
    flag_value,
    positional,
    python_module,
)

_PIP_VALUE_OPTS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--trusted-host",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--only-binary",
        "--no-binary",
        "--progress-bar",
        "--src",
        "--upgrade-strategy",
        "--cache-dir",
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--exists-action",
        "--cert",
        "--client-cert",
        "--global-option",
        "--config-settings",
        "-C",
        "--python",
        "--report",
    }
)
_PIP_PIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*===?\s*[^=*,;<>!~]+$")
_APK_VALUE_OPTS = frozenset(
    {
        "-t",
        "--virtual",
        "-X",
        "--repository",
        "-p",
        "--root",
        "--arch",
        "--keys-dir",
        "--repositories-file",
        "--cache-dir",
    }
)
_APT_VALUE_OPTS = frozenset({"-o", "--option", "-t", "--target-release", "-c", "--config-file"})
_NPM_VALUE_OPTS = frozenset(
    {"--registry", "--prefix", "--cache", "--userconfig", "-w", "--workspace"}
)
_EXACT_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


def _local(text: str) -> bool:
    return (
        text.startswith((".", "/", "~"))
        or "://" in text
        or text.endswith((".whl", ".tar.gz", ".zip", ".deb", ".apk", ".rpm", ".tgz"))
    )


def _pip_unpinned(pip: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in pip]
    if "install" not in texts or "--require-hashes" in texts:
        return
    if any(t in ("-c", "--constraint") or t.startswith("--constraint=") for t in texts):
        return
    after = pip[texts.index("install") + 1 :]
    for w in positional(after, _PIP_VALUE_OPTS):
        t = w.text
        if _local(t) or is_templated(t) or "@" in t or _PIP_PIN_RE.match(t):
            continue
        yield w


def _npm_unpinned(argv: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in argv]
    if len(texts) < 2 or texts[1] not in ("install", "i", "add", "global"):
        return
    start = 2 if texts[1] != "global" else 3
    for w in positional(argv[start:], _NPM_VALUE_OPTS):
        t = w.text
        if _local(t) or is_templated(t):
            continue
        version = t.rsplit("@", 1)[1] if "@" in t[1:] else ""
        if not _EXACT_SEMVER.match(version):
            yield w


def _go_unpinned(argv: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in argv]
    if len(texts) < 3 or texts[1] not in ("install", "get"):
        return
    for w in positional(argv[2:]):
        t = w.text
        if "@" not in t or is_templated(t):
            continue
        version = t.rsplit("@", 1)[1]
        if version in ("latest", "master", "main", "HEAD", "upgrade", "patch"):
            yield w


_RPM_TOOLS = frozenset({"yum", "dnf", "microdnf", "tdnf"})
_RPM_VALUE_OPTS = frozenset(
    {
        "--enablerepo",
        "--disablerepo",
        "--repo",
        "--repoid",
        "--setopt",
        "--installroot",
        "--releasever",
        "-x",
        "--exclude",
        "-c",
        "--config",
        "--repofrompath",
        "--forcearch",
        "-d",
        "--debuglevel",
        "-e",
        "--errorlevel",
        "--downloaddir",
        "--destdir",
    }
)
# `name-VERSION[-RELEASE]` (a dash then a digit), `name = VERSION` specs, globs, groups, modules.
_RPM_PINNED = re.compile(r"-\d|[=<>]")
_GEM_VALUE_OPTS = frozenset(
    {
        "-v",
        "--version",
        "-i",
        "--install-dir",
        "-n",
        "--bindir",
        "-s",
        "--source",
        "--platform",
        "-g",
        "--file",
        "--build-root",
        "-P",
        "--trust-policy",
    }
)
_GEM_VERSION = re.compile(r"^=?\s*\d+(?:\.\d+)*(?:\.[A-Za-z0-9]+)?$")
_CARGO_VALUE_OPTS = frozenset(
    {
        "--version",
        "--vers",
        "--git",
        "--branch",
        "--tag",
        "--rev",
        "--path",
        "--root",
        "--index",
        "--registry",
        "--target",
        "--features",
        "-F",
        "-j",
        "--jobs",
        "--profile",
        "--bin",
        "--example",
        "--target-dir",
        "--config",
        "-Z",
    }
)


def _rpm_unpinned(argv: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in argv]
    if "install" not in texts:
        return
    rest = argv[texts.index("install") + 1 :]
    for w in positional(rest, _RPM_VALUE_OPTS):
        t = w.text
        if _RPM_PINNED.search(t) or t.startswith("@") or "*" in t or _local(t) or is_templated(t):
            continue
        yield w


def _gem_unpinned(argv: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in argv]
    if len(texts) < 3 or texts[1] != "install":
        return
    versions = [v for _, v in flag_value(argv, "-v", "--version")]
    if versions and all(_GEM_VERSION.match(v.strip("'\"")) for v in versions):
        return
    for w in positional(argv[2:], _GEM_VALUE_OPTS):
        t = w.text
        if _local(t) or t.endswith(".gem") or is_templated(t):
            continue
        if ":" in t and _GEM_VERSION.match(t.split(":", 1)[1]):
            continue  # name:VERSION
        yield w


def _cargo_unpinned(argv: list[Word]) -> Iterator[Word]:
    texts = [w.text for w in argv]
    if len(texts) < 2 or texts[1] != "install":
        return
    if any(
        t in ("--path", "--rev", "--tag") or t.startswith(("--path=", "--rev=", "--tag="))
        for t in texts
    ):
        return
    versions = [v for _, v in flag_value(argv, "--version", "--vers")]
    if versions and all(_EXACT_SEMVER.match(v.lstrip("=")) for v in versions):
        return
    git = next(iter(flag_value(argv, "--git")), None)
    crates = positional(argv[2:], _CARGO_VALUE_OPTS)
    if git is not None:
        yield git[0]  # the repository's default branch, whichever crates it names
        return
    for w in crates:
        t = w.text
        if is_templated(t) or ("@" in t and _EXACT_SEMVER.match(t.rsplit("@", 1)[1].lstrip("="))):
            continue
        yield w


def _distro_unpinned(cmd: Command) -> Iterator[Word]:
    argv = cmd.argv
    texts = [w.text for w in argv]
    if cmd.name in APT_TOOLS and "install" in texts:
        rest = argv[texts.index("install") + 1 :]
        for w in positional(rest, _APT_VALUE_OPTS):
            if not ("=" in w.text or _local(w.text) or is_templated(w.text)):
                yield w
    elif cmd.name in _RPM_TOOLS:
        yield from _rpm_unpinned(argv)
    elif cmd.name == "apk" and "add" in texts:
        rest = argv[texts.index("add") + 1 :]
        for w in positional(rest, _APK_VALUE_OPTS):
            t = w.text
            if not (re.search(r"[=~<>]", t) or _local(t) or is_templated(t) or t.startswith(".")):
                yield w


def _unpinned(cmd: Command, *, distro: bool = True) -> Iterator[tuple[Word, str]]:
    pip = python_module(cmd, "pip")
    if pip is not None:
        words = list(_pip_unpinned(pip))
        if words:
            names = " ".join(w.text for w in words)
            yield words[0], f"pip installs {names} without an exact version (pin as name==X.Y.Z)"
        return
    name = cmd.name
    argv = cmd.argv
    if name in ("npm", "pnpm", "yarn"):
        words = list(_npm_unpinned(argv))
        if words:
            names = " ".join(w.text for w in words)
            yield words[0], f"{name} installs {names} without an exact version (pin as name@X.Y.Z)"
    elif name == "go":
        for w in _go_unpinned(argv):
            yield w, f"go installs {w.text}, which moves; pin a release (module@vX.Y.Z)"
    elif name == "gem":
        words = list(_gem_unpinned(argv))
        if words:
            names = " ".join(w.text for w in words)
            yield words[0], f"gem installs {names} without an exact version (pin with -v X.Y.Z)"
    elif name == "cargo":
        words = list(_cargo_unpinned(argv))
        git = next(iter(flag_value(argv, "--git")), None)
        if words and git is not None:
            yield (
                words[0],
                f"cargo installs from {git[1]} at whatever its branch points to "
                "(pin with --rev COMMIT)",
            )
        elif words:
            names = " ".join(w.text for w in words)
            yield (
                words[0],
                f"cargo installs {names} without an exact version "
                "(pin as name@X.Y.Z, or --rev for --git)",
            )
    elif distro:
        words = list(_distro_unpinned(cmd))
        if words:
            names = " ".join(w.text for w in words)
            pin = "name-VERSION" if name in _RPM_TOOLS else "name=VERSION"
            yield (
                words[0],
                (
                    f"{name} installs {names} without versions (pin as {pin}); "
                    "the build gets whatever the repository serves that day"
                ),
            )


@rule(
    id="dockerfile-unpinned-package-install",
    layer=Layer.BUILD,
    severity=Severity.LOW,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://pip.pypa.io/en/stable/topics/secure-installs/",
    ),
    params={"distro-packages": True},
)
def unpinned_package_install(df: Dockerfile, ctx: RuleContext) -> Iterator[Finding]:
    """Packages or tools are installed without an exact version.

    Flags `pip install name` (anything but `name==X.Y.Z`, unless `--require-hashes` or a
    constraints file pins it), `npm`/`yarn`/`pnpm` installs of named packages without an
    exact `@X.Y.Z`, `go install module@latest` (or a branch), `gem install` without
    `-v X.Y.Z`, `cargo install` without `name@X.Y.Z`/`--version X.Y.Z` (or `--git` without
    `--rev`/`--tag`), `apt-get install`/`apk add` of packages without `=VERSION`, and
    `yum`/`dnf`/`microdnf install` of packages without `-VERSION`. Installing from requirement
    files, lockfiles and local paths is not flagged. Set the parameter `distro-packages: false`
    to leave `apt-get`, `apk`, `yum` and `dnf` alone (distributions drop superseded versions,
    so pinned builds break; Docker's official images do not pin them for that reason).

    ## Why it matters
    An unpinned install takes whatever the index serves at build time: two builds of the
    same commit differ, a compromised or typosquatted release goes in unnoticed, and nobody
    can say which version shipped (SLSA threat D: use compromised dependency). Distribution
    packages are signed, so for them this is mostly about reproducibility.

    ## Remediation
    Pin exact versions (and, for pip, hashes in a requirements file):

        RUN pip install requests==2.32.3 \\
         && npm install -g typescript@5.6.3 \\
         && go install golang.org/x/tools/gopls@v0.16.2 \\
         && gem install bundler -v 2.5.22 \\
         && cargo install ripgrep@14.1.1 --locked \\
         && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8
        RUN dnf install -y httpd-2.4.62

    ## Example
        # bad
        RUN pip install requests
        # good
        RUN pip install requests==2.32.3
    """
    distro = ctx.param("distro-packages", True) is not False
    yield from command_findings(df, lambda cmd: _unpinned(cmd, distro=distro), None)
