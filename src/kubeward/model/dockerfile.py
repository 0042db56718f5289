"""Dockerfiles as stages, resolved base images and RUN scripts split into shell commands.

BuildKit's parser (`kubeward.parse.dockerfile`) gives instructions with line numbers; this
module adds what rules share:

- `Dockerfile`: global `ARG`s (before the first `FROM`) and `Stage`s. Each stage's `FROM` is
  resolved: a literal `ARG` default is substituted, a name of an earlier stage is a stage
  reference, `scratch` is no image, and anything still holding a variable is templated.
- `RunScript`: the shell text of a `RUN` (continuation lines joined, comment lines dropped,
  heredoc bodies included) split into pipelines of simple commands, with command and process
  substitutions (`$(...)`, backticks, `<(...)`) parsed as nested scripts. Every word keeps its
  offsets in the file, so findings point at the exact word.
- An `@image_source` registering every stage's base image (and `COPY --from=<image>`) as an
  `ImageUse`, so the image rules judge `FROM` lines like Kubernetes `image:` fields.

The splitter is a small POSIX-shell tokenizer, not a shell: it knows quotes, escapes,
`&&`, `||`, `;`, `|`, `&`, newlines, redirections, heredocs, comments and substitutions, which
is what is needed to tell `curl ... | sh` from `curl ... | sha256sum -c`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from kubeward.model.image import ImageRef, parse_image
from kubeward.model.images import ImageUse, image_source
from kubeward.parse.dockerfile import Instruction
from kubeward.registry import Related, instances_in, provider
from kubeward.source import FileKind, SourceFile, Span

# --- shell splitting --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word: `text` with quotes and escapes removed (substitutions kept as written),
    `raw` as written, and its offsets in the script text."""

    text: str
    raw: str
    start: int
    end: int
    quoted: bool = False


@dataclass(slots=True)
class Command:
    """A simple command: leading `NAME=value` assignments, the words, redirections, heredoc
    bodies fed to it, and the scripts of substitutions inside its words."""

    assigns: list[Word] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)
    heredocs: list[str] = field(default_factory=list)
    subs: list[tuple[str, Script]] = field(default_factory=list)
    # argv, computed once per number of words (rules ask for it hundreds of thousands of
    # times on a large tree; the lexer only ever appends words).
    _argv: tuple[int, list[Word]] | None = field(default=None, repr=False, compare=False)

    @property
    def argv(self) -> list[Word]:
        """The words after wrappers that run another command (`sudo`, `env`, `exec`...)."""
        cached = self._argv
        if cached is not None and cached[0] == len(self.words):
            return cached[1]
        argv = self._compute_argv()
        self._argv = (len(self.words), argv)
        return argv

    def _compute_argv(self) -> list[Word]:
        words = self.words
        i = 0
        while i < len(words):
            name = _basename(words[i].text)
            if words[i].text in _RESERVED and not words[i].quoted:
                i += 1
            elif name in ("sudo", "doas"):
                i += 1
                while i < len(words) and words[i].text.startswith("-"):
                    if words[i].text in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"):
                        i += 1
                    i += 1
            elif name in ("env",):
                i += 1
                while i < len(words) and (
                    words[i].text.startswith("-") or _ASSIGN_RE.match(words[i].text)
                ):
                    i += 1
            elif name in ("exec", "nohup", "time", "command", "builtin", "nice", "stdbuf"):
                i += 1
                while i < len(words) and words[i].text.startswith("-"):
                    i += 1
            else:
                break
        return words[i:]

    @property
    def name(self) -> str:
        """The program run (basename of the first word after wrappers), '' when none."""
        argv = self.argv
        return _basename(argv[0].text) if argv else ""

    def env(self) -> Iterator[Word]:
        """Assignments in effect for this command: leading ones and those given to `env`."""
        yield from self.assigns
        for w in self.words:
            if _ASSIGN_RE.match(w.text):
                yield w


@dataclass(slots=True)
class Pipeline:
    """Commands joined by `|`; `sep` is the operator that precedes it (`&&`, `;`, ...)."""

    commands: list[Command] = field(default_factory=list)
    sep: str = ""


@dataclass(slots=True)
class Script:
    pipelines: list[Pipeline] = field(default_factory=list)

    def walk(self) -> Iterator[Command]:
        """Every command in order, with substitutions' commands after their host command."""
        for p in self.pipelines:
            for c in p.commands:
                yield c
                for _, sub in c.subs:
                    yield from sub.walk()


_RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}"})
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_OPERATORS = ("&&", "||", ";;", "|&", "|", ";", "&", "\n")
_REDIR_RE = re.compile(r"(?:\d+|&)?(?:>>|>&|<&|<>|>\||>|<(?!<))")
_HEREDOC_RE = re.compile(r"<<(-?)\s*(?:'([^']*)'|\"([^\"]*)\"|\\?([^\s;&|<>()]+))")
_MAX_DEPTH = 12


def _basename(text: str) -> str:
    return text.rsplit("/", 1)[-1]


def split_shell(text: str, *, base: int = 0, depth: int = 0) -> Script:
    """Split shell text into pipelines of simple commands. Never raises; unbalanced quotes
    run to the end of the text. `base` is added to every word offset."""
    return _Lexer(text, base, depth).script()


class _Lexer:
    def __init__(self, text: str, base: int, depth: int) -> None:
        self.s = text
        self.i = 0
        self.base = base
        self.depth = depth
        self.pending_heredocs: list[tuple[Command, str, bool]] = []

    def script(self) -> Script:
        out = Script()
        pipe = Pipeline()
        cmd = Command()
        sep = ""
        n = len(self.s)

        def end_command() -> None:
            nonlocal cmd
            if cmd.words or cmd.assigns or cmd.redirects or cmd.heredocs:
                pipe.commands.append(cmd)
            cmd = Command()

        def end_pipeline(next_sep: str) -> None:
            nonlocal pipe, sep
            end_command()
            if pipe.commands:
                pipe.sep = sep
                out.pipelines.append(pipe)
            pipe = Pipeline()
            sep = next_sep

        while self.i < n:
            c = self.s[self.i]
            if c in " \t\r":
                self.i += 1
                continue
            if c == "\\" and self.s.startswith("\\\n", self.i):
                self.i += 2
                continue
            if c == "#":
                while self.i < n and self.s[self.i] != "\n":
                    self.i += 1
                continue
            if c == "\n":
                self.i += 1
                self._read_heredoc_bodies()
                end_pipeline(";")
                continue
            m = _HEREDOC_RE.match(self.s, self.i)
            if m:
                delim = m.group(2) or m.group(3) or m.group(4) or ""
                self.pending_heredocs.append((cmd, delim, bool(m.group(1))))
                self.i = m.end()
                continue
            if c in "<>" and self.s.startswith("(", self.i + 1):
                cmd_word = self._word()
                if cmd_word is not None:
                    cmd.words.append(cmd_word[0])
                    cmd.subs.extend(cmd_word[1])
                continue
            m = _REDIR_RE.match(self.s, self.i)
            if m and (c in "<>&" or self._redir_fd_ahead(m)):
                self.i = m.end()
                target = self._next_word()
                if target is not None:
                    cmd.redirects.append((m.group(0), target[0]))
                    cmd.subs.extend(target[1])
                continue
            op = next((o for o in _OPERATORS if self.s.startswith(o, self.i)), None)
            if op is not None:
                self.i += len(op)
                if op in ("|", "|&"):
                    end_command()
                else:
                    end_pipeline(op)
                continue
            if c in "()":
                # Subshells and groups: their contents are commands like any other.
                self.i += 1
                end_pipeline(";")
                continue
            got = self._word()
            if got is None:
                self.i += 1
                continue
            word, subs = got
            if not cmd.words and _ASSIGN_RE.match(word.text):
                cmd.assigns.append(word)
            else:
                cmd.words.append(word)
            cmd.subs.extend(subs)
        end_pipeline("")
        return out

    def _redir_fd_ahead(self, m: re.Match[str]) -> bool:
        # `2>file` is a redirection only when the digits start a word.
        return self.i == 0 or self.s[self.i - 1] in " \t\n;|&"

    def _next_word(self) -> tuple[Word, list[tuple[str, Script]]] | None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1
        return self._word()

    def _read_heredoc_bodies(self) -> None:
        """After a newline: the bodies of heredocs opened on the line just ended."""
        for cmd, delim, strip_tabs in self.pending_heredocs:
            lines: list[str] = []
            while self.i < len(self.s):
                nl = self.s.find("\n", self.i)
                end = len(self.s) if nl < 0 else nl
                line = self.s[self.i : end]
                self.i = end + 1 if nl >= 0 else end
                check = line.lstrip("\t") if strip_tabs else line
                if check.rstrip("\r") == delim:
                    break
                lines.append(line)
            cmd.heredocs.append("\n".join(lines))
        self.pending_heredocs = []

    def _balanced(self, j: int, open_: str, close: str) -> int:
        """Index just past the `close` matching an `open_` just before `j` (quote-aware)."""
        depth = 1
        s = self.s
        n = len(s)
        while j < n:
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == "'" and open_ == "(":
                k = s.find("'", j + 1)
                j = n if k < 0 else k + 1
                continue
            if c == '"':
                j = self._dquote_end(j + 1)
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return n

    def _dquote_end(self, j: int) -> int:
        s = self.s
        n = len(s)
        while j < n:
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == '"':
                return j + 1
            if s.startswith("$(", j):
                j = self._balanced(j + 2, "(", ")")
                continue
            if c == "`":
                k = s.find("`", j + 1)
                j = n if k < 0 else k + 1
                continue
            j += 1
        return n

    def _sub(self, kind: str, start: int, end: int) -> tuple[str, Script]:
        if self.depth >= _MAX_DEPTH:
            return kind, Script()
        return kind, split_shell(self.s[start:end], base=self.base + start, depth=self.depth + 1)

    def _word(self) -> tuple[Word, list[tuple[str, Script]]] | None:
        s = self.s
        n = len(s)
        start = self.i
        j = start
        text: list[str] = []
        subs: list[tuple[str, Script]] = []
        quoted = False
        while j < n:
            c = s[j]
            if c in " \t\r\n;&|" or (c in "()" and j > start and not s.startswith("$(", j)):
                break
            if c in "<>" and j == start and s.startswith("(", j + 1):
                end = self._balanced(j + 2, "(", ")")
                subs.append(self._sub(c + "(", j + 2, end - 1))
                text.append(s[j:end])
                j = end
                continue
            if c in "<>" and j > start:
                break
            if c == "(" and j == start:
                break
            if c == "\\":
                if s.startswith("\\\n", j):
                    j += 2
                    continue
                text.append(s[j + 1 : j + 2])
                j += 2
                continue
            if c == "'":
                k = s.find("'", j + 1)
                k = n if k < 0 else k
                text.append(s[j + 1 : k])
                quoted = True
                j = k + 1
                continue
            if c == '"':
                end = self._dquote_end(j + 1)
                inner_end = end - 1 if end <= n and s[end - 1 : end] == '"' else end
                inner = s[j + 1 : inner_end]
                self._collect_subs(j + 1, inner_end, subs)
                text.append(re.sub(r"\\([\\\"$`])", r"\1", inner))
                quoted = True
                j = end
                continue
            if s.startswith("$(", j):
                end = self._balanced(j + 2, "(", ")")
                subs.append(self._sub("$(", j + 2, end - 1))
                text.append(s[j:end])
                j = end
                continue
            if s.startswith("${", j):
                end = self._balanced(j + 2, "{", "}")
                text.append(s[j:end])
                j = end
                continue
            if c == "`":
                k = s.find("`", j + 1)
                k = n if k < 0 else k
                subs.append(self._sub("`", j + 1, k))
                text.append(s[j : k + 1])
                j = k + 1
                continue
            text.append(c)
            j += 1
        if j == start:
            return None
        self.i = j
        word = Word(
            text="".join(text),
            raw=s[start:j],
            start=self.base + start,
            end=self.base + j,
            quoted=quoted,
        )
        return word, subs

    def _collect_subs(self, j: int, end: int, subs: list[tuple[str, Script]]) -> None:
        """Command substitutions inside a double-quoted string."""
        s = self.s
        while j < end:
            if s[j] == "\\":
                j += 2
                continue
            if s.startswith("$(", j):
                k = self._balanced(j + 2, "(", ")")
                subs.append(self._sub("$(", j + 2, k - 1))
                j = k
                continue
            if s[j] == "`":
                k = s.find("`", j + 1)
                k = end if k < 0 else k
                subs.append(self._sub("`", j + 1, k))
                j = k + 1
                continue
            j += 1


