"""git-commit-unsigned on real repositories with really signed commits (SSH and GPG keys made
here, in temporary directories)."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kubeward.config import load_config
from kubeward.engine import ScanOptions, scan
from kubeward.gitsource import GitCheckout, find_checkout, read_history
from kubeward.registry import Severity
from kubeward.results import Report
from tests.conftest import git_out as _git
from tests.conftest import run_out as _run

RULE = "git-commit-unsigned"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("git", "gpg", "ssh-keygen")),
    reason="git, gpg and ssh-keygen are needed (make test installs them)",
)


def _repo(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "Alice")
    _git(path, "config", "user.email", "alice@example.com")
    _git(path, "config", "commit.gpgsign", "false")
    return path


def _commit(repo: Path, name: str, text: str, *sign: str, env: dict[str, str] | None = None) -> str:
    (repo / name).write_text(text)
    _git(repo, "add", name)
    _git(repo, *sign, "commit", "-q", "-m", f"change {name}", env=env)
    return _git(repo, "rev-parse", "HEAD").strip()


def _ssh(key: Path) -> tuple[str, ...]:
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "commit.gpgsign=true")


def _scan(root: Path, config: str = "") -> Report:
    """Scan with `config` as the user's own configuration (outside the repository: the
    repository's `.kubeward.yaml` may not name keyrings or allowed signers)."""
    path = root.parent / f"{root.name}-kubeward.yaml"
    path.write_text(config)
    cfg = load_config(path, trusted=True)
    return scan([root], ScanOptions(config=cfg, only_rules=[RULE], jobs=1))


