"""Renderers: golden files per format, SARIF validated against the OASIS 2.1.0 schema."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.group import all_absorbed
from kubeward.registry import load_rules
from kubeward.report import Format, render
from kubeward.results import Report
from tests.conftest import FIXTURES, sarif_schema

REPO_FIXTURE = FIXTURES / "report" / "repo"
GOLDEN = Path(__file__).parent / "golden"
RULES = ["image-mutable-tag", "image-not-pinned-by-digest"]


def _report() -> Report:
    cwd = os.getcwd()
    os.chdir(REPO_FIXTURE.parent)
    try:
        report = scan([Path("repo")], ScanOptions(only_rules=RULES, jobs=1))
    finally:
        os.chdir(cwd)
    report.duration_s = 0.0
    report.version = "0.0.0"
    return report


@pytest.mark.parametrize("fmt", list(Format))
def test_golden(fmt: Format, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # gitlab-sast's scan times
    out = render(_report(), fmt)
    golden = GOLDEN / f"report.{fmt.value}"
    if os.environ.get("KUBEWARD_UPDATE_GOLDEN") == "1":
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8"), (
        f"{fmt.value} output changed; review and regenerate with KUBEWARD_UPDATE_GOLDEN=1"
    )


def test_report_content() -> None:
    r = _report()
    # One result per root cause and image: nginx:latest's digest finding stands for its
    # mutable tag (the digest fixes both) and for its other use, in worker.yaml.
    assert [(x.rule.id, x.span.path, x.span.start.line, x.span.start.col) for x in r.results] == [
        ("image-not-pinned-by-digest", "repo/deploy/app.yaml", 10, 18),
        ("image-not-pinned-by-digest", "repo/deploy/worker.yaml", 12, 18),
    ]
    nginx = r.results[0]
    assert sorted((a.rule.id, a.span.path, a.span.start.line) for a in all_absorbed(nginx)) == [
        ("image-mutable-tag", "repo/deploy/app.yaml", 10),
        ("image-mutable-tag", "repo/deploy/worker.yaml", 10),
        ("image-not-pinned-by-digest", "repo/deploy/worker.yaml", 10),
    ]
    assert [(x.span.path, x.span.start.line) for x in nginx.finding.related] == [
        ("repo/deploy/app.yaml", 10),
        ("repo/deploy/worker.yaml", 10),
    ]
    assert nginx.finding.properties["same_cause"] == ["image-mutable-tag"]
    assert nginx.finding.properties["other_uses"] == 1
    assert [(x.rule.id, x.span.start.line, x.suppressed_by) for x in r.suppressed] == [
        ("image-not-pinned-by-digest", 13, "inline"),
    ]
    assert [(e.path, e.line) for e in r.errors] == [("repo/deploy/broken.yaml", 4)]
    assert [(u.span.start.line, u.rule_ids) for u in r.unused_suppressions] == [
        (15, ("image-not-pinned-by-digest",))
    ]


def test_sarif_validates_against_official_schema() -> None:
    doc = json.loads(render(_report(), Format.SARIF))
    jsonschema.validate(doc, sarif_schema())
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["image-not-pinned-by-digest"]["helpUri"].endswith("image-not-pinned-by-digest.md")
    assert rules["image-not-pinned-by-digest"]["properties"]["security-severity"] == "8.0"
    first = run["results"][0]
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 10, "startColumn": 18, "endLine": 10, "endColumn": 30}
    assert first["partialFingerprints"]["kubewardFingerprint/v1"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [s["suppressions"][0]["kind"] for s in suppressed] == ["inSource"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "repo/deploy/broken.yaml"
    )


def test_sarif_with_every_rule_validates() -> None:
    report = _report()
    report.rules = list(load_rules().values())
    jsonschema.validate(json.loads(render(report, Format.SARIF)), sarif_schema())


def test_json_schema_version_and_errors() -> None:
    doc = json.loads(render(_report(), Format.JSON))
    assert doc["schema_version"] == 1
    assert doc["summary"]["findings"] == 2 and doc["summary"]["suppressed"] == 1
    assert doc["errors"][0]["path"] == "repo/deploy/broken.yaml"
    assert doc["findings"][0]["location"]["start"] == {"line": 10, "column": 18}


def test_junit_is_xml_with_failures_and_errors() -> None:
    root = ET.fromstring(render(_report(), Format.JUNIT))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2" and suite.get("errors") == "1"
    names = [c.get("name") for c in suite.iter("testcase")]
    # image-mutable-tag still fails: its findings are part of the digest finding, not gone
    assert names == ["image-mutable-tag", "image-not-pinned-by-digest", "repo/deploy/broken.yaml"]


def test_text_has_caret_under_the_span() -> None:
    out = render(_report(), Format.TEXT)
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if "10 |           image: nginx:latest" in line)
    caret = lines[i + 1]
    assert caret.index("^") == lines[i].index("nginx:latest")
    assert caret.count("^") == len("nginx:latest")
    assert "\x1b[" not in out  # no colour unless asked
    assert "\x1b[" in render(_report(), Format.TEXT, color=True)


def test_summary_counts_findings_files_with_findings_and_files_scanned() -> None:
    report = _report()
    # nginx:latest in app.yaml (standing for its use in worker.yaml) and busybox in worker.yaml
    assert report.summary_line() == "2 findings in 2 files (3 files scanned)"
    assert "Summary: 2 findings in 2 files (3 files scanned)" in render(report, Format.TEXT)