# --- the Dockerfile model ---------------------------------------------------------------------

POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})


@dataclass(frozen=True, slots=True, eq=False)
class ArgDecl:
    """One `NAME[=default]` of an `ARG` instruction, with spans of the name and the default."""

    name: str
    default: str | None
    instr: Instruction
    span: Span
    value_span: Span | None


@dataclass(frozen=True, slots=True, eq=False)
class EnvPair:
    """One `NAME=value` (or legacy `ENV NAME value`) of an `ENV` instruction."""

    name: str
    value: str
    instr: Instruction
    span: Span
    value_span: Span


@dataclass(eq=False)
class Stage:
    """A build stage: its `FROM`, what the base resolved to, and its instructions."""

    index: int
    name: str | None
    from_instr: Instruction
    base_text: str  # the FROM argument as written
    base_span: Span
    base_kind: str  # "image" | "stage" | "scratch" | "templated"
    base_image: ImageRef | None  # the resolved reference when base_kind == "image"
    base_stage: int | None  # index of the earlier stage it builds on
    resolved_by: ArgDecl | None
    instructions: list[Instruction] = field(default_factory=list)
    shell: tuple[str, ...] = ("/bin/sh", "-c")

    @property
    def end_shell(self) -> tuple[str, ...]:
        """The shell in effect after the stage's last `SHELL` instruction."""
        shell = self.shell
        for ins in self.instructions:
            if ins.cmd == "SHELL" and ins.json and ins.value:
                shell = tuple(ins.value)
        return shell

    @property
    def label(self) -> str:
        return self.name if self.name else str(self.index)


