"""SARIF 2.1.0 (validated against the OASIS JSON schema in the tests).

`artifactLocation.uri` is the path percent-encoded per RFC 3986 (`uri_path`); texts from the
scanned repository keep their characters but for lone surrogates (`json_text`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubeward.registry import Rule, Severity
from kubeward.report._escape import json_data, json_text, uri_path
from kubeward.report.display import relative_to_base
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

# GitHub code scanning's limits on one SARIF upload ("SARIF results exceed limit" in GitHub's
# code scanning documentation): over a maximum the upload is rejected; over a display limit
# only that many are kept.
GITHUB_MAX_RUNS = 20
GITHUB_MAX_RESULTS = 25_000
GITHUB_SHOWN_RESULTS = 5_000
GITHUB_MAX_RULES = 25_000
GITHUB_MAX_LOCATIONS = 1_000
GITHUB_SHOWN_LOCATIONS = 100
GITHUB_MAX_TAGS = 20
GITHUB_SHOWN_TAGS = 10
GITHUB_MAX_BYTES = 10 * 1024 * 1024  # the upload, gzip-compressed

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


Rel = Callable[[str], str]


def _location(
    span: Span, rel: Rel, message: str | None = None, ident: int | None = None
) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri_path(rel(span.path)), "uriBaseId": "%SRCROOT%"},
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


def _result(res: Result, index: dict[str, int], rel: Rel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": res.rule.id,
        "ruleIndex": index[res.rule.id],
        "level": _LEVEL[res.severity],
        "message": {"text": json_text(res.message)},
        "locations": [_location(res.span, rel)],
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
            _location(x.span, rel, x.label, i) for i, x in enumerate(res.finding.related)
        ]
    if res.suppressed_by:
        kind = "inSource" if res.suppressed_by in ("inline", "annotation") else "external"
        out["suppressions"] = [{"kind": kind, "justification": f"kubeward {res.suppressed_by}"}]
    return out


def _relative(base: Path | None) -> Rel:
    if base is None:
        return lambda path: path
    cache: dict[str, str] = {}

    def rel(path: str) -> str:
        out = cache.get(path)
        if out is None:
            out = cache[path] = relative_to_base(path, base)
        return out

    return rel


def _srcroot(base: Path | None) -> dict[str, Any]:
    if base is None:
        return {"description": {"text": "The scanned root"}}
    uri = base.absolute().as_uri()
    return {
        "uri": uri if uri.endswith("/") else uri + "/",
        "description": {"text": "The top of the scanned repository (or the current directory)"},
    }


def report_sarif(
    report: Report, base: Path | None = None, category: str | None = None
) -> dict[str, Any]:
    """The SARIF log. With `base`, URIs are relative to it and `originalUriBaseIds` says which
    directory `%SRCROOT%` is (an absolute scan root yields relative URIs, as SARIF wants)."""
    rel = _relative(base)
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
                        "artifactLocation": {
                            "uri": uri_path(rel(e.path)),
                            "uriBaseId": "%SRCROOT%",
                        },
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
        "results": [_result(r, index, rel) for r in (*report.results, *report.suppressed)],
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": _srcroot(base)},
        # upload-sarif's `category` input does not replace an id the SARIF already has: the
        # category is chosen here (--sarif-category)
        "automationDetails": {
            "id": AUTOMATION_ID if category is None else category.strip().rstrip("/") + "/"
        },
    }
    if report.sections:
        run["properties"] = {
            "sections": [
                {"id": s.id, "title": s.title, "rows": json_data(s.rows)} for s in report.sections
            ]
        }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report, base: Path | None = None, category: str | None = None) -> str:
    doc = report_sarif(report, base, category)
    return dump_json(doc, len(report.results) + len(report.suppressed))


def github_limit_warnings(doc: dict[str, Any], size: int) -> list[str]:
    """What in a SARIF log (`size` bytes of JSON) GitHub code scanning rejects or cuts."""
    out: list[str] = []
    runs = doc.get("runs", [])
    if len(runs) > GITHUB_MAX_RUNS:
        out.append(f"{len(runs)} runs, over GitHub's {GITHUB_MAX_RUNS} per file: rejected")
    for run in runs:
        results = run.get("results", [])
        n = len(results)
        if n > GITHUB_MAX_RESULTS:
            out.append(
                f"{n} results, over GitHub's {GITHUB_MAX_RESULTS} per run: the upload is "
                "rejected (use --max-results or --min-severity)"
            )
        elif n > GITHUB_SHOWN_RESULTS:
            out.append(
                f"{n} results: GitHub keeps only the {GITHUB_SHOWN_RESULTS} most severe "
                "(use --max-results to choose)"
            )
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        if len(rules) > GITHUB_MAX_RULES:
            out.append(f"{len(rules)} rules, over GitHub's {GITHUB_MAX_RULES} per run: rejected")
        most_locs = max(
            (max(len(r.get("locations", [])), len(r.get("relatedLocations", []))) for r in results),
            default=0,
        )
        if most_locs > GITHUB_MAX_LOCATIONS:
            out.append(
                f"a result has {most_locs} locations, over GitHub's {GITHUB_MAX_LOCATIONS}: "
                "rejected"
            )
        elif most_locs > GITHUB_SHOWN_LOCATIONS:
            out.append(f"a result has {most_locs} locations: GitHub shows {GITHUB_SHOWN_LOCATIONS}")
        most_tags = max((len(r.get("properties", {}).get("tags", [])) for r in rules), default=0)
        if most_tags > GITHUB_MAX_TAGS:
            out.append(f"a rule has {most_tags} tags, over GitHub's {GITHUB_MAX_TAGS}: rejected")
        elif most_tags > GITHUB_SHOWN_TAGS:
            out.append(f"a rule has {most_tags} tags: GitHub shows {GITHUB_SHOWN_TAGS}")
    if size > GITHUB_MAX_BYTES:
        out.append(
            f"{size} bytes: GitHub takes at most {GITHUB_MAX_BYTES} bytes gzip-compressed "
            "(upload-sarif compresses; check the compressed size)"
        )
    return out
