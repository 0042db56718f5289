"""in-toto statements (v0.1 and v1) inside DSSE envelopes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubeward.verify._errors import VerificationError

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = frozenset(
    {"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"}
)


@dataclass(frozen=True)
class Subject:
    name: str
    digests: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Statement:
    type: str
    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: Any

    def has_sha256(self, digest: bytes) -> bool:
        hexdigest = digest.hex()
        return any(
            algo == "sha256" and value.lower() == hexdigest
            for subject in self.subjects
            for algo, value in subject.digests
        )


def parse_statement(payload_type: str, payload: bytes) -> Statement:
    """Parse and validate the statement; raise `VerificationError` when it is not one."""
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise VerificationError(
            f"DSSE payload type is {payload_type!r}, expected {INTOTO_PAYLOAD_TYPE!r}",
            kind="payload-type-mismatch",
        )
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerificationError("in-toto statement is not JSON", kind="bad-statement") from exc
    if not isinstance(doc, dict) or doc.get("_type") not in STATEMENT_TYPES:
        raise VerificationError(
            "payload is not an in-toto statement v0.1 or v1", kind="bad-statement"
        )
    subjects = []
    for raw in doc.get("subject") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("digest"), dict):
            raise VerificationError("in-toto subject without digest", kind="bad-statement")
        subjects.append(
            Subject(
                name=str(raw.get("name", "")),
                digests=tuple((str(k), str(v)) for k, v in raw["digest"].items()),
            )
        )
    if not subjects:
        raise VerificationError("in-toto statement has no subject", kind="bad-statement")
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str):
        raise VerificationError("in-toto statement has no predicateType", kind="bad-statement")
    return Statement(
        type=str(doc["_type"]),
        predicate_type=predicate_type,
        subjects=tuple(subjects),
        predicate=doc.get("predicate"),
    )


def require_subject(statement: Statement, digest: bytes, *, what: str) -> None:
    if not statement.has_sha256(digest):
        names = ", ".join(s.name or "?" for s in statement.subjects)
        raise VerificationError(
            f"{what} sha256:{digest.hex()} is not a subject of the statement (subjects: {names})",
            kind="subject-mismatch",
        )
