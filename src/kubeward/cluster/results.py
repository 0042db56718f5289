"""Offline signature verdicts: `kubeward verify --format json` results, read back.

`kubeward verify IMAGE@sha256:… --format json > verified.json`, run where the registry can
be reached (or by the pipeline that signed), records per image the digest it resolved to and
the verdict under a policy. `scan --cluster … --verify-results verified.json` judges the
running digests with those verdicts, offline: a digest with a `fail` verdict is reported by
`running-image-unverified`; a digest no result names is not judged (say so with
`--verify-images`, online). The file is the user's own record, trusted as such: it is not
re-verified.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward import safe_read
from kubeward.discover import display_path
from kubeward.model.image import is_valid_digest, parse_image
from kubeward.source import ScanError

MAX_RESULTS_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecordedVerdict:
    verdict: str
    """pass, fail or error."""
    reasons: tuple[str, ...]
    source: str


@dataclass
class VerifyResults:
    """(registry/repository, digest) -> the verdict a `kubeward verify` run recorded."""

    verdicts: dict[tuple[str, str], RecordedVerdict] = field(default_factory=dict)

    def get(self, repository: str, digest: str) -> RecordedVerdict | None:
        return self.verdicts.get((repository, digest))


def read_results(paths: Sequence[Path], errors: list[ScanError]) -> VerifyResults:
    out = VerifyResults()
    for p in paths:
        shown = display_path(p.as_posix())
        try:
            doc = json.loads(safe_read.read_bytes(str(p), root=None, max_size=MAX_RESULTS_BYTES))
        except (ValueError, RecursionError) as e:  # ReadRefused, bad UTF-8 or JSON
            errors.append(ScanError(shown, f"verify results not read: {e}"))
            continue
        results = doc.get("results") if isinstance(doc, dict) else None
        if (
            not isinstance(doc, dict)
            or doc.get("command") != "verify"
            or not isinstance(results, list)
        ):
            errors.append(
                ScanError(shown, "not the JSON output of `kubeward verify --format json`; ignored")
            )
            continue
        for r in results:
            if not isinstance(r, dict):
                continue
            digest, verdict = r.get("digest"), r.get("verdict")
            name = r.get("resolved") or r.get("image")
            if not (isinstance(digest, str) and is_valid_digest(digest)):
                continue
            if not isinstance(name, str) or verdict not in ("pass", "fail", "error"):
                continue
            ref = parse_image(name)
            if not ref.is_resolved:
                continue
            reasons = tuple(str(x) for x in r.get("reasons") or () if isinstance(x, str))
            out.verdicts[(ref.name, digest)] = RecordedVerdict(str(verdict), reasons, shown)
    return out
