"""Integrations, each exercised: the pre-commit hook, the composite GitHub Action, the
`github` (workflow annotations) and `gitlab-sast` formats."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from kubeward.cli import main
from kubeward.report.github import escape_data, escape_property
from tests.conftest import REPO, sarif_schema
from tests.output_checks import GITLAB_SAST_REQUIRED, parse_annotations

POD = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: registry.example/app:1.0
"""


def _repo(root: Path, *, findings: bool) -> Path:
    (root / "k8s").mkdir(parents=True)
    text = POD if findings else "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n"
    (root / "k8s" / "pod.yaml").write_text(text, encoding="utf-8")
    return root


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "PYTHONPATH": str(REPO / "src")}


def _shim(tmp_path: Path) -> Path:
    """A `kubeward` on PATH that runs this tree's code (as the installed entry point would)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kubeward"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m kubeward "$@"\n')
    shim.chmod(0o755)
    return bin_dir


# -- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_manifest_passes_pre_commits_own_validation(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "pre_commit", "validate-manifest"]
    ok = subprocess.run([*cmd, str(REPO / ".pre-commit-hooks.yaml")], capture_output=True,
                        text=True, timeout=120, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the validator does reject a bad manifest: the check above can fail
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / ".pre-commit-hooks.yaml").read_text().replace("python", "pythn"))
    assert subprocess.run([*cmd, str(bad)], capture_output=True, timeout=120).returncode != 0


def test_pre_commit_hook_runs_as_pre_commit_would(tmp_path: Path) -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["language"] == "python" and hook["entry"] == "kubeward scan"
    assert hook["pass_filenames"] is False
    # pre-commit runs `entry` split as a shell would, then `args`, from the repository top
    argv = [*shlex.split(hook["entry"]), *hook["args"]]
    env = {**_env(), "PATH": f"{_shim(tmp_path)}:{os.environ['PATH']}"}
    dirty = _repo(tmp_path / "dirty", findings=True)
    clean = _repo(tmp_path / "clean", findings=False)
    run = [subprocess.run(argv, cwd=d, env=env, capture_output=True, text=True, timeout=120,
                          check=False) for d in (dirty, clean)]  # fmt: skip
    assert run[0].returncode == 1 and "image-not-pinned-by-digest" in run[0].stdout
    assert run[1].returncode == 0, run[1].stdout + run[1].stderr


# -- the composite action ------------------------------------------------------------------------


def _action() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "action.yml").read_text())


def test_action_is_composite_install_scan_upload_with_a_category() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert [s["name"] for s in steps] == ["Install kubeward", "Scan", "Upload SARIF",
                                          "Fail on findings"]  # fmt: skip
    upload = steps[2]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert len(upload["uses"].split("@")[1]) == 40  # a commit SHA
    assert upload["with"]["category"] == "${{ inputs.category }}"
    assert "always()" in upload["if"]


def _scan_file(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    main(["scan", "--no-progress", "-f", "json", "--fail-on", "never", str(path)])
    return [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]


def test_action_passes_kubewards_own_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # copies outside this work tree: its commits' signatures are not the files' business
    for name in ("action.yml", ".pre-commit-hooks.yaml"):
        (tmp_path / "own").mkdir(exist_ok=True)
        (tmp_path / "own" / name).write_bytes((REPO / name).read_bytes())
        assert _scan_file(tmp_path / "own" / name, capsys) == [], name
    # the same rules catch the mistakes this action avoids: the check above can fail
    text = (REPO / "action.yml").read_text()
    sha = _action()["runs"]["steps"][2]["uses"].split("@")[1]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "action.yml").write_text(text.replace(f"{sha} # v4.37.7", "v4"))
    assert "action-not-pinned-to-sha" in _scan_file(tmp_path / "a" / "action.yml", capsys)
    (tmp_path / "b").mkdir()
    injected = text.replace(
        'kubeward scan "$SCAN_PATH"', "kubeward scan ${{ github.event.pull_request.title }}"
    )
    (tmp_path / "b" / "action.yml").write_text(injected)
    assert "template-injection" in _scan_file(tmp_path / "b" / "action.yml", capsys)


@pytest.mark.parametrize("findings", [True, False])
def test_action_scan_step_runs(tmp_path: Path, findings: bool) -> None:
    """The Scan step's script, run by bash as the runner would, with its env and outputs."""
    step = _action()["runs"]["steps"][1]
    repo = _repo(tmp_path / "ws", findings=findings)
    out = tmp_path / "github_output"
    out.touch()
    env = {
        **_env(),
        "PATH": f"{_shim(tmp_path)}:{os.environ['PATH']}",
        "SCAN_PATH": ".",
        "FAIL_ON": "high",
        "CATEGORY": "kubeward/action",
        "SARIF_FILE": "kubeward.sarif",
        "GITHUB_OUTPUT": str(out),
    }
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # findings do not stop the step: upload first
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs == {"sarif-file": "kubeward.sarif", "exit-code": "1" if findings else "0"}
    sarif = json.loads((repo / "kubeward.sarif").read_text())
    jsonschema.validate(sarif, sarif_schema())
    assert sarif["runs"][0]["automationDetails"]["id"] == "kubeward/action/"
    notes = parse_annotations(proc.stdout)
    assert bool(notes) is findings
    assert all(props["file"] == "k8s/pod.yaml" for _, props, _ in notes)


