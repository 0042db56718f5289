"""No code execution from repository content: a scanned repository whose git configuration
names programs (gpg.program, gpg.ssh.program, gpg.x509.program, core.fsmonitor, a textconv
driver, diff.external, a pager) never gets them run, whether the configuration is the
checkout's own `.git/config` or a committed folder offered as `git-dir`; and the commit check
still judges real GPG and SSH signatures.

Each hostile program is a script that creates a marker file. Every test first shows that plain
git does run it in that repository (so the test can fail), then scans through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git_out as _git
from tests.conftest import run_out as _run

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("git", "gpg", "ssh-keygen")),
    reason="git, gpg and ssh-keygen are needed (make test installs them)",
)

RULE = "git-commit-unsigned"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"
SRC = Path(__file__).parents[1] / "src"


_PROGRAMS = {
    "gpg.program": "gpg",
    "gpg.openpgp.program": "openpgp",
    "gpg.ssh.program": "ssh",
    "gpg.x509.program": "x509",
    "core.fsmonitor": "fsmonitor",
    "core.pager": "pager",
    "diff.external": "external",
    "diff.evil.textconv": "textconv",
    "diff.evil.command": "command",
}


def _evil(tmp_path: Path) -> tuple[Path, Path]:
    """One script per setting, each leaving a marker named after it and failing."""
    markers = tmp_path / "markers"
    markers.mkdir()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in _PROGRAMS.values():
        script = scripts / name
        script.write_text(f'#!/bin/sh\ntouch "{markers}/{name}-$$"\necho pwned >&2\nexit 1\n')
        script.chmod(0o755)
    return scripts, markers


def _evil_config(git_config: Path, scripts: Path, mallory_signers: Path) -> None:
    """Settings a hostile git config can use to run a program or to trust itself."""
    settings = {key: str(scripts / name) for key, name in _PROGRAMS.items()}
    settings["gpg.ssh.allowedSignersFile"] = str(mallory_signers)
    settings["log.showSignature"] = "true"
    for key, value in settings.items():
        subprocess.run(["git", "config", "--file", str(git_config), key, value], check=True)


def _repo(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "Alice")
    _git(path, "config", "user.email", "alice@example.com")
    _git(path, "config", "commit.gpgsign", "false")
    return path


def _commit(repo: Path, name: str, *sign: str, env: dict[str, str] | None = None) -> str:
    (repo / name).write_text(CM.format(name.split(".")[0]))
    _git(repo, "add", name)
    _git(repo, *sign, "commit", "-q", "-m", f"change {name}", env=env)
    return _git(repo, "rev-parse", "HEAD").strip()


def _ssh(key: Path) -> tuple[str, ...]:
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "commit.gpgsign=true")


def _kubeward(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "PYTHONPATH": str(SRC), **(env or {})},
    )


def _findings(p: subprocess.CompletedProcess[str], root: Path) -> dict[str, str]:
    assert p.returncode in (0, 1), p.stderr[-2000:]
    doc: dict[str, Any] = json.loads(p.stdout)
    assert not [e for e in doc["errors"] if "commit" in e["reason"]], doc["errors"]
    prefix = root.as_posix() + "/"
    return {
        f["location"]["path"].removeprefix(prefix): f["properties"]["commit"]
        for f in doc["findings"]
        if f["rule"] == RULE and "commit" in f["properties"]
    }


@pytest.fixture
def hostile(
    tmp_path: Path, ssh_key: tuple[Path, Path], gpg_home: tuple[Path, str]
) -> tuple[Path, Path, dict[str, str]]:
    """A repository with a GPG-signed, an SSH-signed, a Mallory-signed and an unsigned
    commit, whose own `.git/config` tries every program-running setting."""
    key, _allowed = ssh_key
    home, fpr = gpg_home
    script, markers = _evil(tmp_path)
    repo = _repo(tmp_path / "repo")
    (repo / ".gitattributes").write_text("*.yaml diff=evil\n")
    mallory = tmp_path / "mallory"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(mallory), cwd=tmp_path)
    mallory_signers = tmp_path / "mallory_signers"
    mallory_signers.write_text(f"mallory@example.com {(tmp_path / 'mallory.pub').read_text()}")
    shas = {
        "gpg.yaml": _commit(repo, "gpg.yaml", "-c", f"user.signingkey={fpr}", "-c",
                            "commit.gpgsign=true", env={"GNUPGHOME": str(home)}),
        "ssh.yaml": _commit(repo, "ssh.yaml", *_ssh(key)),
        "mallory.yaml": _commit(repo, "mallory.yaml", *_ssh(mallory)),
        "unsigned.yaml": _commit(repo, "unsigned.yaml"),
    }  # fmt: skip
    _evil_config(repo / ".git" / "config", script, mallory_signers)
    return repo, markers, shas


def _plain_git_runs_the_scripts(
    repo: Path, markers: Path, expected: set[str], *git_dir: str
) -> None:
    """The hostile configuration does work on plain git: the test can fail."""
    for args in (["log", "--format=%G?"], ["show", "HEAD"]):
        subprocess.run(["git", *git_dir, *args], cwd=repo, capture_output=True, check=False)
    ran = {m.name.split("-")[0] for m in markers.iterdir()}
    assert expected <= ran, ran
    for m in markers.iterdir():
        m.unlink()


def test_the_checkouts_own_git_config_runs_nothing(
    hostile: tuple[Path, Path, dict[str, str]],
    ssh_key: tuple[Path, Path],
    gpg_home: tuple[Path, str],
) -> None:
    repo, markers, shas = hostile
    # openpgp: the later of gpg.program and gpg.openpgp.program in the file wins
    _plain_git_runs_the_scripts(repo, markers, {"openpgp", "ssh", "textconv"})
    _, allowed = ssh_key
    home, _ = gpg_home
    p = _kubeward(
        "scan", str(repo), "-f", "json", "--rule", RULE, "--fail-on", "never",
        "--git-allowed-signers", str(allowed), "--git-gnupghome", str(home),
    )  # fmt: skip
    assert list(markers.iterdir()) == []
    # The real signatures still verify; Mallory's signature, trusted only by the repository's
    # own allowed-signers setting, does not; the unsigned commit is reported.
    assert _findings(p, repo) == {
        "mallory.yaml": shas["mallory.yaml"],
        "unsigned.yaml": shas["unsigned.yaml"],
    }


def test_without_allowed_signers_the_repositorys_own_list_is_not_used(
    hostile: tuple[Path, Path, dict[str, str]], gpg_home: tuple[Path, str]
) -> None:
    repo, markers, shas = hostile
    home, _ = gpg_home
    p = _kubeward(
        "scan", str(repo), "-f", "json", "--rule", RULE, "--git-gnupghome", str(home),
        env={"HOME": str(repo.parent)},  # no global allowed-signers file of the user's
    )  # fmt: skip
    assert list(markers.iterdir()) == []
    doc = json.loads(p.stdout)
    status = {f["properties"]["commit"]: f["properties"]["signature-status"]
              for f in doc["findings"] if f["rule"] == RULE}  # fmt: skip
    # SSH signatures cannot be checked without allowed signers: Mallory's list in the
    # repository's config is not one.
    assert status == {shas["ssh.yaml"]: "E", shas["mallory.yaml"]: "E", shas["unsigned.yaml"]: "N"}


def _committed_git_dir(tmp_path: Path, script: Path) -> tuple[Path, Path]:
    """A scanned tree with a committed bare repository whose config runs the script."""
    tree = _repo(tmp_path / "tree")
    _commit(tree, "app.yaml")
    mirror = tree / "history.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(tree), str(mirror)], check=True)
    _evil_config(mirror / "config", script, tmp_path / "nowhere")
    return tree, mirror


def test_a_committed_git_dir_named_by_the_repository_config_is_refused(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    script, markers = _evil(tmp_path)
    key, _ = ssh_key
    tree, mirror = _committed_git_dir(tmp_path, script)
    _commit(tree, "signed.yaml", *_ssh(key))
    subprocess.run(["git", "push", "-q", str(mirror), "main"], cwd=tree, check=True)
    _plain_git_runs_the_scripts(tree, markers, {"ssh"}, f"--git-dir={mirror}")
    for text, key_named in (
        (f"rules:\n  {RULE}:\n    params: {{git-dir: history.git}}\n",
         f"rules.{RULE}.params.git-dir"),
        ("git-dir: history.git\n", "git-dir"),
        ("git-allowed-signers: allowed_signers\n", "git-allowed-signers"),
        (f"rules:\n  {RULE}:\n    params: {{allowed-signers: x}}\n",
         f"rules.{RULE}.params.allowed-signers"),
        (f"rules:\n  {RULE}:\n    params: {{gnupghome: .gnupg}}\n",
         f"rules.{RULE}.params.gnupghome"),
    ):  # fmt: skip
        cfg = tree / ".kubeward.yaml"
        cfg.write_text(text)
        p = _kubeward("scan", str(tree), "-f", "json")
        assert p.returncode == 2, p.stdout[-500:]
        assert f"{cfg}: {key_named}: repository configuration may not choose" in p.stderr
        # The same file named by --config is still the repository's own configuration.
        p = _kubeward("scan", str(tree), "-f", "json", "--config", str(cfg))
        assert p.returncode == 2 and "repository configuration may not choose" in p.stderr
    assert list(markers.iterdir()) == []


def test_a_git_dir_the_user_names_runs_nothing_and_still_judges(
    tmp_path: Path, ssh_key: tuple[Path, Path]
) -> None:
    """The user may point kubeward at a mirror (here the committed one, on purpose): its
    config still chooses no program, and its commits are judged with the user's signers."""
    script, markers = _evil(tmp_path)
    key, allowed = ssh_key
    tree, mirror = _committed_git_dir(tmp_path, script)
    signed = _commit(tree, "signed.yaml", *_ssh(key))
    unsigned = _commit(tree, "unsigned.yaml")
    subprocess.run(["git", "push", "-q", str(mirror), "main"], cwd=tree, check=True)
    _plain_git_runs_the_scripts(tree, markers, {"ssh"}, f"--git-dir={mirror}")
    user_cfg = tmp_path / "user.yaml"  # outside the tree: relative paths from its folder
    user_cfg.write_text(f"git-dir: tree/history.git\ngit-allowed-signers: {allowed}\n")
    p = _kubeward("scan", str(tree), "-f", "json", "--rule", RULE, "--config", str(user_cfg))
    assert list(markers.iterdir()) == []
    hits = _findings(p, tree)
    assert unsigned in hits.values() and signed not in hits.values()
    assert hits["unsigned.yaml"] == unsigned
    # The same through the command line option.
    p = _kubeward(
        "scan", str(tree), "-f", "json", "--rule", RULE, "--git-dir", str(mirror),
        "--git-allowed-signers", str(allowed),
    )  # fmt: skip
    assert list(markers.iterdir()) == []
    assert _findings(p, tree) == hits


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository away")
def test_safe_directory_semantics_are_kept(tmp_path: Path) -> None:
    """A repository owned by another user is refused by git unless the user's own
    configuration trusts it: kubeward adds no `safe.directory=*`, passes the user's entries
    on, and says why the commits were not checked."""
    repo = _repo(tmp_path / "repo")
    unsigned = _commit(repo, "app.yaml")
    for dirpath, dirnames, filenames in os.walk(repo):
        for name in (dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)):
            os.lchown(name, 12345, 12345)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "SUDO_UID": "", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}
    p = _kubeward("scan", str(repo), "-f", "json", "--rule", RULE, env=env)
    doc = json.loads(p.stdout)
    assert [f for f in doc["findings"] if f["rule"] == RULE] == []
    (err,) = [e for e in doc["errors"] if e["path"] == str(repo)]
    assert "commit signatures not checked" in err["reason"] and "dubious ownership" in err["reason"]
    # Trusted in the user's global configuration: checked.
    (home / ".gitconfig").write_text(f"[safe]\n\tdirectory = {repo}\n")
    p = _kubeward("scan", str(repo), "-f", "json", "--rule", RULE, env=env)
    assert _findings(p, repo) == {"app.yaml": unsigned}


