"""Package trust: package managers and downloaders told to skip their checks, plain-HTTP
indexes, extra indexes that invite dependency confusion, and unpinned installs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from kubeward.model.dockerfile import Command, Dockerfile, RunScript, Word
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, RuleContext, Severity, instances_in, rule
from kubeward.rules.dockerfile._common import (
    flag_value,
    has_flag,
    positional,
    python_module,
)
from kubeward.source import Span

_SLSA_DEP = "https://slsa.dev/spec/v1.0/threats#d-use-compromised-dependency"

Check = Callable[[Command], Iterator[tuple[Word, str]]]
EnvCheck = Callable[[str, str], str | None]


def _findings(df: Dockerfile, check: Check, env_check: EnvCheck | None) -> Iterator[Finding]:
    """Run a per-command check over every RUN and a per-variable check over ENV, ARG defaults
    and `NAME=value` prefixes of commands."""
    for script in instances_in(df.file, RunScript):
        for cmd in script.commands():
            for word, message in check(cmd):
                yield Finding(script.word_span(word), script.note(message))
            if env_check is None:
                continue
            for w in cmd.env():
                name, _, value = w.text.partition("=")
                note = env_check(name, value)
                if note:
                    yield Finding(script.word_span(w), script.note(note))
    if env_check is None:
        return
    pairs: list[tuple[str, str, Span]] = [(p.name, p.value, p.span) for _, p in df.envs()]
    pairs += [(a.name, a.default, a.span) for a in df.args() if a.default is not None]
    for name, value, span in pairs:
        note = env_check(name, value)
        if note:
            yield Finding(span, note)


def _words_and_bodies(cmd: Command) -> Iterator[tuple[Word, str]]:
    for w in cmd.argv:
        yield w, w.text
    first = cmd.argv[0] if cmd.argv else (cmd.words[0] if cmd.words else None)
    if first is not None:
        for body in cmd.heredocs:
            yield first, body


# --- signatures off ------------------------------------------------------------------------

_APT = frozenset({"apt", "apt-get", "aptitude"})
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
    if name in _APT:
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
    for w, text in _words_and_bodies(cmd):
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
        _SLSA_DEP,
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
    yield from _findings(df, _signature_checks, _signature_env)


# --- TLS off -------------------------------------------------------------------------------

_FALSY = frozenset({"false", "0", "no", "off"})


def _tls_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    argv = cmd.argv
    name = cmd.name
    if name == "curl":
        w = has_flag(argv, "--insecure", "-k")
        if w is not None:
            yield w, f"curl {w.text} accepts any TLS certificate, so anyone on the path can answer"
    elif name == "wget":
        w = has_flag(argv, "--no-check-certificate")
        if w is not None:
            yield w, "wget --no-check-certificate accepts any TLS certificate"
    elif name == "git":
        for w, value in flag_value(argv, "-c"):
            key, _, val = value.partition("=")
            if key.lower() == "http.sslverify" and val.lower() in _FALSY:
                yield w, f"git -c {value} turns off TLS certificate checks"
        texts = [x.text for x in argv]
        if "config" in texts:
            for i, t in enumerate(texts[:-1]):
                if t.lower() == "http.sslverify" and texts[i + 1].lower() in _FALSY:
                    yield (
                        argv[i],
                        "git config http.sslVerify false turns off TLS certificate checks",
                    )
    elif python_module(cmd, "pip") is not None:
        pip = python_module(cmd, "pip") or []
        for w, value in flag_value(pip, "--trusted-host"):
            yield w, f"pip --trusted-host {value} skips TLS certificate checks for that index"
        texts = [x.text for x in pip]
        if "config" in texts and any(t.endswith(".trusted-host") for t in texts):
            yield pip[0], "pip config sets a trusted-host, skipping TLS checks for that index"
    elif name in ("npm", "yarn", "pnpm"):
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts):
            if (
                t in ("strict-ssl", "enablestrictssl")
                and i + 1 < len(texts)
                and texts[i + 1] in _FALSY
            ):
                yield argv[i], f"{name} config {argv[i].text} false accepts any TLS certificate"
            if t.startswith("--strict-ssl=") and t.split("=", 1)[1] in _FALSY:
                yield argv[i], f"{name} {argv[i].text} accepts any TLS certificate"
    elif name == "composer":
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts[:-1]):
            if (t, texts[i + 1]) in (("secure-http", "false"), ("disable-tls", "true")):
                yield argv[i], f"composer config {t} {texts[i + 1]} fetches packages without TLS"


def tls_env_note(name: str, value: str) -> str | None:
    """Why an environment variable turns TLS verification off, if it does (also used for CI
    `env:`/`variables:`)."""
    return _tls_env(name, value)


def _tls_env(name: str, value: str) -> str | None:
    v = value.strip().lower()
    if name == "GIT_SSL_NO_VERIFY" and v:
        return f"{name}={value} turns off git's TLS certificate checks (any value does)"
    if name == "NODE_TLS_REJECT_UNAUTHORIZED" and v == "0":
        return "NODE_TLS_REJECT_UNAUTHORIZED=0 makes Node.js (and npm) accept any certificate"
    if name.lower() == "npm_config_strict_ssl" and v in _FALSY:
        return f"{name}={value} makes npm accept any TLS certificate"
    if name == "PIP_TRUSTED_HOST" and v:
        return f"PIP_TRUSTED_HOST={value} skips pip's TLS certificate checks for those hosts"
    if name == "PYTHONHTTPSVERIFY" and v == "0":
        return "PYTHONHTTPSVERIFY=0 turns off certificate checks in Python's HTTPS clients"
    return None


@rule(
    id="dockerfile-tls-verification-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        _SLSA_DEP,
        "https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify",
        "https://pip.pypa.io/en/stable/cli/pip/#cmdoption-trusted-host",
        "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
    ),
)
def tls_verification_disabled(df: Dockerfile) -> Iterator[Finding]:
    """A download or package manager is told to accept any TLS certificate.

    Flags `curl -k`/`--insecure`, `wget --no-check-certificate`, `git -c http.sslVerify=false`
    and `git config http.sslVerify false`, `GIT_SSL_NO_VERIFY`, `pip --trusted-host` and
    `PIP_TRUSTED_HOST`, `npm`/`yarn config set strict-ssl false`,
    `NODE_TLS_REJECT_UNAUTHORIZED=0`, and Composer's `secure-http false`, in `RUN`, `ENV` and
    `ARG` defaults.

    ## Why it matters
    For pip, npm, git and plain downloads TLS is the only thing tying the bytes to the server;
    without it anyone on the network path of the build (a proxy, a compromised Wi-Fi, a cloud
    neighbour) can serve their own code (SLSA threat D: use compromised dependency).

    ## Remediation
    Keep verification on and give the tool the CA it needs instead:

        RUN --mount=type=secret,id=corp-ca,target=/usr/local/share/ca-certificates/corp.crt \\
            update-ca-certificates && curl -fsSL https://internal.example/tool.tgz -o /tmp/tool.tgz

    ## Example
        # bad
        RUN curl -k https://example.com/tool.tgz -o /tmp/tool.tgz
        # good
        RUN curl -fsSL https://example.com/tool.tgz -o /tmp/tool.tgz
    """
    yield from _findings(df, _tls_checks, _tls_env)


# --- plain http indexes --------------------------------------------------------------------

_LOCAL_RE = re.compile(r"^http://(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?:[:/]|$)", re.I)


def _plain(url: str) -> bool:
    return url.lower().startswith("http://") and not _LOCAL_RE.match(url)


def _http_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    name = cmd.name
    pip = python_module(cmd, "pip")
    if pip is not None:
        # Each plain-HTTP URL once, at the URL itself (`--index-url URL`, `-i URL`,
        # `--index-url=URL`, a requirement URL, `pip config set global.index-url URL`).
        for x in pip[1:]:
            value = x.text.split("=", 1)[-1] if x.text.startswith("--") else x.text
            if _plain(value):
                yield x, f"pip fetches packages from {value} over plain HTTP"
        return
    if name in ("npm", "yarn", "pnpm"):
        argv = cmd.argv
        for w, value in flag_value(argv, "--registry"):
            if _plain(value):
                yield w, f"{name} uses the registry {value} over plain HTTP"
        texts = [x.text for x in argv]
        for i, t in enumerate(texts[:-1]):
            if t in ("registry", "npmRegistryServer") and _plain(texts[i + 1]):
                yield argv[i + 1], f"{name} config sets the registry {texts[i + 1]} over plain HTTP"
        return
    if name == "gem":
        for w, value in flag_value(cmd.argv, "--source", "--add", "-s", "-a"):
            if _plain(value):
                yield w, f"gem uses the source {value} over plain HTTP"


def _http_env(name: str, value: str) -> str | None:
    upper = name.upper()
    if upper in (
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "NPM_CONFIG_REGISTRY",
        "YARN_REGISTRY",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
    ) and any(_plain(v) for v in value.split()):
        return f"{name}={value} fetches packages over plain HTTP"
    if upper == "GOPROXY" and any(_plain(v) for v in re.split(r"[,|]", value)):
        return f"GOPROXY={value} fetches Go modules over plain HTTP"
    if upper == "GOINSECURE" and value.strip():
        return f"GOINSECURE={value} lets go fetch those modules over plain HTTP"
    return None


@rule(
    id="dockerfile-plain-http-index",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        _SLSA_DEP,
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-i",
        "https://go.dev/ref/mod#environment-variables",
    ),
)
def plain_http_index(df: Dockerfile) -> Iterator[Finding]:
    """A package index or registry is reached over plain `http://`.

    Flags pip `--index-url`/`--extra-index-url`/`--find-links` and package URLs, npm, yarn and
    pnpm `--registry` or `config set registry`, `gem --source`, and the `PIP_INDEX_URL`,
    `NPM_CONFIG_REGISTRY`, `GOPROXY` and `GOINSECURE` variables, when they use `http://`
    (localhost excepted). APT and apk repositories over HTTP are not flagged: their signed
    indexes protect the packages.

    ## Why it matters
    pip, npm, gem and the Go proxy protocol trust whatever the index serves; over plain HTTP
    anyone on the path can serve a different package (SLSA threat D: use compromised
    dependency).

    ## Remediation
    Use the index over HTTPS:

        RUN pip install --index-url https://pypi.internal.example/simple requests==2.32.3

    ## Example
        # bad
        RUN pip install --index-url http://pypi.internal.example/simple requests==2.32.3
        # good
        RUN pip install --index-url https://pypi.internal.example/simple requests==2.32.3
    """
    yield from _findings(df, _http_checks, _http_env)


# --- extra index (dependency confusion) ----------------------------------------------------


def _extra_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    pip = python_module(cmd, "pip")
    if pip is None:
        return
    for w, value in flag_value(pip, "--extra-index-url"):
        yield (
            w,
            (
                f"pip --extra-index-url {value} merges a second index with PyPI: a public package "
                "with the same name as an internal one can win"
            ),
        )
    texts = [x.text for x in pip]
    if "config" in texts and any(t.endswith(".extra-index-url") for t in texts):
        yield pip[0], "pip config sets extra-index-url, merging a second index with PyPI"


def _extra_env(name: str, value: str) -> str | None:
    if name.upper() in ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL") and value.strip():
        return f"{name} merges {value} with PyPI: a public package with an internal name can win"
    return None


@rule(
    id="dockerfile-extra-index-url",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        _SLSA_DEP,
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://medium.com/@alex.birsan/dependency-confusion-4a5d60fec610",
    ),
)
def extra_index_url(df: Dockerfile) -> Iterator[Finding]:
    """pip installs with `--extra-index-url`, the dependency-confusion vector.

    pip treats every index as equal and installs the highest version it finds anywhere. With
    an internal index added by `--extra-index-url` (or `PIP_EXTRA_INDEX_URL`), anyone can
    publish a package with an internal name and a higher version on PyPI and have it installed.

    ## Why it matters
    This is the dependency-confusion attack that reached Apple, Microsoft and dozens of others
    in 2021: the build pulls attacker code from the public index by name alone (SLSA threat
    D: use compromised dependency).

    ## Remediation
    Use one index that proxies PyPI and serves internal packages (`--index-url`), and pin with
    hashes:

        RUN pip install --index-url https://pypi.internal.example/simple \\
            --require-hashes -r requirements.txt

    ## Example
        # bad
        RUN pip install --extra-index-url https://pypi.internal.example/simple acme-lib==1.2.0
        # good
        RUN pip install --index-url https://pypi.internal.example/simple acme-lib==1.2.0
    """
    yield from _findings(df, _extra_checks, _extra_env)


# --- unpinned installs ---------------------------------------------------------------------

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
    if cmd.name in _APT and "install" in texts:
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
    references=(_SLSA_DEP, "https://pip.pypa.io/en/stable/topics/secure-installs/"),
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
    yield from _findings(df, lambda cmd: _unpinned(cmd, distro=distro), None)
