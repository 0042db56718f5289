"""Every rule against its fixtures, alone, with the expectations written in the fixtures."""

from __future__ import annotations

import pytest

from kubeward.registry import load_rules
from kubeward.verify.rules import NETWORK_RULES
from tests.conftest import FIXTURES
from tests.expectations import hits, read_expectations, run_rule

RULE_FIXTURES = FIXTURES / "rules"
# Rules that need a live registry (`scan --verify-images`) are tested against the real
# registry in tests/verify, not with static fixtures.
RULE_IDS = sorted(set(load_rules()) - NETWORK_RULES)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_matches_written_expectations(rule_id: str) -> None:
    root = RULE_FIXTURES / rule_id
    if not root.is_dir():
        pytest.fail(f"rule {rule_id} has no fixture folder {root}")
    exp = read_expectations(root, rule_id)
    report = run_rule(root, rule_id)
    internal = [e for e in report.errors if "internal error" in e.reason]
    assert not internal, internal
    got = hits(report, root, rule_id)
    missing = sorted(exp.expect - got)
    unexpected = sorted(got - exp.expect)
    assert not missing and not unexpected, (
        f"{rule_id}: expected but not reported: {missing}; reported but not expected: {unexpected}"
    )
    assert not (got & exp.ok), f"{rule_id}: fired on lines marked ok: {sorted(got & exp.ok)}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_fail_and_pass_fixtures_and_doc(rule_id: str) -> None:
    rule = load_rules()[rule_id]
    exp = read_expectations(RULE_FIXTURES / rule_id, rule_id)
    assert exp.expect, f"{rule_id}: no '# expect: {rule_id}' fixture line"
    assert exp.ok, f"{rule_id}: no '# ok: {rule_id}' fixture line (a near miss that must pass)"
    assert rule.section("Why it matters"), f"{rule_id}: doc lacks '## Why it matters'"
    assert rule.section("Remediation"), f"{rule_id}: doc lacks '## Remediation'"
    assert rule.summary, f"{rule_id}: doc lacks a summary"
