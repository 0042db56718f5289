"""The rule docs in docs/rules/ are generated from the code and must not drift."""

from __future__ import annotations

from pathlib import Path

from kubeward.docs import expected_docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def test_rule_docs_match_the_code() -> None:
    expected = expected_docs()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    stale = sorted(n for n in expected if on_disk.get(n) != expected[n])
    extra = sorted(set(on_disk) - set(expected))
    assert not stale and not extra, (
        f"docs/rules drifted (run `make docs`): changed or missing {stale}, orphaned {extra}"
    )