def test_programs_in_the_checkout_are_not_found_through_a_relative_path_entry(
    tmp_path: Path,
) -> None:
    """With `.` (or an empty entry) on PATH, `git` or `gpg` would resolve inside the scanned
    checkout, git's working directory: kubeward searches absolute PATH entries only."""
    scripts, markers = _evil(tmp_path)
    repo = _repo(tmp_path / "repo")
    unsigned = _commit(repo, "app.yaml")
    for name in ("git", "gpg", "ssh-keygen"):
        shutil.copy(scripts / "gpg", repo / name)
    path = f".::{os.environ.get('PATH', os.defpath)}"
    # A naive `git` from that PATH, in the checkout, is the checkout's own script:
    naive = subprocess.run(["git", "--version"], cwd=repo, env={**os.environ, "PATH": path},
                           capture_output=True, check=False)  # fmt: skip
    assert naive.returncode == 1 and [m.name.split("-")[0] for m in markers.iterdir()] == ["gpg"]
    for m in markers.iterdir():
        m.unlink()
    p = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", ".", "-f", "json", "--rule", RULE],
        cwd=repo, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "PYTHONPATH": str(SRC), "PATH": path},
    )  # fmt: skip
    assert list(markers.iterdir()) == []
    assert _findings(p, repo) == {"app.yaml": unsigned}
