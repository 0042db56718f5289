"""The HTML posture report (issue 19): one self-contained page, hostile text only as text, the
counts of the JSON report of the same scan, rendered by a real browser (Debian's chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.report import Format, render
from kubeward.report.html import CSP
from tests import output_checks
from tests.conftest import REPO

# Names and values that try to leave their element or attribute, or run something.
XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"
HOSTILE_POD = f"""apiVersion: v1
kind: Pod
metadata:
  name: "x\\" onmouseover=\\"alert(3)"
  annotations: {{note: "{BREAKOUT}"}}
spec:
  containers:
    - name: "{XSS}"
      image: "javascript:alert(4)//{BREAKOUT}"
    - name: "b\\u2028c'\\u202e"
      image: "evil.example/x:1<style>*{{display:none}}</style>"
"""
HOSTILE_NAME = f"{XSS}'\"&amp; javascript:alert(5).yaml"


def _hostile_repo(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / "pod.yaml").write_text(HOSTILE_POD)
    (root / HOSTILE_NAME).write_text(HOSTILE_POD)
    (root / f"broken {XSS}.yaml").write_text("a: [1, 2\nb: }\n")
    return root


def _doc(report_json: str) -> dict[str, object]:
    return output_checks.check_json(report_json)


def test_hostile_text_is_text_and_counts_match_json(tmp_path: Path) -> None:
    report = scan([_hostile_repo(tmp_path)], ScanOptions(jobs=1))
    # The hostile values reach the renderer (else the test proves nothing).
    assert any(XSS in r.span.path for r in report.results)
    assert any(XSS in r.message for r in report.results)
    assert any(XSS in e.path for e in report.errors)
    out = render(report, Format.HTML)
    doc = _doc(render(report, Format.JSON))
    page = output_checks.check_html(out, doc)
    assert "script" not in page.tags and "img" not in page.tags
    assert not [n for n, _ in page.attrs if n.startswith("on") or n in ("src", "style")]
    assert "javascript:" not in " ".join(v or "" for n, v in page.attrs if n == "href")
    # The raw file holds no tag from the input at all, escaped or not, and no raw separator.
    assert "<img" not in out and "</script" not in out and "<style>*" not in out
    assert "\u2028" not in out and "\u202e" not in out
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in out
    assert "http://" not in out.replace("http-equiv", "")  # nothing to fetch, no link out
    assert len(page.items) == len(report.results) >= 2


def test_image_matrix_and_slsa_of_the_example() -> None:
    report = scan([REPO / "examples"], ScanOptions(jobs=1))
    out = render(report, Format.HTML)
    page = output_checks.check_html(out, _doc(render(report, Format.JSON)))
    table = out[out.index('<table id="images">') : out.index("</table>", out.index('id="images"'))]
    # The example: a digest-pinned shop image its Kyverno policy covers only in Audit mode,
    # and the release pipeline's image, pushed unsigned.
    assert (
        "<tr><td><code>ghcr.io/acme/shop:1.4.2@sha256:3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"
        '08192a3b4c5d6e7f809</code></td><td class="yes">yes</td>'
    ) in table
    assert (
        '<tr><td><code>ghcr.io/acme/shop:${{ github.ref_name }}</code></td><td class="no">no</td>'
        '<td class="no">no</td>'
    ) in table
    assert '<td class="no">no (not enforced)</td>' in table
    slsa = out[out.index('<table id="slsa">') :]
    assert "examples/shop/.github/workflows/release.yml" in slsa and "<b>L1</b>" in slsa
    assert page.by_id["layer-5"]  # the chain's six layers
    assert 'class="layer w-critical" id="layer-5"' in out  # coloured by the worst severity


def test_filters_are_css_only() -> None:
    report = scan([REPO / "examples"], ScanOptions(jobs=1))
    out = render(report, Format.HTML)
    assert "<script" not in out and "script-src 'none'" in CSP
    for sev in ("critical", "high", "medium", "low", "info"):
        assert f'<input type="checkbox" class="filter" id="f-{sev}" checked>' in out
        assert f"#f-{sev}:not(:checked)~main .rule.s-{sev}{{display:none}}" in out
    for layer in range(1, 7):
        assert f"#f-l{layer}:not(:checked)~main .rule.l{layer}{{display:none}}" in out


# --- in a real browser -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium is a Debian package the Makefile's DEBS installs"
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,2400", *args,
        page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _scan_cli(root: Path, out: Path) -> tuple[Path, dict[str, object]]:
    html, js = out / "report.html", out / "report.json"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", str(root), "-j", "1", "--no-progress",
         "--fail-on", "never", "-f", f"html={html}", "-f", f"json={js}"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return html, json.loads(js.read_text(encoding="utf-8"))


@pytest.mark.parametrize("tree", ["examples", "hostile"])
def test_chromium_renders_the_counts_of_the_json(tree: str, tmp_path: Path) -> None:
    root = REPO / "examples" if tree == "examples" else _hostile_repo(tmp_path / "repo")
    out = tmp_path / "out"
    out.mkdir()
    html, doc = _scan_cli(root, out)
    dom = _chromium(html, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    # What the browser built from the file: the same counts, no element from the input.
    page = output_checks.check_html(dom.stdout, doc)
    assert "script" not in page.tags and "img" not in page.tags
    shot = tmp_path / "shot.png"
    got = _chromium(html, tmp_path / "profile", f"--screenshot={shot}")
    assert got.returncode == 0, got.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("KUBEWARD_KEEP_SCREENSHOT"):  # to look at it: a directory to copy into
        shutil.copy(shot, Path(os.environ["KUBEWARD_KEEP_SCREENSHOT"]) / f"html-{tree}.png")
