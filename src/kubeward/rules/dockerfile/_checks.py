"""Shared helpers of the package-trust rules: running a per-command and a per-variable check
over a Dockerfile."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kubeward.model.dockerfile import Command, Dockerfile, RunScript, Word
from kubeward.registry import Finding, instances_in
from kubeward.source import Span

Check = Callable[[Command], Iterator[tuple[Word, str]]]
EnvCheck = Callable[[str, str], str | None]


def command_findings(df: Dockerfile, check: Check, env_check: EnvCheck | None) -> Iterator[Finding]:
    """Run a per-command check over every RUN and a per-variable check over ENV, ARG defaults
    and `NAME=value` prefixes of commands."""
    for script in instances_in(df.file, RunScript):
        for cmd in script.commands():
            for word, message in command_notes(cmd, check, env_check):
                yield Finding(script.word_span(word), script.note(message))
    if env_check is None:
        return
    pairs: list[tuple[str, str, Span]] = [(p.name, p.value, p.span) for _, p in df.envs()]
    pairs += [(a.name, a.default, a.span) for a in df.args() if a.default is not None]
    for name, value, span in pairs:
        note = env_check(name, value)
        if note:
            yield Finding(span, note)


def command_notes(
    cmd: Command, check: Check, env_check: EnvCheck | None
) -> Iterator[tuple[Word, str]]:
    """The per-command check's hits, then the per-variable check's over the command's
    `NAME=value` prefixes and `export`/`env` assignments (shared with the CI script rules)."""
    yield from check(cmd)
    if env_check is None:
        return
    for w in cmd.env():
        name, _, value = w.text.partition("=")
        note = env_check(name, value)
        if note:
            yield w, note


def words_and_bodies(cmd: Command) -> Iterator[tuple[Word, str]]:
    """Each argument with its text, then each heredoc body at the command's first word."""
    for w in cmd.argv:
        yield w, w.text
    first = cmd.argv[0] if cmd.argv else (cmd.words[0] if cmd.words else None)
    if first is not None:
        for body in cmd.heredocs:
            yield first, body


# Debian's package managers, which the signature and pinning rules both recognise.
APT_TOOLS = frozenset({"apt", "apt-get", "aptitude"})
