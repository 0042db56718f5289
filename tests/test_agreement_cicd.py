"""Agreement with zizmor without running it: expectations derived from the layout of zizmor's
test data (one file or folder per audit), checked against kubeward's own results, plus the
peer false positives that must stay quiet here. `make agreement` runs the peers themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agreement import cicd
from tests.conftest import require_shared

# zizmor test file -> kubeward rules that must report it (the audit the file was written for).
MUST_FIRE = {
    "unpinned-uses.yml": {"action-not-pinned-to-sha"},
    "unpinned-uses/menagerie-of-uses.yml": {"action-not-pinned-to-sha"},
    "unpinned-uses/reusable-workflow-unpinned.yml": {"action-not-pinned-to-sha"},
    "template-injection.yml": {"template-injection"},
    "template-injection/codeql-sinks.yml": {"template-injection"},
    "template-injection/pwsh-script.yml": {"template-injection"},
    # ${{ env.X }} where X holds an issue title: the template expands it again
    "template-injection/static-env.yml": {"template-injection"},
    "insecure-commands.yml": {"insecure-commands-enabled"},
    "insecure-commands/action.yml": {"insecure-commands-enabled"},
    "secrets-inherit.yml": {"secrets-inherit"},
    "excessive-permissions/workflow-write-all.yml": {"excessive-permissions"},
    "excessive-permissions/workflow-default-perms.yml": {"missing-token-permissions"},
}
# zizmor test file -> kubeward rules that must stay quiet on it (negatives in zizmor's data,
# and places where a peer's report is a false positive for kubeward's definition).
MUST_NOT_FIRE = {
    "template-injection/false-positive-menagerie.yml": {"template-injection"},
    "excessive-permissions/workflow-read-all.yml": {
        "excessive-permissions",
        "missing-token-permissions",
    },
    "excessive-permissions/workflow-empty-perms.yml": {
        "excessive-permissions",
        "missing-token-permissions",
    },
    # write-all at the top, but the only job narrows it to {}: nothing gets write-all
    "parallel-steps/basic.yml": {"excessive-permissions"},
    # pull_request_target without checking out the head (zizmor flags the trigger alone)
    "dangerous-triggers/actions-labeler.yml": {"dangerous-trigger-checkout"},
    # checkout without persist-credentials: false but no artifact upload
    "artipacked.yml": {"persisted-checkout-credentials"},
    # bun publish uses the OIDC token: id-token: write is needed
    "use-trusted-publishing/bun-publish.yml": {"excessive-permissions"},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    require_shared("corpora", "zizmor")
    root = tmp_path_factory.mktemp("zizmor")
    mapping = cicd.lay_out(cicd.corpus_files(), root)
    got = cicd.ours(root, cicd._our_rules(cicd.ZIZMOR))
    return {
        orig.relative_to(cicd.ZIZMOR_DATA).as_posix(): got.get(rel, set())
        for rel, orig in mapping.items()
    }


@pytest.mark.parametrize("name", sorted(MUST_FIRE))
def test_fires_where_zizmor_data_says(results: dict[str, set[str]], name: str) -> None:
    assert name in results, f"{name} is not in zizmor's test data any more"
    missing = MUST_FIRE[name] - results[name]
    assert not missing, f"{name}: expected {sorted(missing)}; got {sorted(results[name])}"


@pytest.mark.parametrize("name", sorted(MUST_NOT_FIRE))
def test_quiet_on_negatives_and_peer_false_positives(
    results: dict[str, set[str]], name: str
) -> None:
    assert name in results, f"{name} is not in zizmor's test data any more"
    wrong = MUST_NOT_FIRE[name] & results[name]
    assert not wrong, f"{name}: must not report {sorted(wrong)}"


def test_secrets_inherit_points_at_the_inherit_line(tmp_path: Path) -> None:
    data = require_shared("corpora", "zizmor") / cicd.ZIZMOR_DATA.relative_to(
        cicd.CORPORA / "zizmor"
    )
    src = data / "secrets-inherit.yml"
    mapping = cicd.lay_out([src], tmp_path)
    [rel] = mapping
    from kubeward.engine import ScanOptions, scan

    report = scan([tmp_path], ScanOptions(only_rules=["secrets-inherit"], jobs=1))
    lines = src.read_text(encoding="utf-8").split("\n")
    want = [i for i, line in enumerate(lines, start=1) if line.strip() == "secrets: inherit"]
    assert [(r.span.path.endswith(rel), r.span.start.line) for r in report.results] == [
        (True, want[0])
    ]
