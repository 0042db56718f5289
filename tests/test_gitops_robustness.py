"""The gitops pack on its own fixtures turned inside out: every scalar a list, every list a map,
every map a string, every value null. Nothing may crash (an internal error is a bug)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.engine import ScanOptions, scan
from kubeward.registry import load_rules
from tests.conftest import FIXTURES

MY_RULES = sorted(
    r.id for r in load_rules().values() if r.func.__module__.startswith("kubeward.rules.gitops")
)
KEEP = {"apiVersion", "kind"}  # keep documents recognisable, so the rules reach the mutants


def _walk(data: Any, leaf: Callable[[Any], Any], branch: Callable[[Any], Any]) -> Any:
    if isinstance(data, dict):
        return branch({k: v if k in KEEP else _walk(v, leaf, branch) for k, v in data.items()})
    if isinstance(data, list):
        return branch([_walk(v, leaf, branch) for v in data])
    return leaf(data)


MUTATIONS: dict[str, Callable[[Any], Any]] = {
    "scalars-to-lists": lambda d: _walk(d, lambda s: [s, s], lambda c: c),
    "scalars-to-maps": lambda d: _walk(d, lambda s: {"x": s}, lambda c: c),
    "scalars-to-null": lambda d: _walk(d, lambda s: None, lambda c: c),
    "lists-to-maps": lambda d: _walk(
        d, lambda s: s, lambda c: {str(i): v for i, v in enumerate(c)} if isinstance(c, list) else c
    ),
    "maps-to-strings": lambda d: _walk(
        d, lambda s: s, lambda c: "x" if isinstance(c, dict) and not (KEEP & set(c)) else c
    ),
}


def _fixture_files() -> list[Path]:
    out = []
    for rule_id in MY_RULES:
        root = FIXTURES / "rules" / rule_id
        out += [p for p in root.rglob("*.yaml") if "history.git" not in p.parts]
    return sorted(out)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_fixtures_do_not_crash(tmp_path: Path, name: str) -> None:
    mutate = MUTATIONS[name]
    for i, path in enumerate(_fixture_files()):
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        mutated = [mutate(d) for d in docs]
        (tmp_path / f"{i:03d}-{path.name}").write_text(yaml.safe_dump_all(mutated))
    report = scan([tmp_path], ScanOptions(only_rules=MY_RULES, jobs=1))
    assert [e for e in report.errors if "internal error" in e.reason] == []
