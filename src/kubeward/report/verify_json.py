"""`kubeward verify --format json`, schema version 1 (docs/json-schema.md).

The scan's conventions: `schema_version` and `tool` as in `kubeward.report.json_out`, and the
shape frozen per version (fields are only added within one).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubeward.report.json_out import SCHEMA_VERSION, dump_json
from kubeward.verify.image import (
    AttachedSbom,
    ImageVerdict,
    PolicyOutcome,
    Verdict,
    VerificationReport,
    Verified,
)


def verified_dict(v: Verified) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "where": v.where,
        "signer": v.signer,
        "issuer": v.issuer,
        "times": list(v.times),
        "predicate_type": v.predicate_type,
    }


def sbom_dict(s: AttachedSbom) -> dict[str, Any]:
    return {
        "where": s.where,
        "media_type": s.media_type,
        "digest": s.digest,
        "size": s.size,
        "signed_by": s.signed_by,
        "problems": list(s.problems),
    }


def outcome_dict(o: PolicyOutcome) -> dict[str, Any]:
    return {
        "name": o.policy,
        "passed": o.passed,
        "authority": o.authority,
        "reasons": list(o.reasons),
    }


def verdict_dict(v: ImageVerdict) -> dict[str, Any]:
    """One image: also the `properties` of its SARIF result."""
    return {
        "image": v.image,
        "digest": v.digest,
        "resolved": v.resolved.canonical if v.resolved is not None else None,
        "verdict": v.verdict.value,
        "error": v.error,
        "reasons": list(v.reasons),
        "policies": [outcome_dict(o) for o in v.policies],
        "verified": [verified_dict(x) for x in v.verified],
        "sboms": [sbom_dict(s) for s in v.sboms],
    }


def report_dict(report: VerificationReport) -> dict[str, Any]:
    counts = Counter(v.verdict for v in report.verdicts)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "kubeward", "version": report.version},
        "command": "verify",
        "policy": {"source": report.policy_source, "digest": report.policy_digest},
        "trust": {"source": report.trust_source, "digest": report.trust_digest},
        "summary": {
            "images": len(report.verdicts),
            **{verdict.value: counts[verdict] for verdict in Verdict},
        },
        "results": [verdict_dict(v) for v in report.verdicts],
    }


def render(report: VerificationReport) -> str:
    return dump_json(report_dict(report), len(report.verdicts))
