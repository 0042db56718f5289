"""The git history of a scanned tree, with signatures verified by git itself.

kubeward never re-implements signature checks for commits: it asks `git log` for its `%G?`
verdict, so GPG (through the keyring in `GNUPGHOME`) and SSH signatures (through
`gpg.ssh.allowedSignersFile`) are judged exactly as `git verify-commit` judges them.

`%G?` letters (git-log(1)): G good, U good with unknown validity, X good but expired, Y good
by an expired key, R good by a revoked key, E cannot be checked (missing key, no allowed
signers), B bad, N no signature.

The scanned repository is attacker-controlled and git reads its `.git/config`: git is the only
program kubeward starts, always through `_git_bytes`, with a fixed environment and `-c`
overrides for every setting that would run a program (`git_environment`, `git_overrides`),
and bounded in time and output (`GIT_TIMEOUT_S`, `GIT_BUDGET_S`, `GIT_MAX_OUTPUT`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubeward.parse.yamlnode import YNode, load_documents
from kubeward.registry import Severity, provider, scan_provider
from kubeward.source import FileKind, SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

GIT_TIMEOUT_S = 60  # one git process
GIT_BUDGET_S = 300.0  # every git process of one scan root, together
GIT_MAX_OUTPUT = 64 * 1024 * 1024  # bytes one git process may write before it is stopped
MAX_GIT_DEPTH = 10_000  # the largest `git-depth` a configuration may ask for
_FIELDS = ("%H", "%G?", "%GS", "%GK", "%an", "%s")
_FORMAT = "%x00".join(_FIELDS) + "%x1e"

STATUS_TEXT = {
    "G": "good signature",
    "U": "good signature of unknown validity",
    "X": "good signature that has expired",
    "Y": "good signature by an expired key",
    "R": "good signature by a revoked key",
    "E": "signature that cannot be checked (unknown key or no allowed signers)",
    "B": "bad signature",
    "N": "no signature",
}
VERIFIED = frozenset({"G", "U"})


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    status: str  # a %G? letter
    signer: str
    key: str
    author: str
    subject: str
    is_head: bool

    @property
    def short(self) -> str:
        return self.sha[:12]

    @property
    def verified(self) -> bool:
        """Good, and by a known signer: for SSH, git says U (not G) with no principal when the
        key is in no allowed-signers entry, and `git verify-commit` fails."""
        if self.status == "U":
            return bool(self.signer)
        return self.status in VERIFIED

    @property
    def verdict(self) -> str:
        if self.status == "U" and not self.signer:
            return f"a signature by a key no allowed signer matches ({self.key})"
        return STATUS_TEXT.get(self.status, f"signature status {self.status}")


@dataclass(frozen=True, slots=True)
class GitCheckout:
    """A scan root inside a git repository (or a git directory named in the config)."""

    root: Path  # the scan root as given
    prefix: str  # how the scan shows paths under the root ("" or "root/")
    toplevel: Path  # the work tree's top directory
    git_dir: Path | None = None  # explicit git directory (a bare mirror), else discovered


@dataclass(frozen=True, slots=True)
class History:
    checkout: GitCheckout
    commits: tuple[Commit, ...]
    error: str | None = None  # why the history could not be read in full (an error entry)


class GitError(Exception):
    """The repository cannot be read as git history (corrupt `.git`, a bad HEAD, a broken
    object, the time budget spent): `str()` is the reason, for an error entry."""


class GitBudget:
    """The time left for every git process of one scan root (`GIT_BUDGET_S` in all)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = GIT_BUDGET_S if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds

    def timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise GitError(f"the git time budget of {self.seconds:g} s is used up")
        return min(float(GIT_TIMEOUT_S), left)


# --- running git without letting the repository choose what runs --------------------------------
#
# The scanned tree is attacker-controlled, and git reads the repository's own `.git/config`
# (and, through `include.path`, files it names). Every setting with which git would run a
# program, read another keyring or trust list, or page, is fixed on the command line: `-c`
# beats every configuration file. The environment is rebuilt without the caller's `GIT_*`
# variables; the user's system and global configuration files are not read at all
# (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`) except for the values kubeward asks
# for by name (`safe.directory`, `gpg.ssh.allowedSignersFile`, `gpg.ssh.revocationFile`, see
# `_user_config`).


