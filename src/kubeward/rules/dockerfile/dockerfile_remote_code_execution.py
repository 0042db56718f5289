"""The `dockerfile-remote-code-execution` rule: RUN executes code fetched from the network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.dockerfile import Command, Dockerfile, Pipeline, RunScript, Script, Word
from kubeward.registry import Finding, Layer, Related, Severity, instances_in, rule
from kubeward.rules.dockerfile._common import (
    DOWNLOADERS,
    INTERPRETERS,
    SLSA_COMPROMISED_DEPENDENCY,
    VERIFIERS,
    flag_value,
    has_flag,
    is_url,
)


def _url(cmd: Command) -> Word | None:
    return next((w for w in cmd.argv[1:] if is_url(w.text) or "://" in w.text), None)


def _stdout_download(cmd: Command) -> bool:
    """A downloader writing what it fetched to stdout."""
    argv = cmd.argv
    if cmd.name not in DOWNLOADERS or not argv:
        return False
    if cmd.redirects and any(op in (">", ">>", "1>") for op, _ in cmd.redirects):
        return False
    if cmd.name == "curl":
        outs = [v for _, v in flag_value(argv, "--output", "-o")]
        remote = has_flag(argv, "--remote-name", "-O", "--remote-name-all")
        return (not outs or "-" in outs) and remote is None
    if cmd.name == "wget":
        outs = [v for _, v in flag_value(argv, "--output-document", "-O")]
        return "-" in outs
    return any(v == "-" for _, v in flag_value(argv, "-o"))


def _executes_stdin(cmd: Command) -> bool:
    """An interpreter reading its program from stdin (`sh`, `bash -s -- x`, `python3 -`)."""
    if cmd.name not in INTERPRETERS:
        return False
    for w in cmd.argv[1:]:
        t = w.text
        if t in ("-s", "-", "--"):
            return True
        if t in ("-c", "-m", "-e", "-r") or (
            t.startswith("-") and "c" in t[1:] and t[1:].isalpha()
        ):
            return False
        if not t.startswith("-"):
            return False  # runs a script file; stdin is data
    return True


def _download_target(cmd: Command) -> str | None:
    """The file a downloader writes (by option, redirect or the URL's basename)."""
    argv = cmd.argv
    for op, w in cmd.redirects:
        if op in (">", ">>", "1>"):
            return w.text
    if cmd.name == "curl":
        outs = [v for _, v in flag_value(argv, "--output", "-o") if v != "-"]
        if outs:
            return outs[0]
        if has_flag(argv, "--remote-name", "-O"):
            url = _url(cmd)
            return _basename(url.text) if url else None
        return None
    if cmd.name == "wget":
        outs = [v for _, v in flag_value(argv, "--output-document", "-O")]
        if outs:
            return None if outs[0] == "-" else outs[0]
        url = _url(cmd)
        return _basename(url.text) if url else None
    return None


def _basename(text: str) -> str:
    return text.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _names(path: str) -> set[str]:
    base = path.rsplit("/", 1)[-1]
    return {path, base, f"./{base}"} - {""}


def _executes_file(cmd: Command, target: str) -> bool:
    argv = cmd.argv
    if not argv:
        return False
    names = _names(target)
    first = argv[0].text
    if first in names or (
        first.startswith("/")
        and first.rsplit("/", 1)[-1] == target.rsplit("/", 1)[-1]
        and "/" in target
    ):
        return True
    if cmd.name in INTERPRETERS or cmd.name in ("source", "."):
        args = [w.text for w in argv[1:] if not w.text.startswith("-")]
        return bool(args) and args[0] in names
    if cmd.name == "dpkg" and has_flag(argv, "-i", "--install"):
        return any(w.text in names for w in argv[1:])
    if cmd.name == "rpm" and has_flag(argv, "-i", "-U", "--install", "--upgrade"):
        return any(w.text in names for w in argv[1:])
    return False


def _verifies(cmd: Command, mentioned: set[str], pipeline_words: set[str]) -> bool:
    if cmd.name not in VERIFIERS:
        return False
    if cmd.name == "openssl" and not any(w.text in ("dgst", "sha256", "sha512") for w in cmd.argv):
        return False
    if mentioned & pipeline_words:
        return True
    # A checksum list (`sha256sum -c SHA256SUMS`) or a detached signature naming its own file.
    return any(w.text in ("-c", "--check", "--verify", "verify-blob") for w in cmd.argv)


@dataclass
class _Pending:
    cmd: Command
    script: RunScript
    url: Word
    target: str
    copies: list[str]  # where `install`/`cp`/`mv`/`ln` put the file since (it runs from there)

    @property
    def paths(self) -> list[str]:
        return [self.target, *self.copies]

    @property
    def names(self) -> set[str]:
        return {n for t in self.paths for n in _names(t)}


_COPIERS = frozenset({"install", "cp", "mv", "ln"})
_COPY_VALUE_FLAGS = frozenset({"-m", "--mode", "-o", "--owner", "-g", "--group", "-S"})
_BIN_DIRS = frozenset({"/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin"})


def _copy_dest(cmd: Command, names: set[str]) -> str | None:
    """Where `install SRC DEST` (and `cp`, `mv`, `ln -s`) puts one of `names`, if it does."""
    if cmd.name not in _COPIERS or len(cmd.argv) < 3:
        return None
    argv = [w.text for w in cmd.argv[1:]]
    target_dir = next((v for _, v in flag_value(cmd.argv, "-t", "--target-directory")), None)
    pos: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in _COPY_VALUE_FLAGS or a in ("-t", "--target-directory"):
            skip = True
        elif not a.startswith("-"):
            pos.append(a)
    if target_dir is None:
        if len(pos) < 2:
            return None
        pos, dest = pos[:-1], pos[-1]
    else:
        dest = target_dir + "/"
    src = next((x for x in pos if x in names), None)
    if src is None:
        return None
    if dest.endswith("/") or dest in _BIN_DIRS or target_dir is not None:
        return dest.rstrip("/") + "/" + src.rsplit("/", 1)[-1]
    return dest


@rule(
    id="dockerfile-remote-code-execution",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://docs.docker.com/reference/dockerfile/#add---checksum",
    ),
)
def remote_code_execution(df: Dockerfile) -> Iterator[Finding]:
    """RUN executes code fetched from the network without checking what was fetched.

    Flags `curl ... | sh` (and `wget -qO- ... | bash`, `| python3`, `| sudo -E bash -`),
    an interpreter running a command substitution of a download (`sh -c "$(curl ...)"`,
    `eval "$(wget -qO- ...)"`), a process substitution (`bash <(curl ...)`), and a file that is
    downloaded and later executed (`./install.sh`, `sh install.sh`, `dpkg -i x.deb`, or
    `curl -LO .../kubectl && install kubectl /usr/local/bin/ && kubectl version`: copies made
    with `install`, `cp`, `mv`, `ln` are followed) with no checksum or signature check
    (`sha256sum -c`, `gpg --verify`, `cosign verify-blob`...) in between, in the same stage.
    Downloads that are only unpacked or verified are not flagged. `ONBUILD RUN` is analysed
    like `RUN`; its findings say that it runs in every image built from this one.

    ## Why it matters
    Whatever the server (or anyone on the path, or whoever took over the domain) returns at
    build time runs as root inside the build, and its output ships in the image. Nothing
    records which script ran, so the build is neither reproducible nor reviewable (SLSA threat
    D: use compromised dependency).

    ## Remediation
    Download to a file, verify it against a checksum (or signature) you committed, then run it:

        RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh \\
         && echo "3b0c...e9a1  /tmp/install.sh" | sha256sum -c - \\
         && sh /tmp/install.sh

    Better still, install a released, signed package, or `ADD --checksum=sha256:...` the file.

    ## Example
        # bad
        RUN curl -fsSL https://get.example.com | sh
        # good
        RUN curl -fsSLo /tmp/i.sh https://get.example.com \\
         && echo "<sha256>  /tmp/i.sh" | sha256sum -c - && sh /tmp/i.sh
    """
    # Grouped once: looking through every script for each stage was quadratic.
    by_stage: dict[int, list[RunScript]] = {}
    for script in instances_in(df.file, RunScript):
        by_stage.setdefault(id(script.stage), []).append(script)
    for stage in df.stages:
        pending: list[_Pending] = []
        child: list[_Pending] = []  # ONBUILD RUNs run together, later, in the child's build
        for script in by_stage.get(id(stage), ()):
            yield from _piped(script)
            yield from _downloaded_then_run(script, child if script.onbuild else pending)


