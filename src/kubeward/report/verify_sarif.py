"""`kubeward verify --format sarif`: SARIF 2.1.0 with the scan's tool, rule and level shapes.

One result per image checked, `kind` pass or fail for rule `image-signature-unverified`, at a
logical location naming the image, with the JSON object of the image in its properties. Images
that could not be checked are tool execution notifications. `automationDetails.id` is
`kubeward/verify/`, so GitHub files it under its own category, apart from the scan's.
"""

from __future__ import annotations

from typing import Any

from kubeward.registry import load_rules
from kubeward.report.json_out import dump_json
from kubeward.report.sarif import INFORMATION_URI, SARIF_SCHEMA, rule_descriptor
from kubeward.report.verify_json import verdict_dict
from kubeward.verify.image import Verdict, VerificationReport

RULE_ID = "image-signature-unverified"
AUTOMATION_ID = "kubeward/verify/"
"""Category `kubeward/verify` in GitHub code scanning, beside the scan's `kubeward/scan`."""


def report_sarif(report: VerificationReport) -> dict[str, Any]:
    descriptor = rule_descriptor(load_rules()[RULE_ID])
    fail_level = descriptor["defaultConfiguration"]["level"]
    results = []
    notifications = []
    for v in report.verdicts:
        location = {"logicalLocations": [{"fullyQualifiedName": v.image, "kind": "image"}]}
        if v.verdict is Verdict.ERROR:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{v.image}: {'; '.join(v.reasons)}"},
                    "locations": [location],
                }
            )
            continue
        text = f"{v.image} ({v.digest}) {'verified' if v.passed else 'is not verified'}"
        if v.reasons:
            text += ": " + "; ".join(v.reasons)
        results.append(
            {
                "ruleId": RULE_ID,
                "ruleIndex": 0,
                "kind": "pass" if v.passed else "fail",
                "level": "none" if v.passed else fail_level,
                "message": {"text": text},
                "locations": [location],
                "properties": verdict_dict(v),
            }
        )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kubeward",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": INFORMATION_URI,
                "rules": [descriptor],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "automationDetails": {"id": AUTOMATION_ID},
        "properties": {
            "policy": {"source": report.policy_source, "digest": report.policy_digest},
            "trust": {"source": report.trust_source, "digest": report.trust_digest},
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: VerificationReport) -> str:
    return dump_json(report_sarif(report), len(report.verdicts))
