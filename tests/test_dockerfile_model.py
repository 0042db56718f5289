"""The Dockerfile model: FROM resolution, RUN text with spans, and the shell splitter."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.model.dockerfile import (
    Dockerfile,
    RunScript,
    split_shell,
    substitute,
)
from kubeward.parse.dockerfile import DockerfileError, parse_dockerfile
from kubeward.registry import instances_in, load_rules
from kubeward.source import FileKind, SourceFile

load_rules()


def _file(text: str) -> SourceFile:
    return SourceFile(
        rel="Dockerfile",
        abspath="/x/Dockerfile",
        kind=FileKind.DOCKERFILE,
        text=text,
        instructions=parse_dockerfile(text),
    )


@pytest.mark.parametrize(
    ("text", "kind", "image"),
    [
        ("FROM alpine:3.20\n", "image", "alpine:3.20"),
        ("ARG B=alpine:3.20\nFROM $B\n", "image", "alpine:3.20"),
        ("ARG B=alpine\nARG T=3.20\nFROM ${B}:${T}\n", "image", "alpine:3.20"),
        ("ARG T\nFROM alpine:${T}\n", "templated", None),
        ("ARG T\nFROM alpine:${T:-3.19}\n", "image", "alpine:3.19"),
        ("FROM alpine:${UNDECLARED}\n", "templated", None),
        ("FROM scratch\n", "scratch", None),
        ("FROM --platform=$BUILDPLATFORM golang:1.23 AS build\n", "image", "golang:1.23"),
        ("FROM alpine:3 AS Base\nFROM base\n", "stage", None),
        ("ARG S=base\nFROM alpine:3 AS base\nFROM ${S}\n", "stage", None),
    ],
)
def test_from_resolution(text: str, kind: str, image: str | None) -> None:
    df = instances_in(_file(text), Dockerfile)[0]
    last = df.stages[-1]
    assert last.base_kind == kind
    assert (last.base_image.text if last.base_image else None) == image


def test_substitute_forms() -> None:
    values: dict[str, str | None] = {"A": "x", "E": "", "N": None}
    assert substitute("$A-${A}", values) == "x-x"
    assert substitute("${E:-d}", values) == "d"
    assert substitute("${N:-d}", values) == "d"
    assert substitute("${A:+alt}", values) == "alt"
    assert substitute("${N}", values) is None
    assert substitute("${MISSING}", values) is None


def test_splitter_pipelines_substitutions_and_heredocs() -> None:
    s = split_shell(
        "set -eux; curl -fsSL https://x | sudo -E bash - && "
        'sh -c "$(wget -qO- https://y)" || bash <(curl https://z) 2>/dev/null\n'
        "cat > /f <<'EOF'\nline $notasub\nEOF\necho done # comment | sh\n"
    )
    names = [[c.name for c in p.commands] for p in s.pipelines]
    assert names == [["set"], ["curl", "bash"], ["sh"], ["bash"], ["cat"], ["echo"]]
    sh = s.pipelines[2].commands[0]
    assert [k for k, _ in sh.subs] == ["$("]
    assert [c.name for c in sh.subs[0][1].walk()] == ["wget"]
    bash = s.pipelines[3].commands[0]
    assert [k for k, _ in bash.subs] == ["<("]
    assert [(op, w.text) for op, w in bash.redirects] == [("2>", "/dev/null")]
    cat = s.pipelines[4].commands[0]
    assert cat.heredocs == ["line $notasub"]
    assert [w.text for w in s.pipelines[5].commands[0].words] == ["echo", "done"]


def test_run_words_keep_exact_positions_across_continuations_and_comments() -> None:
    text = (
        "FROM alpine:3.20\n"
        "RUN set -eux; \\\n"
        "# a comment BuildKit drops\n"
        "\tcurl -fsSL https://x \\\n"
        "\t\t| sh\n"
        "RUN <<EOT\n"
        "  wget -qO- https://y | bash\n"
        "EOT\n"
    )
    f = _file(text)
    scripts = instances_in(f, RunScript)
    spans = {
        c.name: script.word_span(c.argv[0])
        for script in scripts
        for c in script.commands()
        if c.argv
    }
    assert (spans["curl"].line, spans["curl"].col) == (4, 2)
    assert (spans["sh"].line, spans["sh"].col) == (5, 5)
    assert (spans["wget"].line, spans["wget"].col) == (7, 3)
    assert (spans["bash"].line, spans["bash"].col) == (7, 25)


def test_non_posix_shell_is_not_split() -> None:
    f = _file(
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN powershell iwr https://x | iex\n"
    )
    (script,) = instances_in(f, RunScript)
    assert not script.posix
    assert not list(script.commands())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab $(){}`'\"\\|&;<>#\n-=", max_size=80))
def test_splitter_never_raises(text: str) -> None:
    for cmd in split_shell(text).walk():
        assert all(w.start <= w.end for w in cmd.words)


_FRAGMENTS = st.sampled_from(
    [
        "FROM ",
        "RUN ",
        "ARG ",
        "ENV ",
        "USER ",
        "ADD ",
        "COPY --from=",
        'SHELL ["pwsh"]',
        "<<EOF",
        "EOF",
        "\\\n",
        "\n",
        "# c\n",
        " AS b ",
        "${A:-x}",
        "$(curl x)",
        " | sh",
        "'",
        '"',
        "=",
        "http://a.b/c.git#v1",
        "alpine:3",
        "scratch",
        " && ",
        "`",
        "<(",
        ")",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=30).map("".join))
def test_pack_never_raises_on_dockerfile_like_text(text: str) -> None:
    from kubeward.registry import RuleContext
    from kubeward.scan_context import ScanContext

    try:
        f = _file(text)
    except DockerfileError:
        return
    ctx = RuleContext(params={}, scan=ScanContext(files=[f]))
    for rule in load_rules().values():
        if rule.id.startswith("dockerfile-"):
            objs: list[object] = instances_in(f, rule.target)
            for obj in objs:
                list(rule.run(obj, ctx))


def test_lone_continuation_is_no_crash() -> None:
    # BuildKit yields a command-less node for a file holding only a continuation.
    with contextlib.suppress(DockerfileError):
        assert parse_dockerfile("\\\n") == []