def _piped(script: RunScript) -> Iterator[Finding]:
    for pipeline in _all_pipelines(script.script):
        cmds = pipeline.commands
        for i, cmd in enumerate(cmds):
            if not _stdout_download(cmd):
                continue
            runner = next((c for c in cmds[i + 1 :] if _executes_stdin(c)), None)
            if runner is None or any(c.name in VERIFIERS for c in cmds[i + 1 :]):
                continue
            url = _url(cmd)
            what = url.text if url else "a download"
            yield Finding(
                script.word_span(cmd.argv[0]),
                script.note(
                    f"{cmd.name} pipes {what} straight into {runner.name}; nothing checks what runs"
                ),
                related=(Related(script.word_span(runner.argv[0]), f"executed by {runner.name}"),),
            )
    for cmd in script.commands():
        runs = cmd.name in INTERPRETERS or cmd.name in ("eval", "source", ".")
        if not runs:
            continue
        for kind, sub in cmd.subs:
            dl = next((c for c in sub.walk() if _stdout_download(c)), None)
            if dl is None:
                continue
            url = _url(dl)
            how = "process substitution" if kind == "<(" else "command substitution"
            yield Finding(
                script.word_span(dl.argv[0]),
                script.note(
                    f"{cmd.name} runs the output of {dl.name} {url.text if url else ''} through "
                    f"a {how}; nothing checks what runs".replace("  ", " ")
                ),
                related=(Related(script.word_span(cmd.argv[0]), f"executed by {cmd.name}"),),
            )