@dataclass(eq=False)
class RunScript:
    """The shell script of one `RUN`: `script` holds the commands (empty when the stage's
    `SHELL` is not a POSIX shell, e.g. PowerShell or cmd)."""

    file: SourceFile
    stage: Stage
    instr: Instruction
    script: Script
    offsets: list[int]  # script text offset -> file offset
    posix: bool = True
    onbuild: bool = False  # `ONBUILD RUN`: runs when a child image is built FROM this one

    def note(self, message: str) -> str:
        """A finding's message, saying where the command runs when that is not this build."""
        if self.onbuild:
            return message + " (ONBUILD RUN: runs in every image built FROM this one)"
        return message

    def span(self, start: int, end: int) -> Span:
        """The file span of script text `start..end`."""
        if not self.offsets:
            return self.file.line_span(self.instr.start_line)
        a = self.offsets[min(max(start, 0), len(self.offsets) - 1)]
        b = self.offsets[min(max(end - 1, 0), len(self.offsets) - 1)] + 1
        return self.file.span(a, max(a, b))

    def word_span(self, w: Word) -> Span:
        return self.span(w.start, w.end)

    def commands(self) -> Iterator[Command]:
        yield from self.script.walk()


@dataclass(eq=False)
class Dockerfile:
    file: SourceFile
    global_args: list[ArgDecl]
    stages: list[Stage]
    escape: str = "\\"

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def instructions(self) -> Iterator[tuple[Stage | None, Instruction]]:
        """Every instruction with its stage (None before the first FROM)."""
        for a in self.global_args:
            yield None, a.instr
        for st in self.stages:
            yield st, st.from_instr
            for ins in st.instructions:
                yield st, ins

    def args(self) -> Iterator[ArgDecl]:
        yield from self.global_args
        for st in self.stages:
            for ins in st.instructions:
                if ins.cmd == "ARG":
                    yield from arg_decls(self.file, ins)

    def envs(self) -> Iterator[tuple[Stage, EnvPair]]:
        for st in self.stages:
            for ins in st.instructions:
                if ins.cmd == "ENV":
                    for pair in env_pairs(self.file, ins):
                        yield st, pair


_WINDOWS_RE = re.compile(r"(?i)windows/|nanoserver|servercore")
_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_VAR_RE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def _escape_char(f: SourceFile) -> str:
    for i in range(1, 50):
        line = f.line_text(i)
        if not line.startswith("#"):
            break
        m = _DIRECTIVE_RE.match(line)
        if m and m.group(1).lower() == "escape" and m.group(2) in ("`", "\\"):
            return m.group(2)
    return "\\"


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if text[0] == '"' else inner
    return text