def _hits(report: Report, root: Path) -> dict[tuple[str, int], str]:
    prefix = root.as_posix() + "/"
    return {
        (r.span.path.removeprefix(prefix), r.span.start.line): r.finding.properties["commit"]
        for r in report.results
        if r.rule.id == RULE
    }


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def test_ssh_signed_commit_passes_and_unsigned_head_is_reported(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    key, allowed = ssh_key
    repo = _repo(tmp_path / "repo")
    _commit(repo, "signed.yaml", CM.format("signed"), *_ssh(key))
    unsigned = _commit(repo, "unsigned.yaml", "# a comment\n" + CM.format("unsigned"))
    report = _scan(repo, f"rules:\n  {RULE}:\n    params: {{allowed-signers: {allowed}}}\n")
    assert _hits(report, repo) == {("unsigned.yaml", 2): unsigned}  # after the comment line
    (result,) = report.results
    assert result.severity is Severity.HIGH  # it is HEAD
    assert "HEAD commit" in result.finding.message and "no signature" in result.finding.message


def test_ssh_signature_without_allowed_signers_is_unverifiable(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    key, _ = ssh_key
    repo = _repo(tmp_path / "repo")
    signed = _commit(repo, "signed.yaml", CM.format("signed"), *_ssh(key))
    report = _scan(repo)
    assert _hits(report, repo) == {("signed.yaml", 1): signed}
    assert "cannot be checked" in report.results[0].finding.message
    assert report.results[0].finding.properties["signature-status"] == "E"


def test_ssh_signature_by_an_untrusted_key_is_not_verified(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    _, allowed = ssh_key
    other = tmp_path / "mallory"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other), cwd=tmp_path)
    repo = _repo(tmp_path / "repo")
    forged = _commit(repo, "app.yaml", CM.format("app"), *_ssh(other))
    report = _scan(repo, f"rules:\n  {RULE}:\n    params: {{allowed-signers: {allowed}}}\n")
    assert _hits(report, repo) == {("app.yaml", 1): forged}
    assert "no allowed signer matches" in report.results[0].finding.message


def test_gpg_signature_checked_against_the_configured_keyring(
    tmp_path: Path, gpg_home: tuple[Path, str]
) -> None:
    home, fpr = gpg_home
    repo = _repo(tmp_path / "repo")
    env = {"GNUPGHOME": str(home)}
    signed = _commit(repo, "app.yaml", CM.format("app"), "-c", f"user.signingkey={fpr}", "-c",
                     "commit.gpgsign=true", env=env)  # fmt: skip
    trusted = _scan(repo, f"rules:\n  {RULE}:\n    params: {{gnupghome: {home}}}\n")
    assert _hits(trusted, repo) == {}
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    unknown = _scan(repo, f"rules:\n  {RULE}:\n    params: {{gnupghome: {empty}}}\n")
    assert _hits(unknown, repo) == {("app.yaml", 1): signed}
    assert unknown.results[0].finding.properties["signature-status"] == "E"


def test_git_depth_bounds_the_history(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    _commit(repo, "a.yaml", CM.format("a"))
    _commit(repo, "b.yaml", CM.format("b"))
    head = _commit(repo, "c.yaml", CM.format("c"))
    report = _scan(repo, "git-depth: 1\n")
    assert _hits(report, repo) == {("c.yaml", 1): head}
    assert len(_hits(_scan(repo, "git-depth: 50\n"), repo)) == 3


def test_a_subdirectory_scan_judges_only_the_commits_that_changed_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "deploy").mkdir()
    inside = _commit(repo, "deploy/app.yaml", CM.format("app"))
    _commit(repo, "other.yaml", CM.format("other"))
    root = repo / "deploy"
    report = scan([root], ScanOptions(only_rules=[RULE], jobs=1))
    assert _hits(report, root) == {("app.yaml", 1): inside}
    assert report.results[0].severity is Severity.MEDIUM  # not HEAD


def test_outside_a_repository_nothing_is_reported(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(CM.format("app"))
    assert find_checkout(tmp_path) is None or find_checkout(tmp_path).toplevel != tmp_path  # type: ignore[union-attr]
    if find_checkout(tmp_path) is None:
        assert _scan(tmp_path).results == []


def test_read_history_reports_git_verdicts(tmp_path: Path, ssh_key: tuple[Path, Path]) -> None:
    key, allowed = ssh_key
    repo = _repo(tmp_path / "repo")
    _commit(repo, "a.yaml", CM.format("a"))
    _commit(repo, "b.yaml", CM.format("b"), *_ssh(key))
    checkout = find_checkout(repo)
    assert isinstance(checkout, GitCheckout)
    history = read_history(checkout, depth=10, allowed_signers=allowed)
    assert [(c.status, c.is_head) for c in history.commits] == [("G", True), ("N", False)]
    assert history.commits[0].signer == "alice@example.com"


def test_a_line_moved_by_later_commits_is_found_by_its_text(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    key, allowed = ssh_key
    repo = _repo(tmp_path / "repo")
    unsigned = _commit(repo, "app.yaml", "---\n" + CM.format("app"))
    # A signed commit puts three lines in front: the unsigned commit's line 2 is now line 5.
    _commit(repo, "app.yaml", "# owner: team-a\n# tier: 1\n\n---\n" + CM.format("app"),
            *_ssh(key))  # fmt: skip
    report = _scan(repo, f"rules:\n  {RULE}:\n    params: {{allowed-signers: {allowed}}}\n")
    assert _hits(report, repo) == {("app.yaml", 5): unsigned}  # `apiVersion`, not `---`
    assert "it added this line" in report.results[0].finding.message


def test_one_finding_per_commit_with_other_files_related(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    for name in ("a.yaml", "b.yaml"):
        (repo / name).write_text(CM.format(name[0]))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "two files")
    sha = _git(repo, "rev-parse", "HEAD").strip()
    report = _scan(repo)
    assert _hits(report, repo) == {("a.yaml", 1): sha}
    (result,) = report.results
    assert [
        (r.span.path.rsplit("/", 1)[-1], r.span.start.line) for r in result.finding.related
    ] == [("b.yaml", 1)]


def test_commits_with_no_addition_in_a_scanned_file_are_summarised_once(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "deploy").mkdir()
    first = _commit(repo, "deploy/app.yaml", CM.format("app") + "data:\n  a: '1'\n")
    deleted = _commit(repo, "deploy/app.yaml", CM.format("app"))  # only removes lines
    notes = _commit(repo, "NOTES.txt", "not scanned\n")
    (repo / "kustomization.yaml").write_text("resources: [deploy/app.yaml]\n")
    _git(repo, "add", "kustomization.yaml")  # staged, not committed: HEAD stays `notes`
    report = _scan(repo)
    hits = {(r.span.path.removeprefix(repo.as_posix() + "/"), r.span.start.line): r
            for r in report.results}  # fmt: skip
    assert set(hits) == {("deploy/app.yaml", 1), ("kustomization.yaml", 1)}
    assert hits["deploy/app.yaml", 1].finding.properties["commit"] == first
    summary = hits["kustomization.yaml", 1]  # the scan root's top file, never `.git`
    assert summary.finding.properties["commits"] == [notes, deleted]
    assert summary.severity is Severity.HIGH  # HEAD is among them
    assert "changed no line that is still in a scanned file" in summary.finding.message


def test_a_single_file_scan_reports_the_commits_that_added_to_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    added = _commit(repo, "app.yaml", CM.format("app"))
    _commit(repo, "other.yaml", CM.format("other"))
    report = scan([repo / "app.yaml"], ScanOptions(only_rules=[RULE], jobs=1))
    assert {(r.span.path.rsplit("/", 1)[-1], r.span.start.line) for r in report.results} == {
        ("app.yaml", 1)
    }
    assert report.results[0].finding.properties["commit"] == added


def test_a_diff_in_another_encoding_does_not_stop_the_rule(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "notes.txt").write_bytes(b"caf\xe9 cr\xe8me\n")  # Latin-1, not UTF-8
    _git(repo, "add", "notes.txt")
    _git(repo, "commit", "-q", "-m", "latin-1 notes")
    added = _commit(repo, "app.yaml", CM.format("app"))
    report = _scan(repo)
    assert not [e for e in report.errors if "internal error" in e.reason]
    [one] = [r.finding.properties for r in report.results if "commit" in r.finding.properties]
    assert one == {"commit": added, "signature-status": "N", "head": True}
    [summary] = [r.finding.properties for r in report.results if "commits" in r.finding.properties]
    assert summary["commits"] == [_git(repo, "rev-parse", "HEAD~1").strip()]


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _web_flow_commit(repo: Path, name: str, key_id: str) -> str:
    """A commit as github.com writes one (committer GitHub), with an OpenPGP signature packet
    whose issuer is `key_id`. gpg without that public key cannot check it (%G? = E), as for a
    real web-flow signature in a keyring that lacks GitHub's key."""
    (repo / name).write_text(CM.format(name.split(".")[0]))
    _git(repo, "add", name)
    parent = (
        subprocess.run(
            ["git", "rev-parse", "-q", "--verify", "HEAD"],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        .stdout.decode()
        .strip()
    )
    tree = _git(repo, "write-tree").strip()
    hashed = bytes([5, 2]) + struct.pack(">I", 1700000000)  # creation time
    unhashed = bytes([9, 16]) + bytes.fromhex(key_id)  # issuer key id
    body = (
        bytes([4, 0x00, 1, 8])  # v4, binary document, RSA, SHA-256
        + struct.pack(">H", len(hashed)) + hashed
        + struct.pack(">H", len(unhashed)) + unhashed
        + b"\x12\x34" + struct.pack(">H", 2048) + bytes([0x80]) + bytes(255)
    )  # fmt: skip
    length = len(body) - 192
    packet = bytes([0xC2, (length >> 8) + 192, length & 0xFF]) + body
    b64 = base64.b64encode(packet).decode()
    crc = base64.b64encode(_crc24(packet).to_bytes(3, "big")).decode()
    armor = [
        "-----BEGIN PGP SIGNATURE-----", "",
        *(b64[i : i + 64] for i in range(0, len(b64), 64)),
        "=" + crc, "-----END PGP SIGNATURE-----",
    ]  # fmt: skip
    head = f"tree {tree}\n" + (f"parent {parent}\n" if parent else "")
    obj = (
        f"{head}author Alice <alice@example.com> 1700000000 +0000\n"
        "committer GitHub <noreply@github.com> 1700000000 +0000\n"
        "gpgsig " + "\n ".join(armor) + f"\n\nUpdate {name} (#1)\n"
    )
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo, input=obj.encode(), capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    _git(repo, "update-ref", "refs/heads/main", sha)
    return sha


def test_forge_signed_commits_are_one_low_note(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    first = _web_flow_commit(repo, "a.yaml", "B5690EEEBB952194")
    second = _web_flow_commit(repo, "b.yaml", "B5690EEEBB952194")
    mallory = _web_flow_commit(repo, "c.yaml", "0123456789ABCDEF")  # not a forge key
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    report = _scan(repo, f"rules:\n  {RULE}:\n    params: {{gnupghome: {empty}}}\n")
    notes = [r for r in report.results if "forge_keys" in r.finding.properties]
    [note] = notes
    assert note.severity is Severity.LOW
    assert note.finding.properties["commits"] == [second, first]
    assert "GitHub's web-flow key (B5690EEEBB952194)" in note.message
    # the commit signed by an unknown non-forge key is still reported on its own
    others = [r for r in report.results if r not in notes]
    assert [(r.span.start.line, r.finding.properties["commit"]) for r in others] == [(1, mallory)]
    assert others[0].span.path.endswith("c.yaml")