def _all_pipelines(script: Script) -> Iterator[Pipeline]:
    for p in script.pipelines:
        yield p
        for c in p.commands:
            for _, sub in c.subs:
                yield from _all_pipelines(sub)


def _downloaded_then_run(script: RunScript, pending: list[_Pending]) -> Iterator[Finding]:
    for pipeline in _all_pipelines(script.script):
        words = {w.text for c in pipeline.commands for w in c.words}
        words |= {h for c in pipeline.commands for h in _heredoc_words(c)}
        for cmd in pipeline.commands:
            if cmd.name in VERIFIERS:
                pending[:] = [p for p in pending if not _verifies(cmd, p.names, words)]
                continue
            for p in list(pending):
                if any(_executes_file(cmd, t) for t in p.paths):
                    pending.remove(p)
                    via = f", installed as {p.copies[-1]}," if p.copies else ""
                    yield Finding(
                        p.script.word_span(p.cmd.argv[0]),
                        p.script.note(
                            f"{p.url.text} is downloaded to {p.target}{via} and executed "
                            "without a checksum or signature check"
                        ),
                        related=(Related(script.word_span(cmd.argv[0]), "executed here"),),
                    )
                elif (dest := _copy_dest(cmd, p.names)) is not None:
                    p.copies.append(dest)
            if cmd.name in DOWNLOADERS and not _stdout_download(cmd):
                url = _url(cmd)
                target = _download_target(cmd)
                if url is not None and target:
                    pending.append(_Pending(cmd, script, url, target, []))


def _heredoc_words(cmd: Command) -> Iterator[str]:
    for body in cmd.heredocs:
        yield from body.split()