class _Cursor:
    """Finds successive tokens of one instruction in the source, left to right, so that a
    name is not matched inside the keyword or an earlier token."""

    def __init__(self, f: SourceFile, ins: Instruction) -> None:
        self.f = f
        self.ins = ins
        self.line = ins.start_line
        m = re.match(r"\s*\S+", f.line_text(ins.start_line))
        self.col = m.end() if m else 0  # 0-based column to search from

    def find(self, needle: str) -> Span:
        if not needle:
            return self.f.line_span(self.ins.start_line)
        for ln in range(self.line, self.ins.end_line + 1):
            text = self.f.line_text(ln)
            k = text.find(needle, self.col if ln == self.line else 0)
            if k >= 0:
                self.line, self.col = ln, k + len(needle)
                return self.f.line_span(ln, k + 1, len(needle))
        return self.f.line_span(self.ins.start_line)


def arg_decls(f: SourceFile, ins: Instruction) -> Iterator[ArgDecl]:
    cur = _Cursor(f, ins)
    for item in ins.value:
        name, eq, default = item.partition("=")
        span = cur.find(item)
        value_span = None
        if span.end.col - span.start.col == len(item):
            value_span = (
                f.line_span(span.line, span.col + len(name) + 1, len(default)) if eq else None
            )
            span = f.line_span(span.line, span.col, len(name))
        elif eq:
            value_span = span
        yield ArgDecl(name, _unquote(default) if eq else None, ins, span, value_span)


def env_pairs(f: SourceFile, ins: Instruction) -> Iterator[EnvPair]:
    vals = ins.value
    cur = _Cursor(f, ins)
    for k in range(0, len(vals) - 1, 2):
        name, value = vals[k], vals[k + 1]
        span = cur.find(name)
        vspan = cur.find(value) if value else span
        yield EnvPair(name, _unquote(value), ins, span, vspan)


def substitute(text: str, values: dict[str, str | None]) -> str | None:
    """Replace `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` with known values; None when
    a variable has no literal value."""
    unknown = False

    def repl(m: re.Match[str]) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        known = name in values and values[name] is not None
        value = values.get(name) or ""
        if op in (":-", "-"):
            if known and (value or op == "-"):
                return value
            if name in values and not _VAR_RE.search(word):
                return word
            unknown = True
            return m.group(0)
        if op in (":+", "+"):
            if name in values:
                return word if (value or (op == "+" and known)) else ""
            unknown = True
            return m.group(0)
        if known:
            return value
        unknown = True
        return m.group(0)

    out = _VAR_RE.sub(repl, text)
    return None if unknown else out


def parse_dockerfile_model(f: SourceFile) -> Dockerfile:
    global_args: list[ArgDecl] = []
    stages: list[Stage] = []
    current: Stage | None = None
    escape = _escape_char(f)
    # Built once and kept up to date, not per FROM: one file of many stages (or many global
    # ARGs) was quadratic.
    scope: _StageScope | None = None
    for ins in f.instructions:
        if ins.cmd == "FROM":
            if scope is None:
                scope = _StageScope(global_args)  # global ARGs come only before the first FROM
            current = _stage(f, ins, len(stages), scope, stages, windows=escape == "`")
            stages.append(current)
            if current.name:
                scope.stage_names[current.name] = current.index
            continue
        if current is None:
            if ins.cmd == "ARG":
                global_args.extend(arg_decls(f, ins))
            continue
        current.instructions.append(ins)
    return Dockerfile(file=f, global_args=global_args, stages=stages, escape=escape)


class _StageScope:
    """What a FROM line can refer to: the global ARGs and the names of earlier stages."""

    def __init__(self, global_args: list[ArgDecl]) -> None:
        self.args: dict[str, str | None] = {a.name: a.default for a in global_args}
        # The last declaration of each name, with its place (the latest one of several wins).
        self.last_decl: dict[str, tuple[int, ArgDecl]] = {
            a.name: (i, a) for i, a in enumerate(global_args)
        }
        self.stage_names: dict[str, int] = {}


