"""Reads of repository files never leave the scan root, never read a FIFO or a device, and stay
bounded: Helm side files (`Chart.lock`, `requirements.yaml`, the `Chart.yaml` beside values),
discovered files and the repository's `.kubeward.yaml` all go through `kubeward.safe_read`.

Each hostile tree is scanned by the real CLI in a subprocess with a generous timeout, so a hang
or a memory blow-up fails the test instead of the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeward import safe_read

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n"
    "  containers:\n    - name: a\n      image: nginx:1.27\n"
)
CHART_V2 = (
    "apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n"
    "  - name: redis\n    version: 17.0.0\n    repository: https://charts.bitnami.com/bitnami\n"
)
SECRET = "kubeward-outside-secret-7f3a"


def _scan_json(root: Path, *extra: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    cmd = [sys.executable, "-m", "kubeward", "scan", str(root), "-f", "json", "--fail-on", "never"]
    p = subprocess.run(
        [*cmd, *extra],
        capture_output=True,
        text=True,
        timeout=120,  # a hang on a FIFO or /dev/zero fails here, not forever
        check=False,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert SECRET not in p.stdout and SECRET not in p.stderr
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


def _errors(doc: dict[str, Any], root: Path) -> dict[str, str]:
    prefix = root.as_posix() + "/"
    return {e["path"].removeprefix(prefix): e["reason"] for e in doc["errors"]}


def _rules_at(doc: dict[str, Any], root: Path, rel: str) -> set[str]:
    path = f"{root.as_posix()}/{rel}"
    return {f["rule"] for f in doc["findings"] if f["location"]["path"] == path}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the scan root holding a value that must never reach a report."""
    f = tmp_path / "outside.yaml"
    f.write_text(f"apiVersion: v2\nname: {SECRET}\nappVersion: {SECRET}\ndigest: {SECRET}\n")
    return f


def _chart(root: Path) -> Path:
    chart = root / "chart"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_V2)
    (root / "pod.yaml").write_text(POD)
    return chart


def test_chart_lock_linked_out_of_the_root_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    chart = _chart(root)
    os.symlink(outside, chart / "Chart.lock")
    doc = _scan_json(root)
    errs = _errors(doc, root)
    assert errs["chart/Chart.lock"] == "symbolic link points outside the scan root; not followed"
    assert "image-not-pinned-by-digest" in _rules_at(doc, root, "pod.yaml")  # the rest is there


def test_chart_lock_linked_to_etc_passwd_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    chart = _chart(root)
    os.symlink("/etc/passwd", chart / "Chart.lock")
    doc = _scan_json(root)
    assert "root:" not in json.dumps(doc)
    assert "outside the scan root" in _errors(doc, root)["chart/Chart.lock"]


def test_chart_lock_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    chart = _chart(root)
    os.symlink("/dev/zero", chart / "Chart.lock")
    doc = _scan_json(root)
    errs = _errors(doc, root)
    assert "outside the scan root" in errs["chart/Chart.lock"]
    assert "image-not-pinned-by-digest" in _rules_at(doc, root, "pod.yaml")


def test_a_fifo_named_chart_lock_does_not_hang_the_scan(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    chart = _chart(root)
    os.mkfifo(chart / "Chart.lock")
    doc = _scan_json(root)
    errs = _errors(doc, root)
    assert errs["chart/Chart.lock"] == "not a regular file (FIFO, socket or device); not read"
    assert "image-not-pinned-by-digest" in _rules_at(doc, root, "pod.yaml")


def test_v1_requirements_and_lock_fifos_do_not_hang(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    chart = root / "chart"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v1\nname: old\nversion: 1.0.0\n")
    os.mkfifo(chart / "requirements.yaml")
    os.mkfifo(chart / "requirements.lock")
    (root / "pod.yaml").write_text(POD)
    doc = _scan_json(root)
    errs = _errors(doc, root)
    assert "not a regular file" in errs["chart/requirements.yaml"]
    assert "not a regular file" in errs["chart/requirements.lock"]
    assert "image-not-pinned-by-digest" in _rules_at(doc, root, "pod.yaml")


def test_chart_yaml_beside_values_linked_out_is_not_read(tmp_path: Path, outside: Path) -> None:
    """Discovery refuses the linked Chart.yaml; the values provider, which reads the chart's
    appVersion for untagged images, must refuse it too."""
    root = tmp_path / "repo"
    chart = root / "chart"
    chart.mkdir(parents=True)
    os.symlink(outside, chart / "Chart.yaml")
    (chart / "values.yaml").write_text("image:\n  repository: ghcr.io/acme/shop\n")
    (root / "pod.yaml").write_text(POD)
    doc = _scan_json(root)
    errs = _errors(doc, root)
    assert "outside the scan root" in errs["chart/Chart.yaml"]
    assert "image-not-pinned-by-digest" in _rules_at(doc, root, "pod.yaml")


def test_repository_config_that_is_a_fifo_or_device_is_a_config_error(tmp_path: Path) -> None:
    for target in ("fifo", "/dev/zero"):
        root = tmp_path / target.strip("/").replace("/", "-")
        root.mkdir()
        if target == "fifo":
            os.mkfifo(root / ".kubeward.yaml")
        else:
            os.symlink(target, root / ".kubeward.yaml")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
        p = subprocess.run(
            [sys.executable, "-m", "kubeward", "scan", str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        assert p.returncode == 2, p.stderr
        assert f"{root / '.kubeward.yaml'}: cannot read the configuration:" in p.stderr
        assert "Traceback" not in p.stderr


def test_read_bytes_is_bounded_and_checks_the_open_file(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    with pytest.raises(safe_read.ReadRefused, match="over the size limit of 10 bytes"):
        safe_read.read_bytes(str(big), root=str(tmp_path), max_size=10)
    assert safe_read.read_bytes(str(big), root=str(tmp_path), max_size=100) == b"x" * 100
    with pytest.raises(safe_read.ReadRefused, match="not a regular file"):
        safe_read.read_bytes("/dev/zero", root=None, max_size=10)
    with pytest.raises(safe_read.ReadRefused, match="outside the scan root") as e:
        safe_read.read_bytes("/etc/passwd", root=str(tmp_path), max_size=10_000)
    assert not e.value.missing
    with pytest.raises(safe_read.ReadRefused) as e:
        safe_read.read_bytes(str(tmp_path / "absent"), root=str(tmp_path), max_size=10)
    assert e.value.missing
