"""SARIF 2.1.0 (validated against the OASIS JSON schema in the tests).

`artifactLocation.uri` is the path percent-encoded per RFC 3986 (`uri_path`); texts from the
scanned repository keep their characters but for lone surrogates (`json_text`).
"""

from __future__ import annotations

from typing import Any

from kubeward.registry import Rule, Severity
from kubeward.report._escape import json_data, json_text, uri_path
from kubeward.report.json_out import dump_json
from kubeward.results import Report, Result
from kubeward.source import Span

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/kubeward/kubeward"
AUTOMATION_ID = "kubeward/scan/"
"""`runs[].automationDetails.id`: GitHub code scanning's category is what precedes the last
`/`, so scan and verify uploads for one commit do not replace each other."""

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.start.line,
        "startColumn": span.start.col,
        "endLine": span.end.line,
        "endColumn": max(span.end.col, 1),
    }


def _location(span: Span, message: str | None = None, ident: int | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri_path(span.path), "uriBaseId": "%SRCROOT%"},
            "region": _region(span),
        }
    }
    if ident is not None:
        loc["id"] = ident
    if message:
        loc["message"] = {"text": json_text(message)}
    return loc


def rule_descriptor(r: Rule) -> dict[str, Any]:
    """The SARIF `reportingDescriptor` of a rule (`kubeward verify`'s SARIF uses it too)."""
    tags = ["security", "supply-chain", f"layer-{int(r.layer)}"]
    tags += [f"CIS-{c}" for c in r.cis] + [f"SLSA-{s}" for s in r.slsa]
    return {
        "id": r.id,
        "name": "".join(w.capitalize() for w in r.id.split("-")),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.summary or r.title},
        "help": {"text": r.doc, "markdown": r.doc},
        "helpUri": r.help_uri,
        "defaultConfiguration": {"level": _LEVEL[r.severity]},
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": r.severity.security_severity,
            "layer": int(r.layer),
            "layer-name": r.layer.title,
            "references": list(r.references),
        },
    }


def _result(res: Result, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": res.rule.id,
        "ruleIndex": index[res.rule.id],
        "level": _LEVEL[res.severity],
        "message": {"text": json_text(res.message)},
        "locations": [_location(res.span)],
        "partialFingerprints": {"kubewardFingerprint/v1": res.fingerprint},
        "properties": {
            "severity": res.severity.value,
            "security-severity": res.severity.security_severity,
            **(
                {"details": json_data(dict(res.finding.properties))}
                if res.finding.properties
                else {}
            ),
        },
    }
    if res.finding.related:
        out["relatedLocations"] = [
            _location(rel.span, rel.label, i) for i, rel in enumerate(res.finding.related)
        ]
    if res.suppressed_by:
        kind = "inSource" if res.suppressed_by in ("inline", "annotation") else "external"
        out["suppressions"] = [{"kind": kind, "justification": f"kubeward {res.suppressed_by}"}]
    return out


def report_sarif(report: Report) -> dict[str, Any]:
    rules = sorted(
        {r.rule.id: r.rule for r in (*report.results, *report.suppressed)}.values(),
        key=lambda r: r.id,
    )
    # Every rule that ran is listed, so a clean run still documents what was checked.
    ran = {r.id: r for r in report.rules}
    for r in rules:
        ran.setdefault(r.id, r)
    all_rules = sorted(ran.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(all_rules)}
    notifications = [
        {
            "level": "error",
            "message": {"text": json_text(e.reason)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_path(e.path), "uriBaseId": "%SRCROOT%"},
                        **({"region": {"startLine": e.line}} if e.line else {}),
                    }
                }
            ],
        }
        for e in report.errors
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kubeward",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(r) for r in all_rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": notifications,
                # the configuration file the scan used (absent: the defaults)
                **({"properties": {"config": report.config}} if report.config else {}),
            }
        ],
        "results": [_result(r, index) for r in (*report.results, *report.suppressed)],
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The scanned root"}}},
        "automationDetails": {"id": AUTOMATION_ID},
    }
    if report.sections:
        run["properties"] = {
            "sections": [
                {"id": s.id, "title": s.title, "rows": json_data(s.rows)} for s in report.sections
            ]
        }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return dump_json(report_sarif(report), len(report.results) + len(report.suppressed))
