"""Expectations written in fixtures.

A comment `# expect: rule-id[, rule-id]` says the next non-expectation line must be hit by
each named rule; `# ok: rule-id` says it must not be. The test runs each rule alone over its
fixture folder and compares the exact set of lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kubeward.cluster import ClusterInput
from kubeward.config import find_config, load_config
from kubeward.engine import ScanOptions, scan
from kubeward.group import all_absorbed
from kubeward.model import runtime
from kubeward.registry import load_rules
from kubeward.results import Report

_MARK_RE = re.compile(r"#\s*(expect|ok):\s*([a-z0-9][a-z0-9, -]*)")


@dataclass
class Expectations:
    expect: set[tuple[str, int]] = field(default_factory=set)
    ok: set[tuple[str, int]] = field(default_factory=set)


def read_expectations(root: Path, rule_id: str) -> Expectations:
    out = Expectations()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (UnicodeDecodeError, OSError):
            continue
        pending: list[tuple[str, set[str]]] = []
        for i, line in enumerate(lines, start=1):
            m = _MARK_RE.search(line)
            if m and line.strip().startswith("#"):
                ids = {x.strip() for x in m.group(2).split(",") if x.strip()}
                pending.append((m.group(1), ids))
                continue
            for kind, ids in pending:
                if rule_id in ids:
                    (out.expect if kind == "expect" else out.ok).add((rel, i))
            pending = []
    return out


def run_rule(root: Path, rule_id: str) -> Report:
    # A fixture's configuration is the test's own file, as a `--config` file outside the
    # scanned tree would be: it may name the fixture's git directory and allowed signers.
    cfg = load_config(find_config(root), trusted=True)
    if load_rules()[rule_id].target.__module__ == runtime.__name__:
        repo = [root / "repo"] if (root / "repo").is_dir() else []
        options = ScanOptions(config=cfg, only_rules=[rule_id], jobs=1, cluster=_cluster(root))
        return scan(repo, options)
    return scan([root], ScanOptions(config=cfg, only_rules=[rule_id], jobs=1))


def _cluster(root: Path) -> ClusterInput:
    """A runtime rule's fixture folder is a cluster snapshot (`scan --cluster`): the folder,
    or its `cluster/` folder when there is one, with a `repo/` beside it scanned as a
    repository; `admission-ledger.jsonl`, `indexes/` and `verify-results.json` are
    `--admission-ledger`, `--image-index` and `--verify-results`."""
    ledger = root / "admission-ledger.jsonl"
    results = root / "verify-results.json"
    indexes = root / "indexes"
    if not indexes.exists():
        indexes = root / "cluster" / "indexes"
    return ClusterInput(
        snapshots=(root / "cluster" if (root / "cluster").is_dir() else root,),
        ledgers=(ledger,) if ledger.exists() else (),
        indexes=(indexes,) if indexes.exists() else (),
        verify_results=(results,) if results.exists() else (),
    )


def hits(report: Report, root: Path, rule_id: str) -> set[tuple[str, int]]:
    prefix = root.as_posix().rstrip("/") + "/"
    out = set()
    # A grouped result stands for each finding it absorbed (kubeward.group): each is a hit.
    for r in (*report.results, *(a for x in report.results for a in all_absorbed(x))):
        if r.rule.id == rule_id and not r.suppressed_by:
            path = r.span.path[len(prefix) :] if r.span.path.startswith(prefix) else r.span.path
            out.add((path, r.span.start.line))
    return out
