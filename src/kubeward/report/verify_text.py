"""`kubeward verify` as text: one block per image, its verdict, what verified and why not."""

from __future__ import annotations

from kubeward.verify.image import VerificationReport


def render(report: VerificationReport) -> str:
    lines = []
    for result in report.verdicts:
        head = f"{result.verdict.value.upper():5} {result.image}"
        if result.digest:
            head += f" ({result.digest})"
        lines.append(head)
        for item in result.verified:
            what = item.predicate_type or "signature"
            by = item.signer + (f" [{item.issuer}]" if item.issuer else "")
            lines.append(f"      verified {item.kind} {what} by {by} from {item.where}")
        for sbom in result.sboms:
            state = f"signed by {sbom.signed_by}" if sbom.signed_by else "not signed"
            if sbom.problems:
                state = "signature not verified: " + "; ".join(sbom.problems)
            lines.append(
                f"      attached sbom {sbom.media_type} ({sbom.size} bytes) from {sbom.where}, "
                f"{state}"
            )
        lines += [f"      - {reason}" for reason in result.reasons]
    return "\n".join(lines) + "\n"