def _stage(
    f: SourceFile,
    ins: Instruction,
    index: int,
    scope: _StageScope,
    earlier: list[Stage],
    *,
    windows: bool,
) -> Stage:
    value = list(ins.value)
    name = None
    if len(value) >= 3 and value[-2].lower() == "as":
        name = value[-1].lower()
        value = value[:-2]
    base = value[0] if value else ""
    span = f.find_span(base, first_line=ins.start_line, last_line=ins.end_line)
    resolved: str | None = base
    by: ArgDecl | None = None
    if "$" in base:
        resolved = substitute(base, scope.args)
        names = {m.group(1) or m.group(4) for m in _VAR_RE.finditer(base)}
        decls = [scope.last_decl[n] for n in names if n in scope.last_decl]
        by = max(decls, key=lambda d: d[0])[1] if decls else None
    stage_names = scope.stage_names
    kind = "image"
    image: ImageRef | None = None
    base_stage = None
    if resolved is None:
        kind = "templated"
    elif resolved.lower() in stage_names:
        kind, base_stage = "stage", stage_names[resolved.lower()]
    elif resolved.lower() == "scratch":
        kind = "scratch"
    else:
        image = parse_image(resolved)
        if image.templated:
            kind = "templated"
    if base_stage is not None:
        shell = earlier[base_stage].end_shell
    elif windows or _WINDOWS_RE.search(resolved or base):
        shell = ("cmd", "/S", "/C")
    else:
        shell = ("/bin/sh", "-c")
    return Stage(
        index=index,
        name=name,
        from_instr=ins,
        base_text=base,
        base_span=span,
        base_kind=kind,
        base_image=image,
        base_stage=base_stage,
        resolved_by=by,
        shell=shell,
    )


@provider(Dockerfile)
def dockerfiles(f: SourceFile) -> Iterator[Dockerfile]:
    if f.kind is FileKind.DOCKERFILE and f.instructions:
        yield parse_dockerfile_model(f)


# --- RUN scripts ------------------------------------------------------------------------------

_FLAG_RE = re.compile(r"--[A-Za-z-]+(?:=\S*)?")


def _run_text(f: SourceFile, ins: Instruction, escape: str) -> tuple[str, list[int]]:
    """The shell text of a non-JSON RUN with a map from text offsets to file offsets: the
    keyword and flags stripped, continuations kept (the splitter skips them), comment lines
    inside the instruction dropped as BuildKit drops them, heredoc bodies left out."""
    lines = f.lines
    chars: list[str] = []
    offsets: list[int] = []
    for ln in range(ins.start_line, ins.end_line + 1):
        text = f.line_text(ln)
        start = lines.line_start(ln)
        col = 0
        if ln == ins.start_line:
            # The keyword (`RUN`, or `ONBUILD RUN`), then the flags.
            m = re.match(r"\s*\S+\s+RUN\b\s*" if ins.cmd == "ONBUILD" else r"\s*\S+\s*", text, re.I)
            col = m.end() if m else 0
            while True:
                fm = _FLAG_RE.match(text, col)
                if not fm:
                    break
                col = fm.end()
                while col < len(text) and text[col] in " \t":
                    col += 1
        elif text.lstrip().startswith("#") or not text.strip():
            continue
        body = text[col:]
        if escape != "\\" and body.rstrip().endswith(escape):
            body = body.rstrip()[:-1] + "\\"
        for k, ch in enumerate(body):
            chars.append(ch)
            offsets.append(start + col + k)
        chars.append("\n")
        offsets.append(start + len(text))
        if ins.heredocs and not body.rstrip().endswith("\\"):
            break  # the rest are heredoc bodies, which BuildKit hands over separately
    return "".join(chars), offsets


def _json_run(f: SourceFile, ins: Instruction) -> tuple[str, list[int]]:
    args = list(ins.value)
    if len(args) >= 3 and _basename(args[0]) in POSIX_SHELLS and args[1] == "-c":
        text = args[2]
    else:
        text = " ".join(_quote(a) for a in args)
    span = f.find_span(
        json.dumps(text)[1:-1][:40], first_line=ins.start_line, last_line=ins.end_line
    )
    base = span.start.offset
    return text, [base + min(k, max(span.end.offset - base - 1, 0)) for k in range(len(text))]


def _quote(a: str) -> str:
    return a if a and re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a.replace("'", "'\\''") + "'"


def _heredoc_body(
    f: SourceFile, ins: Instruction, content: str, after: int
) -> tuple[str, list[int]]:
    pos = f.text.find(content, after) if content else -1
    if pos < 0:
        start = f.lines.line_start(ins.start_line)
        return content, [start] * len(content)
    return content, list(range(pos, pos + len(content)))


def _posix(shell: tuple[str, ...]) -> bool:
    return bool(shell) and _basename(shell[0]).lower() in POSIX_SHELLS


