"""The fixes as SARIF: the scan's SARIF (kubeward.report.sarif) with each result's `fixes`.

A fix is one `artifactChange` per file with its `replacements`: the `deletedRegion` in lines
and Unicode code point columns (the run's `columnKind`), an empty region for an insertion, and
the `insertedContent`. Applied to the files as they were before the fix (a UTF-8 BOM not
counted, as the scan reads files), they give what `--write` writes.
"""

from __future__ import annotations

from typing import Any

from kubeward.fix._edits import Edit, FileText
from kubeward.fix.plan import Plan
from kubeward.report._escape import json_text, uri_path
from kubeward.report.json_out import dump_json
from kubeward.report.sarif import report_sarif


def _pos(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _replacement(ft: FileText, e: Edit) -> dict[str, Any]:
    (sl, sc), (el, ec) = _pos(ft.text, e.start), _pos(ft.text, e.end)
    region = {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec}
    return {"deletedRegion": region, "insertedContent": {"text": json_text(e.new)}}


def render(plan: Plan) -> str:
    assert plan.report is not None
    doc = report_sarif(plan.report)
    for result in doc["runs"][0]["results"]:
        edits = plan.by_result.get(result["partialFingerprints"]["kubewardFingerprint/v1"])
        if not edits:
            continue
        changes = []
        for path in dict.fromkeys(e.path for e in edits):
            ft = plan.files[path]
            mine = sorted((e for e in edits if e.path == path), key=lambda e: e.start)
            changes.append(
                {
                    "artifactLocation": {"uri": uri_path(path), "uriBaseId": "%SRCROOT%"},
                    "replacements": [_replacement(ft, e) for e in mine],
                }
            )
        pinned = ", ".join(dict.fromkeys(e.new for e in edits if e.old))
        result["fixes"] = [
            {"description": {"text": json_text(f"Pin to {pinned}")}, "artifactChanges": changes}
        ]
    return dump_json(doc, len(plan.edits))
