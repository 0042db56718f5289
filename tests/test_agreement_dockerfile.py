"""The Dockerfile pack agrees with Checkov's labelled Dockerfile fixtures (or says why not)."""

from __future__ import annotations

import json

from tests.agreement import dockerfile
from tests.conftest import require_shared


def test_every_checkov_dockerfile_check_is_compared_or_explained() -> None:
    root = require_shared("corpora", "checkov")
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    folders = {k.rsplit("/", 1)[1] for k in index if "/dockerfile/" in k}
    assert folders == set(dockerfile.COUNTERPARTS) | set(dockerfile.NOT_COMPARED)


def test_agreement_with_checkov_dockerfile_fixtures() -> None:
    require_shared("corpora", "checkov")
    rows = dockerfile.rows()
    got = {(r.folder, r.case): (r.expected_fail, r.we_fail) for r in rows}
    assert got == {
        ("example_AddExists", "failure"): (True, True),
        ("example_ReferenceLatestTag", "failure_default_version_tag"): (True, True),
        ("example_ReferenceLatestTag", "failure_latest_version_tag"): (True, True),
        ("example_ReferenceLatestTag", "success"): (False, False),
        ("example_ReferenceLatestTag", "success_multi_stage"): (False, False),
        ("example_ReferenceLatestTag", "success_multi_stage_capital"): (False, False),
        ("example_ReferenceLatestTag", "success_multi_stage_platform"): (False, False),
        ("example_ReferenceLatestTag", "success_multi_stage_scratch"): (False, False),
        ("example_ReferenceLatestTag", "success_scratch"): (False, False),
        ("example_RootUser", "failure"): (True, True),
        ("example_RootUser", "success"): (False, False),
        ("example_UserExists", "failure"): (True, True),
        ("example_UserExists", "success"): (False, False),
    }
    md = dockerfile.markdown()
    assert f"**Agreement: {len(rows)} of {len(rows)} labelled folders.**" in md
