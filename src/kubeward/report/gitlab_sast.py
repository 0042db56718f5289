"""GitLab's security report format for SAST (`artifacts:reports:sast`), schema `SCHEMA_VERSION`.

The fields GitLab's schema requires: `version`, `scan` (`analyzer` and `scanner`, each with
`id`, `name`, `version` and `vendor.name`; `type` `sast`; `start_time` and `end_time` as
`YYYY-MM-DDTHH:MM:SS`; `status`), and per vulnerability `id`, `identifiers` (1 to 20, each
with `type`, `name`, `value`) and `location` (`file`, `start_line`, `end_line`: what GitLab
tracks a SAST vulnerability by). The `id` is a UUID derived from kubeward's fingerprint, so
it stays the same across runs; the primary identifier is the rule id.

Times: the end is now (or `SOURCE_DATE_EPOCH`, for reproducible output), the start that
minus the scan's duration.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubeward.registry import Severity
from kubeward.report._escape import json_text
from kubeward.report.display import relative_to_base
from kubeward.report.json_out import dump_json
from kubeward.results import Report, Result

SCHEMA_VERSION = "15.2.1"
_TIME = "%Y-%m-%dT%H:%M:%S"
_NAMESPACE = uuid.UUID("7f3b2f6e-4c1d-5a8e-9b0f-6d2c1e3a4b5c")  # kubeward's, for uuid5
_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}
_VENDOR = {"name": "kubeward"}


def _now() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)


def _vulnerability(r: Result, base: Path | None) -> dict[str, Any]:
    s = r.span
    path = relative_to_base(s.path, base) if base is not None else s.path
    identifiers = [
        {"type": "kubeward_rule", "name": f"kubeward {r.rule.id}", "value": r.rule.id,
         "url": r.rule.help_uri},
        *({"type": "cis", "name": f"CIS {c}", "value": c} for c in r.rule.cis),
    ][:20]  # fmt: skip
    return {
        "id": str(uuid.uuid5(_NAMESPACE, r.fingerprint)),
        "name": r.rule.title[:255],
        "description": json_text(r.message),
        "severity": _SEVERITY[r.severity],
        "solution": r.rule.section("Remediation") or None,
        "identifiers": identifiers,
        "location": {"file": json_text(path), "start_line": s.start.line, "end_line": s.end.line},
    }


def report_gitlab(report: Report, base: Path | None = None) -> dict[str, Any]:
    end = _now().replace(microsecond=0)
    start = end - timedelta(seconds=round(report.duration_s))
    tool = {"id": "kubeward", "name": "kubeward", "version": report.version, "vendor": _VENDOR}
    vulns = [_vulnerability(r, base) for r in report.results]
    for v in vulns:
        if v["solution"] is None:
            del v["solution"]
    return {
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": {**tool, "url": "https://github.com/kubeward/kubeward"},
            "type": "sast",
            "start_time": start.strftime(_TIME),
            "end_time": end.strftime(_TIME),
            "status": "success",
            "messages": [
                {"level": "warn", "value": json_text(f"{e.path}: {e.reason}")}
                for e in report.errors
            ],
        },
        "vulnerabilities": vulns,
    }


def render(report: Report, base: Path | None = None) -> str:
    return dump_json(report_gitlab(report, base), len(report.results))
