"""Our Kubernetes rules against Checkov's labelled fixtures: every disagreement has a reason."""

from __future__ import annotations

import pytest

from tests.agreement import kubernetes as agreement
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def cases() -> list[agreement.Case]:
    require_shared("corpora", "checkov", "index.json")
    return agreement.cases()


def test_every_counterpart_has_labelled_fixtures(cases: list[agreement.Case]) -> None:
    assert {c.check_id for c in cases} == set(agreement.COUNTERPARTS)


def test_disagreements_are_exactly_the_explained_ones(cases: list[agreement.Case]) -> None:
    disagree = {(c.check_id, c.file.name) for c in cases if not c.agrees}
    assert disagree == set(agreement.EXPLAINED), (
        f"unexplained: {sorted(disagree - set(agreement.EXPLAINED))}; "
        f"explained but now agreeing: {sorted(set(agreement.EXPLAINED) - disagree)}"
    )


@pytest.mark.parametrize(
    ("check_id", "rule_id", "minimum"),
    [
        ("CKV_K8S_14", "image-mutable-tag", 1.0),
        ("CKV_K8S_15", "image-pull-policy-not-always", 1.0),
        ("CKV_K8S_16", "workload-privileged-container", 1.0),
        ("CKV_K8S_27", "workload-runtime-socket-mount", 1.0),
        ("CKV_K8S_42", "rbac-binding-to-broad-subject", 1.0),
        ("CKV_K8S_49", "rbac-wildcard", 1.0),
        ("CKV_K8S_155", "rbac-admission-webhook-write", 1.0),
        ("CKV_K8S_157", "rbac-escalation-verbs", 0.5),
        ("CKV_K8S_158", "rbac-escalation-verbs", 0.75),
        ("CKV_K8S_43", "image-not-pinned-by-digest", 0.4),
    ],
)
def test_agreement_rate_per_rule(
    cases: list[agreement.Case], check_id: str, rule_id: str, minimum: float
) -> None:
    mine = [c for c in cases if c.check_id == check_id]
    assert mine and all(c.rule_id == rule_id for c in mine)
    rate = sum(c.agrees for c in mine) / len(mine)
    assert rate >= minimum, [(c.file.name, c.label, c.findings) for c in mine if not c.agrees]


def test_findings_land_where_checkov_says(cases: list[agreement.Case]) -> None:
    by_key = {(c.check_id, c.file.name): c for c in cases}
    docker = by_key[("CKV_K8S_27", "scope-2PASSED-1FAILED.yaml")]
    assert docker.findings == (
        "363: DaemonSet/weave-scope-agent mounts the container runtime socket "
        "(/var/run/docker.sock) from the host",
    )
    default_sa = by_key[("CKV_K8S_42", "DefaultServiceAccountBinding-FAILED.yaml")]
    assert [f.split(":")[0] for f in default_sa.findings] == ["24", "38"]
    assert "ClusterRole/cluster-admin" in default_sa.findings[1]


def test_markdown_lists_every_disagreement_with_its_reason(cases: list[agreement.Case]) -> None:
    md = agreement.markdown()
    assert "| **all** |" in md
    for (cid, name), reason in agreement.EXPLAINED.items():
        assert f"{cid} `{name}`" in md and reason in md
    assert "(no reason recorded)" not in md