def run_scripts(df: Dockerfile) -> Iterator[RunScript]:
    f = df.file
    for st in df.stages:
        posix = _posix(st.shell)
        for ins in st.instructions:
            if ins.cmd == "SHELL" and ins.json and ins.value:
                posix = _posix(tuple(ins.value))
            onbuild = ins.cmd == "ONBUILD" and (ins.sub_cmd or "").upper() == "RUN"
            if ins.cmd != "RUN" and not onbuild:
                continue
            if not posix:
                yield RunScript(f, st, ins, Script(), [], posix=False, onbuild=onbuild)
                continue
            if ins.json:
                text, offsets = _json_run(f, ins)
                yield RunScript(f, st, ins, split_shell(text), offsets, onbuild=onbuild)
                continue
            text, offsets = _run_text(f, ins, df.escape)
            script = split_shell(text)
            if onbuild:
                yield RunScript(f, st, ins, script, offsets, onbuild=True)
                continue
            if ins.heredocs:
                _attach_heredocs(f, ins, script, text, offsets)
                for body, body_offsets in _heredoc_scripts(f, ins, script):
                    offsets_all = offsets + body_offsets
                    sub = split_shell(body, base=len(offsets))
                    yield RunScript(f, st, ins, sub, offsets_all)
            yield RunScript(f, st, ins, script, offsets)


def _attach_heredocs(
    f: SourceFile, ins: Instruction, script: Script, text: str, offsets: list[int]
) -> None:
    """Give each `<<EOF` command on the RUN line the body BuildKit cut out for it."""
    bodies = [h.content for h in ins.heredocs]
    for cmd in script.walk():
        pending = len(cmd.heredocs)
        del cmd.heredocs[:]
        for _ in range(pending):
            if bodies:
                cmd.heredocs.append(bodies.pop(0))


def _heredoc_scripts(
    f: SourceFile, ins: Instruction, script: Script
) -> Iterator[tuple[str, list[int]]]:
    """Heredoc bodies that are scripts: `RUN <<EOF` alone, or fed to a POSIX shell."""
    after = f.lines.line_start(min(ins.start_line + 1, len(f.lines.starts)))
    cmds = list(script.walk())
    for cmd in cmds:
        if not cmd.heredocs:
            continue
        is_script = not cmd.words or cmd.name in POSIX_SHELLS
        for body in cmd.heredocs:
            if is_script:
                yield _heredoc_body(f, ins, body, after)
        if is_script:
            cmd.heredocs = []
    if not cmds and ins.heredocs:
        for h in ins.heredocs:
            yield _heredoc_body(f, ins, h.content, after)


@provider(RunScript)
def run_script_provider(f: SourceFile) -> Iterator[RunScript]:
    for df in instances_in(f, Dockerfile):
        yield from run_scripts(df)


# --- base images as ImageUses -----------------------------------------------------------------


@image_source
def dockerfile_images(f: SourceFile) -> Iterator[ImageUse]:
    if f.kind is not FileKind.DOCKERFILE:
        return
    for df in instances_in(f, Dockerfile):
        for st in df.stages:
            if st.base_kind not in ("image", "templated"):
                continue
            ref = st.base_image if st.base_image is not None else parse_image(st.base_text)
            related: tuple[Related, ...] = ()
            if st.resolved_by is not None and st.resolved_by.value_span is not None:
                related = (
                    Related(st.resolved_by.value_span, f"ARG {st.resolved_by.name} default"),
                )
            yield ImageUse(
                ref=ref,
                span=st.base_span,
                origin="dockerfile-from",
                where=f"base image of stage {st.label}",
                related=related,
            )
        yield from _copy_from_images(f, df)


def _copy_from_images(f: SourceFile, df: Dockerfile) -> Iterator[ImageUse]:
    names = {s.name for s in df.stages if s.name}
    for st in df.stages:
        for ins in st.instructions:
            if ins.cmd not in ("COPY", "ADD"):
                continue
            src = ins.flag("from")
            if not src or src.isdigit() or src.lower() in names:
                continue
            args: dict[str, str | None] = {a.name: a.default for a in df.global_args}
            resolved = substitute(src, args) if "$" in src else src
            ref = parse_image(resolved if resolved is not None else src)
            span = f.find_span(src, first_line=ins.start_line, last_line=ins.end_line)
            yield ImageUse(
                ref=ref,
                span=span,
                origin="dockerfile-copy-from",
                where=f"COPY --from source in stage {st.label}",
            )


def stage_words(script: RunScript) -> Sequence[Word]:
    return [w for c in script.commands() for w in c.words]
