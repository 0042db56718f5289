"""Helpers the Dockerfile rules share: reading options of common tools from split commands."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kubeward.model.dockerfile import POSIX_SHELLS, Command, Word
from kubeward.parse.dockerfile import Instruction

SLSA_COMPROMISED_DEPENDENCY = "https://slsa.dev/spec/v1.0/threats#d-use-compromised-dependency"
"""SLSA v1.0 threat D, which the rules on unchecked downloads and packages cite."""

INTERPRETERS = POSIX_SHELLS | frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "php", "pwsh"}
)
DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
VERIFIERS = frozenset(
    {
        "sha1sum",
        "sha224sum",
        "sha256sum",
        "sha384sum",
        "sha512sum",
        "shasum",
        "b2sum",
        "gpg",
        "gpg2",
        "gpgv",
        "gpgv2",
        "cosign",
        "minisign",
        "signify",
        "slsa-verifier",
        "sigstore",
        "openssl",
    }
)
PIP = frozenset({"pip", "pip2", "pip3"})
_PYTHON_RE = re.compile(r"^python[0-9.]*$")


def flag_value(argv: Sequence[Word], *names: str) -> Iterator[tuple[Word, str]]:
    """Values of long (`--name value`, `--name=value`) or short (`-n value`, `-nvalue`, and
    `-abn value` clusters) options."""
    i = 1
    while i < len(argv):
        t = argv[i].text
        for name in names:
            if name.startswith("--"):
                if t == name and i + 1 < len(argv):
                    yield argv[i], argv[i + 1].text
                elif t.startswith(name + "="):
                    yield argv[i], t[len(name) + 1 :]
            elif t.startswith("-") and not t.startswith("--") and name[1] in t[1:]:
                k = t.index(name[1], 1)
                rest = t[k + 1 :]
                if rest:
                    yield argv[i], rest
                elif i + 1 < len(argv):
                    yield argv[i], argv[i + 1].text
        i += 1


def has_flag(argv: Sequence[Word], *names: str) -> Word | None:
    """The word holding a boolean option (`--long`, `--long=...`, or `-x` in a short cluster)."""
    for w in argv[1:]:
        t = w.text
        if t == "--":
            return None
        for name in names:
            if name.startswith("--"):
                if t == name or t.startswith(name + "="):
                    return w
            elif t.startswith("-") and not t.startswith("--") and len(name) == 2:
                cluster = t[1:]
                if name[1] in cluster and re.fullmatch(r"[A-Za-z]+", cluster):
                    return w
    return None


def python_module(cmd: Command, module: str) -> list[Word] | None:
    """`python -m module args` (or the module's own script, e.g. `pip`) as `[module, args...]`."""
    argv = cmd.argv
    if not argv:
        return None
    name = cmd.name
    if name == module or (module == "pip" and name in PIP):
        return argv
    if _PYTHON_RE.match(name):
        for i, w in enumerate(argv[1:-1], start=1):
            if w.text == "-m" and argv[i + 1].text == module:
                return argv[i + 1 :]
    if name == "uv" and module == "pip" and len(argv) > 1 and argv[1].text == "pip":
        return argv[1:]
    return None


def positional(argv: Sequence[Word], takes_value: frozenset[str] = frozenset()) -> list[Word]:
    """Words after the subcommand that are not options (nor values of options in `takes_value`)."""
    out: list[Word] = []
    skip = False
    for w in argv:
        if skip:
            skip = False
            continue
        t = w.text
        if t.startswith("-") and t != "-":
            if t in takes_value:
                skip = True
            continue
        out.append(w)
    return out


def is_url(text: str) -> bool:
    return bool(re.match(r"^(?:https?|ftp)://", text, re.I))


def onbuild_of(ins: Instruction) -> str | None:
    """The instruction an `ONBUILD` trigger runs (`ONBUILD ADD ...` -> `ADD`), else None."""
    if ins.cmd != "ONBUILD":
        return None
    return (ins.sub_cmd or "").upper() or None


def onbuild_note(ins: Instruction, message: str) -> str:
    """A finding's message, saying so when the instruction runs in child images."""
    if ins.cmd == "ONBUILD":
        return message + f" (ONBUILD {onbuild_of(ins)}: runs in every image built FROM this one)"
    return message
