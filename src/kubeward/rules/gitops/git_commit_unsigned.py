"""A commit in the scanned repository's recent history is unsigned or its signature does
not verify."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kubeward.gitsource import (
    MAX_GIT_DEPTH,
    Commit,
    GitBudget,
    GitCheckout,
    GitError,
    ScanRoot,
    added_lines,
    find_checkout,
    read_history,
)
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.source import ScanError, SourceFile, Span


def _path_param(ctx: RuleContext, *names: str) -> Path | None:
    """A path the user gave (command line or `--config` file; the configuration loader
    refuses these keys in repository configuration and makes them absolute)."""
    for name in names:
        value = ctx.param(name)
        if value:
            return Path(os.path.expanduser(str(value))).absolute()
    return None


def _is_content(text: str) -> bool:
    """A line that says something: not blank, not a comment, not a YAML document marker."""
    s = text.strip()
    return bool(s) and not s.startswith("#") and s not in ("---", "...")


def _locate(f: SourceFile, added: list[tuple[int, str]]) -> int | None:
    """The line of `f` (as scanned) holding the first line the commit added that is still
    there: at its own line number, else the same text nearest to it (later commits move
    lines), else None (every line it added has been changed or removed since)."""
    candidates = [(n, t) for n, t in added if _is_content(t)][:20] or added[:1]
    for n, t in candidates:
        if f.line_text(n).rstrip() == t.rstrip():
            return n
    lines = f.text.split("\n")
    for n, t in candidates:
        if not t.strip():
            continue
        hits = [i + 1 for i, cur in enumerate(lines) if cur.rstrip("\r").rstrip() == t.rstrip()]
        if hits:
            return min(hits, key=lambda h: abs(h - n))
    return None


@dataclass(frozen=True, slots=True)
class _Touch:
    span: Span
    added: int  # lines the commit added to the file


def _touches(
    checkout: GitCheckout, commit: Commit, files: dict[str, SourceFile], budget: GitBudget
) -> list[_Touch]:
    """Where the commit's additions to scanned files are now, one place per file."""
    out = []
    for path, added in added_lines(checkout, commit.sha, budget=budget).items():
        f = files.get(os.path.realpath(checkout.toplevel / path))
        if f is None:
            continue
        line = _locate(f, added)
        if line is not None:
            out.append(_Touch(f.line_span(line), len(added)))
    return out


def _top_file(files: list[SourceFile]) -> SourceFile:
    """The file a summary about the whole scan root is shown at: the shallowest, with the
    kustomization, chart or workflow a reader opens first ahead of the rest."""
    first = ("kustomization.yaml", "kustomization.yml", "Chart.yaml")
    return min(
        files, key=lambda f: (f.rel.count("/"), f.rel.rsplit("/", 1)[-1] not in first, f.rel)
    )


def _describe(c: Commit) -> str:
    head = "HEAD commit" if c.is_head else "commit"
    signer = f", signed by {c.signer}" if c.signer else ""
    return f"{head} {c.short} by {c.author} ({c.subject[:60]!r}) has {c.verdict}{signer}"


def _commit_finding(c: Commit, touches: list[_Touch]) -> Finding:
    """The finding for an unsigned commit, at the first line it added that is still scanned."""
    severity = Severity.HIGH if c.is_head or c.status in ("B", "R") else None
    properties = {"commit": c.sha, "signature-status": c.status, "head": c.is_head}
    first, *others = touches
    more = f" and {len(others)} other scanned file(s)" if others else ""
    return Finding(
        first.span,
        f"{_describe(c)}; it added this line ({first.added} line(s) here{more})",
        related=tuple(
            Related(t.span, f"also added by {c.short} ({t.added} line(s))") for t in others[:3]
        ),
        severity=severity,
        properties=properties,
    )


def _summary_finding(elsewhere: list[Commit], in_root: list[SourceFile], depth: int) -> Finding:
    """One finding at the top file for the commits whose additions are in no scanned file."""
    shown = ", ".join(f"{c.short} ({c.subject[:40]!r})" for c in elsewhere[:5])
    extra = f" and {len(elsewhere) - 5} more" if len(elsewhere) > 5 else ""
    head = next((c for c in elsewhere if c.is_head), None)
    return Finding(
        _top_file(in_root).line_span(1),
        f"{len(elsewhere)} unsigned or unverified commit(s) among the last {depth} changed"
        f" no line that is still in a scanned file: {shown}{extra}"
        + (f"; {_describe(head)}" if head else ""),
        severity=Severity.HIGH if head else None,
        properties={
            "commits": [c.sha for c in elsewhere],
            "signature-status": [c.status for c in elsewhere],
            "head": head is not None,
        },
    )


# The keys a forge signs its own commits with (merges, edits made in the web interface), by
# long key id. GitHub's web-flow keys, as https://github.com/web-flow.gpg and
# https://api.github.com/users/web-flow/gpg_keys publish them: B5690EEEBB952194 (fingerprint
# 968479A1AFF927E37D1A566BB5690EEEBB952194, in use since January 2024) and 4AEE18F83AFDEB23
# (fingerprint 5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23, expired 2024-01-16).
FORGE_KEYS = {
    "B5690EEEBB952194": "GitHub's web-flow key",
    "4AEE18F83AFDEB23": "GitHub's former web-flow key",
}


def _forge_key(c: Commit) -> str | None:
    """The forge key that signed a commit git cannot check (no public key), else None."""
    if c.status != "E" or not c.key:
        return None
    key = c.key.upper()
    return next((k for k in FORGE_KEYS if key.endswith(k)), None)


