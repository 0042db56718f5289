"""Source (layer 1): the signatures on the scanned repository's history, committed secrets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from kubeward.gitsource import (
    Commit,
    Credential,
    GitCheckout,
    ScanRoot,
    find_checkout,
    first_added_lines,
    read_history,
)
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.source import Pos, SourceFile, Span


def _path_param(ctx: RuleContext, root: Path, *names: str) -> Path | None:
    for name in names:
        value = ctx.param(name)
        if value:
            p = Path(os.path.expanduser(str(value)))
            base = root if root.is_dir() else root.parent
            return p if p.is_absolute() else base / p
    return None


def _anchor(checkout: GitCheckout, commit: Commit, files: dict[str, SourceFile]) -> Span:
    """The first line the commit added to a scanned file (skipping comment lines), else the
    repository itself."""
    for path, line in first_added_lines(checkout, commit.sha):
        f = files.get(os.path.realpath(checkout.toplevel / path))
        if f is None:
            continue
        n = line
        while n < line + 50 and f.line_text(n).lstrip().startswith("#"):
            n += 1
        return f.line_span(n)
    where = checkout.prefix + ".git"
    return Span(where, Pos(1, 1, 0), Pos(1, 1, 0))


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
    `git-depth` (default 50). GPG signatures are checked against the keyring in `gnupghome`
    (default: git's own, `$GNUPGHOME` or `~/.gnupg`), SSH signatures against the
    `allowed-signers` file (default: git's `gpg.ssh.allowedSignersFile`). A commit with no
    signature, a bad one, or one that cannot be checked (an unknown key) is reported at the
    first line it added to a scanned file; an unsigned `HEAD` is reported as high. Set
    `git-dir` to check a bare mirror instead of the enclosing repository.

    ## Why it matters
    The repository is what GitOps applies. Without signed commits, anyone who obtains a push
    token (or a compromised CI job) can change what runs in the cluster, and nobody can tell
    their commit from a maintainer's.

    ## Remediation
    Sign every commit and protect the branch so only signed commits land:

        git config --global gpg.format ssh
        git config --global user.signingkey ~/.ssh/id_ed25519.pub
        git config --global commit.gpgsign true

    and give kubeward the signers it should trust:

        rules:
          git-commit-unsigned:
            params: {allowed-signers: .github/allowed_signers}
    """
    git_dir = _path_param(ctx, root.path, "git-dir")
    checkout = find_checkout(root.path, git_dir=git_dir)
    if checkout is None:
        return
    history = read_history(
        checkout,
        depth=int(ctx.param("git-depth", 50) or 0),
        allowed_signers=_path_param(ctx, root.path, "allowed-signers", "git-allowed-signers"),
        gnupghome=_path_param(ctx, root.path, "gnupghome", "git-gnupghome"),
    )
    files = {os.path.realpath(f.abspath): f for f in ctx.scan.files}
    for c in history.commits:
        if c.verified:
            continue
        what = c.verdict
        head = "HEAD commit" if c.is_head else "commit"
        severity = Severity.HIGH if c.is_head or c.status in ("B", "R") else None
        signer = f", signed by {c.signer}" if c.signer else ""
        yield Finding(
            _anchor(checkout, c, files),
            f"{head} {c.short} by {c.author} ({c.subject[:60]!r}) has {what}{signer}",
            severity=severity,
            properties={"commit": c.sha, "signature-status": c.status, "head": c.is_head},
        )


@rule(
    id="committed-private-key",
    layer=Layer.SOURCE,
    severity=Severity.CRITICAL,
    references=(
        "https://docs.sigstore.dev/cosign/key_management/signing_with_self-managed_keys/",
        "https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets",
        "https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/",
    ),
)
def committed_private_key(cred: Credential) -> Iterator[Finding]:
    """A private key or credential is committed to the repository.

    kubeward looks at key-material files (`cosign.key`, `*.pem`, `*.key`, `id_rsa`, ...) and
    at YAML/JSON: PEM private key blocks (cosign's encrypted keys included), kubeconfigs with
    a user token, password or client key, Docker config JSON (a `.dockerconfigjson` file or a
    `kubernetes.io/dockerconfigjson` Secret) with registry credentials, and tokens or
    passwords in `.npmrc`, `.pypirc` and `.netrc`. Templated values and obvious placeholders
    are left alone.

    ## Why it matters
    A signing key in the repository lets anyone with read access sign images that pass
    verification; a kubeconfig or registry credential gives cluster or registry access
    directly. Git keeps them in history even after the file is deleted.

    ## Remediation
    Revoke and rotate the credential, remove it from history (`git filter-repo`), and keep
    keys in a KMS or use keyless signing:

        cosign sign --yes ghcr.io/acme/shop@sha256:<digest>   # keyless, no key to leak
    """
    yield Finding(cred.span, cred.message, severity=cred.severity)
