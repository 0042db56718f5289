"""JSON output, schema version 1 (documented in docs/json-schema.md).

The shape is frozen per `schema_version`: fields are only added within a version. Strings from
the scanned repository keep their characters (JSON escapes controls) except lone surrogates,
which `json_text` shows as escapes so that every JSON parser accepts the output.
"""

from __future__ import annotations

import json
from typing import Any

from kubeward.registry import Related
from kubeward.report._escape import json_data, json_text
from kubeward.results import Report, Result
from kubeward.source import Span

SCHEMA_VERSION = 1


def span_dict(span: Span) -> dict[str, Any]:
    return {
        "path": json_text(span.path),
        "start": {"line": span.start.line, "column": span.start.col},
        "end": {"line": span.end.line, "column": span.end.col},
    }


def _related(r: Related) -> dict[str, Any]:
    return {"label": json_text(r.label), "location": span_dict(r.span)}


def result_dict(r: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": r.rule.id,
        "title": r.rule.title,
        "layer": int(r.rule.layer),
        "layer_name": r.rule.layer.title,
        "severity": r.severity.value,
        "message": json_text(r.message),
        "location": span_dict(r.span),
        "related": [_related(x) for x in r.finding.related],
        "remediation": r.rule.section("Remediation"),
        "references": {
            "slsa": list(r.rule.slsa),
            "cis": list(r.rule.cis),
            "other": list(r.rule.references),
        },
        "fingerprint": r.fingerprint,
        "help_uri": r.rule.help_uri,
    }
    if r.finding.properties:
        out["properties"] = json_data(dict(r.finding.properties))
    if r.suppressed_by:
        out["suppressed_by"] = r.suppressed_by
    return out


def report_dict(report: Report) -> dict[str, Any]:
    sev = report.by_severity()
    layers = report.by_layer()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "kubeward", "version": report.version},
        "roots": [json_text(r) for r in report.roots],
        "config": json_text(report.config) if report.config is not None else None,
        "summary": {
            "files_scanned": report.files_scanned,
            "findings": len(report.results),
            "suppressed": len(report.suppressed),
            "errors": len(report.errors),
            "by_severity": {s.value: n for s, n in sorted(sev.items(), key=lambda x: -x[0].rank)},
            "by_layer": {str(int(k)): n for k, n in sorted(layers.items())},
            "duration_seconds": round(report.duration_s, 3),
        },
        "findings": [result_dict(r) for r in report.results],
        "suppressed": [result_dict(r) for r in report.suppressed],
        "errors": [
            {"path": json_text(e.path), "line": e.line, "reason": json_text(e.reason)}
            for e in report.errors
        ],
        "unused_suppressions": [
            {"kind": u.kind, "rules": json_data(u.rule_ids), "location": span_dict(u.span)}
            for u in report.unused_suppressions
        ],
        "sections": [
            {"id": s.id, "title": s.title, "rows": json_data(s.rows)} for s in report.sections
        ],
    }


def render(report: Report) -> str:
    return dump_json(report_dict(report), len(report.results) + len(report.suppressed))


def dump_json(data: object, items: int) -> str:
    """Indented for people while small; compact beyond, where Python's C encoder is several
    times faster than its indenting one (tens of thousands of findings on large trees)."""
    if items <= 2000:
        return json.dumps(data, indent=2) + "\n"
    return json.dumps(data, separators=(",", ":")) + "\n"