def _forge_note(forged: list[Commit], in_root: list[SourceFile], depth: int) -> Finding:
    keys = sorted({k for c in forged if (k := _forge_key(c)) is not None})
    who = " and ".join(f"{FORGE_KEYS[k]} ({k})" for k in keys)
    return Finding(
        _top_file(in_root).line_span(1),
        f"{len(forged)} commit(s) among the last {depth} are signed by {who}, made on "
        "github.com (merges, web edits), and cannot be checked: no trust material for that key "
        "is configured; import https://github.com/web-flow.gpg into the keyring given with "
        "--git-gnupghome to check them",
        severity=Severity.LOW,
        properties={"commits": [c.sha for c in forged], "forge_keys": keys},
    )


@rule(
    id="git-commit-unsigned",
    layer=Layer.SOURCE,
    severity=Severity.MEDIUM,
    cross_file=True,
    params={"allowed-signers": None, "gnupghome": None, "git-dir": None},
    references=(
        "https://git-scm.com/docs/git-verify-commit",
        "https://git-scm.com/docs/git-log#Documentation/git-log.txt-emGem",
        "https://docs.github.com/en/authentication/managing-commit-signature-verification",
    ),
)
def git_commit_unsigned(root: ScanRoot, ctx: RuleContext) -> Iterator[Finding]:
    """A commit in the scanned repository's recent history is unsigned or its signature does
    not verify.

    When the scanned path is inside a git repository, kubeward asks git itself (`git log
    %G?`, the verdict of `git verify-commit`) about `HEAD` and the commits before it, up to
    `git-depth` (default 50, at most 10,000). GPG signatures are checked against the keyring in
    `gnupghome` (default: `$GNUPGHOME` or `~/.gnupg`), SSH signatures against the
    `allowed-signers` file (default: your global `gpg.ssh.allowedSignersFile`). These, and
    `git-dir`, come from the command line (`--git-gnupghome`, `--git-allowed-signers`,
    `--git-dir`) or a `--config` file outside the scanned tree, never from the repository's own
    `.kubeward.yaml`: a repository must not choose who vouches for it, nor (through a git
    directory of its own) which programs git runs. A commit with no
    signature, a bad one, or one that cannot be checked (an unknown key) is reported once, at
    the first line it added that is still in a scanned file (comments, blank lines and `---`
    skipped; a line moved by later commits is found by its text), with the other scanned files
    it added to as related locations. Commits whose additions are in no scanned file (they
    touched only other files, only deleted lines, or their lines have been rewritten since) are
    summarised in one finding at the top file of the scan root. An unsigned `HEAD` is reported
    as high. Commits signed by the forge itself (GitHub's web-flow key: merges and edits made
    on github.com) that cannot be checked because no trust material for that key is
    configured are one low note per history, not one finding per commit; with the web-flow
    key in the keyring they are checked like any other. Set `git-dir` to check a bare mirror
    instead of the enclosing repository. A `.git`
    git cannot use (bad HEAD, broken object, a `.git` file pointing nowhere) and a history cut
    by the git time budget are error entries of the report.

    ## Why it matters
    The repository is what GitOps applies. Without signed commits, anyone who obtains a push
    token (or a compromised CI job) can change what runs in the cluster, and nobody can tell
    their commit from a maintainer's.

    ## Remediation
    Sign every commit and protect the branch so only signed commits land:

        git config --global gpg.format ssh
        git config --global user.signingkey ~/.ssh/id_ed25519.pub
        git config --global commit.gpgsign true

    and give kubeward the signers it should trust, from outside the scanned tree:

        kubeward scan . --git-allowed-signers ~/trusted/allowed_signers
    """
    where = root.path.as_posix()
    budget = GitBudget()
    try:
        checkout = find_checkout(root.path, git_dir=_path_param(ctx, "git-dir"), budget=budget)
    except GitError as e:
        ctx.scan.errors.append(ScanError(where, f"commit signatures not checked: {e}"))
        return
    if checkout is None:
        return
    depth = min(int(ctx.param("git-depth", 50) or 0), MAX_GIT_DEPTH)
    history = read_history(
        checkout,
        depth=depth,
        allowed_signers=_path_param(ctx, "allowed-signers", "git-allowed-signers"),
        gnupghome=_path_param(ctx, "gnupghome", "git-gnupghome"),
        budget=budget,
    )
    if history.error is not None:
        ctx.scan.errors.append(ScanError(where, f"commit signatures not checked: {history.error}"))
    root_rel = checkout.prefix.rstrip("/")
    in_root = [f for f in ctx.scan.files if f.rel.startswith(checkout.prefix) or f.rel == root_rel]
    files = {os.path.realpath(f.abspath): f for f in in_root}
    elsewhere: list[Commit] = []
    forged: list[Commit] = []
    for i, c in enumerate(history.commits):
        if c.verified:
            continue
        if _forge_key(c) is not None:  # signed by the forge, not checkable here: one note
            forged.append(c)
            continue
        try:
            touches = _touches(checkout, c, files, budget)
        except GitError as e:
            # A broken object or the time budget spent: say so, and judge no further commit
            # (the ones already judged are reported).
            left = len(history.commits) - i
            ctx.scan.errors.append(
                ScanError(where, f"commit signatures checked only in part ({left} left): {e}")
            )
            break
        if touches:
            yield _commit_finding(c, touches)
        else:
            elsewhere.append(c)
    if elsewhere and in_root:
        # Unsigned commits whose additions are not (or no longer) in any scanned file: one
        # summary at the scan root's top file rather than a made-up location per commit.
        yield _summary_finding(elsewhere, in_root, depth)
    if forged and in_root:
        yield _forge_note(forged, in_root, depth)
