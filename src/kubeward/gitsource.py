"""The git history of a scanned tree, with signatures verified by git itself.

kubeward never re-implements signature checks for commits: it asks `git log` for its `%G?`
verdict, so GPG (through the keyring in `GNUPGHOME`) and SSH signatures (through
`gpg.ssh.allowedSignersFile`) are judged exactly as `git verify-commit` judges them.

`%G?` letters (git-log(1)): G good, U good with unknown validity, X good but expired, Y good
by an expired key, R good by a revoked key, E cannot be checked (missing key, no allowed
signers), B bad, N no signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kubeward.parse.yamlnode import YNode, load_documents
from kubeward.registry import Severity, provider, scan_provider
from kubeward.source import FileKind, SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

GIT_TIMEOUT_S = 60
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
    error: str | None = None


def _git(
    args: Sequence[str],
    *,
    cwd: Path,
    git_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    cmd = ["git"]
    if git_dir is not None:
        cmd += [f"--git-dir={git_dir}", f"--work-tree={cwd}"]
    cmd += ["-c", "log.showSignature=false", *args]
    return subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {}), "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",  # diffs of files in other encodings must not stop the rule
        timeout=GIT_TIMEOUT_S,
        check=False,
    )


def find_checkout(root: Path, *, git_dir: Path | None = None) -> GitCheckout | None:
    """The git work tree holding `root` (None when it is not inside one, or git is missing)."""
    base = root if root.is_dir() else root.parent
    prefix = "" if str(root) in (".", "") else root.as_posix().rstrip("/") + "/"
    if git_dir is not None:
        return GitCheckout(root, prefix, base.resolve(), git_dir.resolve())
    try:
        out = _git(["rev-parse", "--show-toplevel"], cwd=base)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return GitCheckout(root, prefix, Path(out.stdout.strip()))


def read_history(
    checkout: GitCheckout,
    *,
    depth: int,
    allowed_signers: Path | None = None,
    gnupghome: Path | None = None,
) -> History:
    """The last `depth` commits from HEAD with git's own signature verdicts."""
    if depth <= 0:
        return History(checkout, ())
    args = []
    if allowed_signers is not None:
        args += ["-c", f"gpg.ssh.allowedSignersFile={allowed_signers}"]
    args += ["log", f"-n{depth}", f"--format={_FORMAT}", "HEAD", "--"]
    # A scan of a sub-directory (or of one file) judges the commits that changed it, not the
    # whole repository.
    base = checkout.root.resolve()
    if checkout.git_dir is None and base != checkout.toplevel.resolve():
        args.append(os.path.relpath(base, checkout.toplevel.resolve()))
    env = {"GNUPGHOME": str(gnupghome)} if gnupghome is not None else None
    try:
        out = _git(args, cwd=checkout.toplevel, git_dir=checkout.git_dir, env=env)
        head = _git(["rev-parse", "HEAD"], cwd=checkout.toplevel, git_dir=checkout.git_dir)
    except (OSError, subprocess.SubprocessError) as e:
        return History(checkout, (), f"git log failed: {e}")
    if out.returncode != 0:
        return History(checkout, (), f"git log failed: {out.stderr.strip()[:300]}")
    head_sha = head.stdout.strip()
    commits = []
    for record in (r for r in out.stdout.split("\x1e") if r.strip()):
        parts = record.strip("\n").split("\x00")
        if len(parts) != len(_FIELDS):
            continue
        sha, status, signer, key, author, subject = parts
        commits.append(
            Commit(sha, status or "N", signer, key, author, subject, is_head=sha == head_sha)
        )
    # git says N (no signature) for an SSH signature it cannot check because no allowed
    # signers file is configured: look at the commit headers to tell the two apart.
    signed = _carry_signature(checkout, [c.sha for c in commits if c.status == "N"])
    commits = [replace(c, status="E") if c.sha in signed else c for c in commits]
    return History(checkout, tuple(commits))


def _carry_signature(checkout: GitCheckout, shas: list[str]) -> set[str]:
    """The commits among `shas` whose object has a `gpgsig` header."""
    if not shas:
        return set()
    cmd = ["git"]
    if checkout.git_dir is not None:
        cmd += [f"--git-dir={checkout.git_dir}"]
    try:
        out = subprocess.run(
            [*cmd, "cat-file", "--batch"],
            cwd=checkout.toplevel,
            input=("\n".join(shas) + "\n").encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    found: set[str] = set()
    data: bytes = out.stdout
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl == -1:
            break
        header = data[pos:nl].split()
        if len(header) != 3 or header[1] != b"commit":
            break
        size = int(header[2])
        head = data[nl + 1 : nl + 1 + size].split(b"\n\n", 1)[0]
        if b"\ngpgsig " in head or b"\ngpgsig-sha256 " in head:
            found.add(header[0].decode())
        pos = nl + 1 + size + 1
    return found


_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


_MAX_ADDED_PER_FILE = 400


def added_lines(checkout: GitCheckout, sha: str) -> dict[str, list[tuple[int, str]]]:
    """For each file a commit added lines to (path relative to the work tree, in diff order),
    the added lines as (line number in the commit's version of the file, text); at most
    `_MAX_ADDED_PER_FILE` per file."""
    try:
        out = _git(
            ["show", "--format=", "--unified=0", "--no-color", "--no-renames", sha],
            cwd=checkout.toplevel,
            git_dir=checkout.git_dir,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if out.returncode != 0:
        return {}
    path: str | None = None
    added: dict[str, list[tuple[int, str]]] = {}
    line_no = 0
    in_header = False  # between `diff --git` and the first hunk: `+++ b/path` is a header
    for line in out.stdout.splitlines():
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
