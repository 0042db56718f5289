"""The gate's admission ledger, read back: what admission decided, per image digest.

The ledger is JSON lines, one per container per review (`kubeward.gate.ledger.LedgerRecord`,
docs/gate.md): `image` as written in the object, `digest` the decision was made for, `verdict`
(allow, deny, warn, skip, break-glass; pin or unpinned for the mutating review). Lines that
are not such records are counted in one error entry naming the first; the rest is used.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward import safe_read
from kubeward.discover import display_path
from kubeward.model.image import is_valid_digest, parse_image
from kubeward.source import ScanError

MAX_LEDGER_BYTES = 512 * 1024 * 1024

ADMITTING = frozenset({"allow", "warn", "break-glass", "pin"})
"""Verdicts under which the image was let into the cluster after judgment."""


@dataclass(frozen=True, slots=True)
class AdmissionRecord:
    path: str
    line: int
    namespace: str
    object: str
    container: str
    image: str
    repository: str
    """`registry/repository` of `image` ('' when it does not parse)."""
    digest: str | None
    verdict: str
    time: str

    @property
    def admitted(self) -> bool:
        return self.verdict in ADMITTING


@dataclass
class AdmissionLedger:
    """The records of ledger files: by (repository, digest), and the admitted digests by
    (repository, namespace)."""

    sources: tuple[str, ...] = ()
    by_digest: dict[tuple[str, str], list[AdmissionRecord]] = field(
        default_factory=lambda: defaultdict(list)
    )
    admitted_in: dict[tuple[str, str], dict[str, AdmissionRecord]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """(repository, namespace) -> admitted digest -> its last admitting record."""
    count: int = 0

    def add(self, r: AdmissionRecord) -> None:
        self.count += 1
        if r.digest:
            self.by_digest[(r.repository, r.digest)].append(r)
            if r.admitted and r.repository:
                self.admitted_in[(r.repository, r.namespace)][r.digest] = r

    def admitted(self, repository: str, namespace: str) -> dict[str, AdmissionRecord]:
        return self.admitted_in.get((repository, namespace), {})

    def for_digest(self, repository: str, digest: str) -> list[AdmissionRecord]:
        return self.by_digest.get((repository, digest), [])


def _record(path: str, line: int, data: object) -> AdmissionRecord | None:
    if not isinstance(data, dict):
        return None
    image, verdict = data.get("image"), data.get("verdict")
    digest = data.get("digest")
    if not isinstance(image, str) or not isinstance(verdict, str):
        return None
    if digest is not None and not (isinstance(digest, str) and is_valid_digest(digest)):
        return None
    ref = parse_image(image)
    if digest is None and ref.digest is not None:
        digest = ref.digest
    return AdmissionRecord(
        path=path,
        line=line,
        namespace=str(data.get("namespace") or ""),
        object=str(data.get("object") or ""),
        container=str(data.get("container") or ""),
        image=image,
        repository=ref.name if ref.error is None and not ref.templated else "",
        digest=digest,
        verdict=verdict,
        time=str(data.get("time") or ""),
    )


def read_ledger(
    paths: Sequence[Path], errors: list[ScanError], *, max_size: int = MAX_LEDGER_BYTES
) -> AdmissionLedger:
    """The ledger in `paths`; unreadable files and bad lines are error entries."""
    ledger = AdmissionLedger(sources=tuple(display_path(p.as_posix()) for p in paths))
    limit = max(max_size, MAX_LEDGER_BYTES)
    for p in paths:
        shown = display_path(p.as_posix())
        try:
            raw = safe_read.read_bytes(str(p), root=None, max_size=limit)
        except ValueError as e:
            errors.append(ScanError(shown, f"admission ledger not read: {e}"))
            continue
        bad: list[int] = []
        for i, text in enumerate(raw.split(b"\n"), start=1):
            if not text.strip():
                continue
            try:
                rec = _record(shown, i, json.loads(text.decode("utf-8")))
            except (UnicodeDecodeError, ValueError, RecursionError):
                rec = None
            if rec is None:
                bad.append(i)
            else:
                ledger.add(rec)
        if bad:
            errors.append(
                ScanError(
                    shown,
                    f"admission ledger: {len(bad)} line(s) are not gate ledger records "
                    f"(JSON objects with string 'image' and 'verdict'); first at line {bad[0]}",
                    bad[0],
                )
            )
    return ledger