def test_sarif_category(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path / "r", findings=True)
    main(["scan", "-q", str(repo), "-f", f"sarif={tmp_path}/a.sarif", "--sarif-category", "k/x"])
    doc = json.loads((tmp_path / "a.sarif").read_text())
    assert doc["runs"][0]["automationDetails"]["id"] == "k/x/"
    assert main(["scan", "-q", str(repo), "--sarif-category", "/"]) == 2
    assert "--sarif-category must not be empty" in capsys.readouterr().err


# -- --format github ----------------------------------------------------------------------------


def test_github_escaping_is_the_runners() -> None:
    assert escape_data("100% a\r\nb: c, d") == "100%25 a%0D%0Ab: c, d"
    assert escape_property("100% a\r\nb: c, d") == "100%25 a%0D%0Ab%3A c%2C d"
    assert escape_data("%0A") == "%250A"  # an escape in the input stays text


def test_github_annotations_from_an_absolute_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path / "repo", findings=True)
    (repo / "k8s" / "odd, name: x.yaml").write_text(POD.replace("app:", "other:"))
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    monkeypatch.chdir(tmp_path)
    main(["scan", "--no-progress", str((repo / "k8s").absolute()), "-f", "github"])
    notes = parse_annotations(capsys.readouterr().out)
    assert {props["file"] for _, props, _ in notes} == {"k8s/pod.yaml", "k8s/odd, name: x.yaml"}
    assert {cmd for cmd, _, _ in notes} == {"error"}  # high findings
    first = notes[0][1]
    assert set(first) == {"file", "line", "endLine", "col", "endColumn", "title"}


# -- --format gitlab-sast -----------------------------------------------------------------------


def test_gitlab_sast_report_has_the_documented_required_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path / "repo", findings=True)
    reports = []
    for n in (1, 2):
        out = tmp_path / f"gl{n}.json"
        main(["scan", "-q", str(repo), "-f", f"gitlab-sast={out}"])
        reports.append(json.loads(out.read_text()))
    for doc in reports:
        jsonschema.validate(doc, GITLAB_SAST_REQUIRED)
        assert doc["vulnerabilities"]
    # ids derive from fingerprints: the same across runs, so GitLab tracks them
    assert [v["id"] for v in reports[0]["vulnerabilities"]] == [
        v["id"] for v in reports[1]["vulnerabilities"]
    ]
    v = reports[0]["vulnerabilities"][0]
    assert v["location"]["file"].endswith("k8s/pod.yaml") and v["severity"] == "High"
    # the validation itself rejects what GitLab would: the checks above can fail
    broken = json.loads(json.dumps(reports[0]))
    del broken["vulnerabilities"][0]["identifiers"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, GITLAB_SAST_REQUIRED)