def _which(name: str) -> str | None:
    """`name` on PATH, searching its absolute entries only: a relative entry (`.`, or an
    empty one) would find a program in the scanned checkout, git's working directory."""
    dirs = [d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if os.path.isabs(d)]
    return shutil.which(name, path=os.pathsep.join(dirs))


@functools.cache
def _program(name: str) -> str:
    """An absolute path for a verification program, found on PATH by kubeward (not by git,
    from a path the repository chose); the bare name when it is not installed, so git fails
    to run it and reports the signature as one it cannot check."""
    return _which(name) or name


@functools.cache
def _user_config(key: str) -> tuple[str, ...]:
    """The values of `key` in the user's own (system, then global) git configuration: read by
    git with no repository in sight (cwd `/`), so no repository file is involved."""
    values: list[str] = []
    for scope in ("--system", "--global"):
        try:
            out = subprocess.run(
                [_GIT, "config", scope, "--includes", "--type=path", "--get-all", key],
                cwd="/",
                env={k: v for k, v in os.environ.items() if k not in _REPO_ENV},
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            values.extend(out.stdout.splitlines())
    return tuple(values)


_GIT = _which("git") or "git"

# Variables that would point git at another repository or add configuration.
_REPO_ENV = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    }
)


def git_environment(gnupghome: Path | None = None) -> dict[str, str]:
    """The fixed environment of every git process kubeward starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_PAGER": "cat",
            "PAGER": "cat",
            "GIT_OPTIONAL_LOCKS": "0",  # reading must not write the index
            "GIT_NO_REPLACE_OBJECTS": "1",  # judge the commits themselves, not replacements
            "GIT_NO_LAZY_FETCH": "1",  # a partial clone must not fetch from its remote
            "LC_ALL": "C",
        }
    )
    env.pop("GIT_EXTERNAL_DIFF", None)
    if gnupghome is not None:
        env["GNUPGHOME"] = str(gnupghome)
    return env


def git_overrides(allowed_signers: Path | None = None) -> list[str]:
    """The `-c` options that take every program-running setting away from the repository."""
    signers = str(allowed_signers) if allowed_signers is not None else os.devnull
    revoked = _user_config("gpg.ssh.revocationFile")  # the user's own list still applies
    gpg = _program("gpg")
    opts = {
        "gpg.program": gpg,
        "gpg.openpgp.program": gpg,
        "gpg.x509.program": _program("gpgsm"),
        "gpg.ssh.program": _program("ssh-keygen"),
        "gpg.ssh.allowedSignersFile": signers,
        "gpg.ssh.revocationFile": revoked[-1] if revoked and revoked[-1] else os.devnull,
        "gpg.ssh.defaultKeyCommand": "false",
        "gpg.minTrustLevel": "undefined",  # git's default: the verdict letters say the rest
        "core.fsmonitor": "false",
        "safe.bareRepository": "explicit",  # no bare repository found inside the tree
        "core.hooksPath": os.devnull,
        "core.pager": "cat",
        "core.sshCommand": "false",
        "core.alternateRefsCommand": "false",
        "core.askPass": "false",
        "credential.helper": "",
        "diff.external": "false",
        "gc.auto": "0",
        "maintenance.auto": "false",
        "log.showSignature": "false",
        "protocol.allow": "never",  # no fetch, no remote helper
    }
    args: list[str] = []
    for key, value in opts.items():
        args += ["-c", f"{key}={value}"]
    # safe.directory is honoured only from protected (system, global, command line)
    # configuration: pass the user's own entries on, and nothing else, so a repository owned
    # by someone else is still refused unless the user trusts it.
    for value in _user_config("safe.directory"):
        args += ["-c", f"safe.directory={value}"]
    return args


def _bounded_run(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdin: bytes | None,
    budget: GitBudget,
) -> tuple[int, bytes, str, bool]:
    """Run `cmd` within the budget's timeout and `GIT_MAX_OUTPUT`: (returncode, stdout,
    stderr, cut) where `cut` says the output was cut at the limit: the process is killed
    then, and the return code is 0 (the output up to the cut is what the caller reads)."""
    timeout = budget.timeout()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a kill reaches gpg or ssh-keygen started by git too
    )
    assert proc.stdout is not None and proc.stderr is not None
    if stdin is not None:
        assert proc.stdin is not None
        pipe = proc.stdin

        def feed() -> None:
            try:
                pipe.write(stdin)
                pipe.close()
            except OSError:
                pass  # git stopped reading: its exit status says why

        threading.Thread(target=feed, daemon=True).start()
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    cut = timed_out = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        while sel.get_map() and not (cut or timed_out):
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(left):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf: bytearray = key.data
                if buf is err and len(err) > 1 << 16:
                    continue  # keep the start of stderr only
                buf += chunk
                if len(out) > GIT_MAX_OUTPUT:
                    cut = True
                    break
    if not (cut or timed_out):
        try:  # both pipes closed: git is exiting, but it may not outlive its time either
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            timed_out = True
    if cut or timed_out:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.stdout.close()
    proc.stderr.close()
    code = proc.wait()
    if timed_out:
        raise GitError(f"git {cmd_name(cmd)} did not finish within {timeout:.0f} s")
    return 0 if cut else code, bytes(out[:GIT_MAX_OUTPUT]), err.decode("utf-8", "replace"), cut


def cmd_name(cmd: Sequence[str]) -> str:
    """The git subcommand of a command line (for messages)."""
    skip = False
    for word in cmd[1:]:
        if skip:
            skip = False
        elif word == "-c":
            skip = True
        elif not word.startswith("-"):
            return word
    return "git"


def _git_bytes(
    args: Sequence[str],
    *,
    cwd: Path,
    budget: GitBudget,
    git_dir: Path | None = None,
    allowed_signers: Path | None = None,
    gnupghome: Path | None = None,
    stdin: bytes | None = None,
) -> tuple[int, bytes, str, bool]:
    cmd = [_GIT, "--no-pager", *git_overrides(allowed_signers)]
    if git_dir is not None:
        cmd += [f"--git-dir={git_dir}", f"--work-tree={cwd}"]
    cmd += list(args)
    try:
        return _bounded_run(
            cmd, cwd=cwd, env=git_environment(gnupghome), stdin=stdin, budget=budget
        )
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None


def _git(
    args: Sequence[str], *, cwd: Path, budget: GitBudget, git_dir: Path | None = None, **kw: Any
) -> tuple[int, str, str, bool]:
    code, out, err, cut = _git_bytes(args, cwd=cwd, budget=budget, git_dir=git_dir, **kw)
    # errors="replace": diffs of files in other encodings must not stop the rule
    return code, out.decode("utf-8", "replace"), err, cut


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "no message")
    return line[:300]


def _nearest_dotgit(base: Path) -> Path | None:
    """The nearest `.git` (directory or file) at or above `base`."""
    d = base.resolve()
    for folder in (d, *d.parents):
        if os.path.lexists(folder / ".git"):
            return folder / ".git"
    return None


def find_checkout(
    root: Path, *, git_dir: Path | None = None, budget: GitBudget | None = None
) -> GitCheckout | None:
    """The git work tree holding `root` (None when it is not inside one, or git is missing).

    Raises `GitError` when there is a `.git` git cannot use (a `.git` file pointing nowhere,
    a bad HEAD): a commit check silently switched off by a corrupt repository is a lie.
    """
    budget = budget or GitBudget()
    base = root if root.is_dir() else root.parent
    prefix = "" if str(root) in (".", "") else root.as_posix().rstrip("/") + "/"
    if not os.path.isabs(_GIT):
        return None
    if git_dir is not None:
        code, _out, err, _cut = _git(
            ["rev-parse", "--git-dir"], cwd=base, budget=budget, git_dir=git_dir.resolve()
        )
        if code != 0:
            raise GitError(f"git-dir {git_dir} is not a usable git repository: {_first_line(err)}")
        return GitCheckout(root, prefix, base.resolve(), git_dir.resolve())
    code, out, err, _cut = _git(["rev-parse", "--show-toplevel"], cwd=base, budget=budget)
    dotgit = _nearest_dotgit(base)
    if code != 0 or not out.strip():
        if dotgit is None:
            return None  # not inside a repository: nothing to check
        raise GitError(f"{dotgit} is not a usable git repository: {_first_line(err)}")
    toplevel = Path(out.strip())
    if dotgit is not None and dotgit.parent.resolve() != toplevel.resolve():
        # git skipped a broken `.git` below the repository it found
        raise GitError(f"{dotgit} is not a usable git repository (git found {toplevel} above it)")
    return GitCheckout(root, prefix, toplevel)


def read_history(
    checkout: GitCheckout,
    *,
    depth: int,
    allowed_signers: Path | None = None,
    gnupghome: Path | None = None,
    budget: GitBudget | None = None,
) -> History:
    """The last `depth` commits from HEAD (at most `MAX_GIT_DEPTH`) with git's own signature
    verdicts. `error` says why the history is incomplete (it is then an error entry)."""
    budget = budget or GitBudget()
    depth = min(depth, MAX_GIT_DEPTH)
    if depth <= 0:
        return History(checkout, ())
    args = ["log", "--no-textconv", "--no-ext-diff", f"-n{depth}", f"--format={_FORMAT}"]
    args += ["--"]  # HEAD; not named, so that an unborn branch says so
    # A scan of a sub-directory (or of one file) judges the commits that changed it, not the
    # whole repository.
    base = checkout.root.resolve()
    if checkout.git_dir is None and base != checkout.toplevel.resolve():
        args.append(os.path.relpath(base, checkout.toplevel.resolve()))
    if allowed_signers is None:
        from_user = _user_config("gpg.ssh.allowedSignersFile")
        allowed_signers = Path(from_user[-1]) if from_user and from_user[-1] else None
    top, git_dir = checkout.toplevel, checkout.git_dir
    try:
        code, out, err, cut = _git(
            args,
            cwd=top,
            git_dir=git_dir,
            budget=budget,
            allowed_signers=allowed_signers,
            gnupghome=gnupghome,
        )
        if code != 0 and "does not have any commits yet" in err:
            return History(checkout, ())  # a new repository: no history to judge
        if code != 0:
            return History(checkout, (), f"git log failed: {_first_line(err)}")
        verify_head = ["rev-parse", "--verify", "HEAD^{commit}"]
        hcode, head, herr, _ = _git(verify_head, cwd=top, git_dir=git_dir, budget=budget)
        if hcode != 0:
            return History(checkout, (), f"bad HEAD: {_first_line(herr)}")
    except GitError as e:
        return History(checkout, (), str(e))
    head_sha = head.strip()
    commits = []
    records = out.split("\x1e")
    if cut:
        records = records[:-1]  # the last record may be incomplete
    for record in (r for r in records if r.strip()):
        parts = record.strip("\n").split("\x00")
        if len(parts) != len(_FIELDS):
            continue
        sha, status, signer, key, author, subject = parts
        commits.append(
            Commit(sha, status or "N", signer, key, author, subject, is_head=sha == head_sha)
        )
    error = None
    if cut:
        error = f"git log output cut at {GIT_MAX_OUTPUT} bytes; older commits not checked"
    # git says N (no signature) for a signature it could not check, and, with no allowed
    # signers given, U for any SSH signature: the commit headers tell which carry one.
    unsure = [
        c.sha for c in commits if c.status == "N" or (allowed_signers is None and c.status == "U")
    ]
    try:
        kinds = _signature_kinds(checkout, unsure, budget)
    except GitError as e:
        kinds, error = {}, error or str(e)
    fixed = []
    for c in commits:
        kind = kinds.get(c.sha)
        if c.status == "N" and kind is not None:
            c = replace(c, status="E")
        elif c.status == "U" and allowed_signers is None and kind == "ssh":
            c = replace(c, status="E", signer="")  # no allowed signers: it cannot be checked
        fixed.append(c)
    return History(checkout, tuple(fixed), error)


_SIG_KINDS = (
    (b"-----BEGIN SSH SIGNATURE-----", "ssh"),
    (b"-----BEGIN SIGNED MESSAGE-----", "x509"),
    (b"-----BEGIN PGP", "openpgp"),
)


def _signature_kinds(checkout: GitCheckout, shas: list[str], budget: GitBudget) -> dict[str, str]:
    """The kind of signature (ssh, x509, openpgp) each commit among `shas` carries in its
    `gpgsig` header; commits without one are left out."""
    if not shas:
        return {}
    code, data, err, _cut = _git_bytes(
        ["cat-file", "--batch"],
        cwd=checkout.toplevel,
        git_dir=checkout.git_dir,
        budget=budget,
        stdin=("\n".join(shas) + "\n").encode(),
    )
    if code != 0:
        raise GitError(f"git cat-file failed: {_first_line(err)}")
    found: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl == -1:
            break
        header = data[pos:nl].split()
        if len(header) != 3 or header[1] != b"commit" or not header[2].isdigit():
            break
        size = int(header[2])
        head = data[nl + 1 : nl + 1 + size].split(b"\n\n", 1)[0]
        for marker in (b"\ngpgsig ", b"\ngpgsig-sha256 "):
            at = head.find(marker)
            if at != -1:
                sig = head[at + len(marker) : at + len(marker) + 40]
                kind = next((k for m, k in _SIG_KINDS if sig.startswith(m)), "openpgp")
                found[header[0].decode()] = kind
                break
        pos = nl + 1 + size + 1
    return found


_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


_MAX_ADDED_PER_FILE = 400


def added_lines(
    checkout: GitCheckout, sha: str, *, budget: GitBudget | None = None
) -> dict[str, list[tuple[int, str]]]:
    """For each file a commit added lines to (path relative to the work tree, in diff order),
    the added lines as (line number in the commit's version of the file, text); at most
    `_MAX_ADDED_PER_FILE` per file. Raises `GitError` when git cannot show the commit."""
    code, out, err, _cut = _git(
        ["show", "--no-textconv", "--no-ext-diff", "--format=", "--unified=0", "--no-color",
         "--no-renames", sha],
        cwd=checkout.toplevel,
        git_dir=checkout.git_dir,
        budget=budget or GitBudget(),
    )  # fmt: skip
    if code != 0:
        raise GitError(f"git show {sha[:12]} failed: {_first_line(err)}")
    # A diff cut at GIT_MAX_OUTPUT still gives the files and lines before the cut.
    path: str | None = None
    added: dict[str, list[tuple[int, str]]] = {}
    line_no = 0
    in_header = False  # between `diff --git` and the first hunk: `+++ b/path` is a header
    for line in out.splitlines():
        if line.startswith("diff --git "):
            in_header, path = True, None
            continue
        if in_header and line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else None
            continue
        m = _HUNK_RE.match(line)
        if m:
            in_header, line_no = False, int(m.group(1))
            continue
        if in_header or path is None or not line.startswith("+"):
            continue
        got = added.setdefault(path, [])
        if len(got) < _MAX_ADDED_PER_FILE:
            got.append((line_no, line[1:].rstrip("\r")))
        line_no += 1
    return added


@dataclass(frozen=True, slots=True)
class ScanRoot:
    """A path the user asked to scan (git rules resolve its repository with their params)."""

    path: Path


@scan_provider(ScanRoot)
def scan_roots(scan: ScanContext) -> Iterator[ScanRoot]:
    for root in scan.roots:
        yield ScanRoot(Path(root))


# --- committed credentials -----------------------------------------------------------------------

_PEM_PRIVATE_RE = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----")
_PLACEHOLDER_RE = re.compile(
    r"^(?:|<[^>]*>|x+|X+|\*+|\.\.\.|redacted|changeme|placeholder|todo|none|null|example|"
    r"your[-_ ].*|fake.*|dummy.*)$",
    re.I,
)


_BASE64_BODY_RE = re.compile(r"^[A-Za-z0-9+/=]{40,}$")


def _looks_like_key_body(body: str) -> bool:
    """Base64 (at least 40 characters) once PEM headers, YAML/JSON quoting and `\\n`
    escapes are set aside: `<your key here>` and `...` are not keys."""
    lines = body.replace("\\n", "\n").split("\n")
    kept = [ln.strip().strip("\"'|") for ln in lines if ":" not in ln]
    return bool(_BASE64_BODY_RE.match("".join(kept)))


@dataclass(frozen=True, slots=True)
class Credential:
    """A private key or credential found in a committed file."""

    span: Span
    message: str
    severity: Severity | None = None


def _is_secret_value(node: YNode | None) -> bool:
    if node is None or node.text is None or node.is_templated:
        return False
    return not _PLACEHOLDER_RE.match(node.text.strip())


def _pem_keys(f: SourceFile) -> Iterator[Credential]:
    for m in _PEM_PRIVATE_RE.finditer(f.text):
        end = f.text.find("-----END", m.end())
        body = f.text[m.end() : end if end != -1 else m.end() + 200]
        if not _looks_like_key_body(body):
            continue  # a documentation stub or placeholder, not a key
        label = m.group(1).strip()
        encrypted = "ENCRYPTED" in label
        what = f"{label.lower()} private key".strip() if label else "private key"
        msg = f"{what} committed in {f.rel.rsplit('/', 1)[-1]}"
        if encrypted:
            msg += " (encrypted, but open to offline guessing of its password)"
        yield Credential(f.span(m.start(), m.end()), msg, Severity.HIGH if encrypted else None)


def _kubeconfig(f: SourceFile, doc: YNode) -> Iterator[Credential]:
    if doc.get_str("kind") != "Config" or doc.get("users") is None:
        return
    for entry in doc.get("users").seq():  # type: ignore[union-attr]
        user = entry.get("user")
        if user is None or not user.is_map:
            continue
        for key in ("token", "client-key-data", "password"):
            value = user.get(key)
            if _is_secret_value(value):
                name = entry.get_str("name") or "<unnamed>"
                yield Credential(
                    value.span,  # type: ignore[union-attr]
                    f"kubeconfig user {name} carries a {key} in {f.rel.rsplit('/', 1)[-1]}",
                )


def _docker_auths(f: SourceFile, auths: YNode, where: str) -> Iterator[Credential]:
    for host, entry in auths.items():
        if not entry.is_map:
            continue
        for key in ("auth", "password", "identitytoken", "registrytoken"):
            value = entry.get(key)
            if _is_secret_value(value):
                yield Credential(
                    value.span,  # type: ignore[union-attr]
                    f"registry credential ({key}) for {host.text} in {where}",
                )
                break


def _docker_secret(f: SourceFile, doc: YNode) -> Iterator[Credential]:
    if doc.get_str("kind") != "Secret":
        return
    if doc.get_str("type") != "kubernetes.io/dockerconfigjson":
        return
    for section, decode in (("data", True), ("stringData", False)):
        value = doc.dig(section, ".dockerconfigjson")
        if value is None or value.text is None or value.is_templated:
            continue
        text = value.text
        if decode:
            try:
                text = base64.b64decode(text, validate=False).decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        auths = data.get("auths") if isinstance(data, dict) else None
        if isinstance(auths, dict) and any(
            isinstance(v, dict)
            and any(
                isinstance(v.get(k), str) and not _PLACEHOLDER_RE.match(v[k])
                for k in ("auth", "password", "identitytoken")
            )
            for v in auths.values()
        ):
            name = doc.dig("metadata", "name")
            yield Credential(
                value.span,
                f"Secret {name.text if name is not None else ''} holds registry credentials "
                "in .dockerconfigjson",
            )


def _documents(f: SourceFile) -> list[YNode]:
    """The parsed documents; key-material files (kubeconfig, .dockerconfigjson) are read as
    text by discovery, so they are parsed here (quietly: a PEM file is not YAML)."""
    if f.kind != FileKind.OTHER or f.documents or "PRIVATE KEY-----" in f.text:
        return f.documents
    try:
        return load_documents(f.text, f.rel, max_nodes=100_000)
    except (yaml.YAMLError, ValueError, RecursionError):
        return []


# Registry and package-index credential files, by name: (pattern of a secret line, what).
_CREDENTIAL_LINES = {
    ".npmrc": (re.compile(r"(?:_authToken|_auth|_password)\s*=\s*(\S+)"), "npm registry token"),
    ".pypirc": (
        re.compile(r"^\s*password\s*[=:][ \t]*(.+?)[ \t]*$", re.M),
        "package index password",
    ),
    ".netrc": (re.compile(r"\bpassword\s+(\S+)"), "netrc password"),
}


def _credential_lines(f: SourceFile) -> Iterator[Credential]:
    name = f.rel.rsplit("/", 1)[-1]
    found = _CREDENTIAL_LINES.get(name)
    if found is None:
        return
    pattern, what = found
    for m in pattern.finditer(f.text):
        value = m.group(1).strip("\"'")
        if _PLACEHOLDER_RE.match(value) or "$" in value or "{{" in value:
            continue
        yield Credential(f.span(m.start(1), m.end(1)), f"{what} committed in {name}", Severity.HIGH)


@provider(Credential)
def credentials(f: SourceFile) -> Iterator[Credential]:
    if f.kind not in (FileKind.OTHER, FileKind.YAML, FileKind.HELM_VALUES):
        return
    if f.kind == FileKind.OTHER:
        yield from _credential_lines(f)
    if "PRIVATE KEY-----" in f.text:
        yield from _pem_keys(f)
    for doc in _documents(f):
        if not doc.is_map:
            continue
        yield from _kubeconfig(f, doc)
        yield from _docker_secret(f, doc)
        auths = doc.get("auths")
        if auths is not None and auths.is_map:
            yield from _docker_auths(f, auths, f.rel.rsplit("/", 1)[-1])
