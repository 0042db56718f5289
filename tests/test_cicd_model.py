"""The workflow and GitLab models: expression spans inside every scalar style, `uses:`
parsing, GitLab image sources judged by the image rules, and the corpora scanned without
crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.config import Config
from kubeward.engine import ScanOptions, scan
from kubeward.model.workflow import expressions, parse_uses, parse_workflow
from kubeward.parse.yamlnode import load_documents
from kubeward.source import FileKind, SourceFile
from tests.conftest import every_result, require_shared

WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "héllo ${{ github.event.issue.title }}"
            x ${{
              github.head_ref }}
      - run: >
          echo ${{ github.event.comment.body }}
          and more
      - run: "quoted \\" ${{ github.event.pull_request.body }}"
      - run: plain ${{ github.head_ref }}
          folded ${{ github.event.review.body }}
      - run: 'single ''x'' ${{ github.event.issue.body }}'
"""


def _file(text: str, kind: FileKind = FileKind.GHA_WORKFLOW, rel: str = "w.yml") -> SourceFile:
    return SourceFile(rel, rel, kind, text, load_documents(text, rel))


def test_expression_spans_in_every_scalar_style() -> None:
    f = _file(WORKFLOW)
    wf = parse_workflow(f)
    assert wf is not None
    got = [
        (e.text, e.span.start.line, e.span.start.col, e.span.end.line)
        for s in wf.jobs[0].steps
        for e in expressions(f, s.run)
    ]
    assert got == [
        ("github.event.issue.title", 7, 23, 7),  # block literal, after a non-ASCII character
        ("github.head_ref", 8, 15, 9),  # an expression broken over two lines
        ("github.event.comment.body", 11, 16, 11),  # folded block
        ("github.event.pull_request.body", 13, 25, 13),  # double-quoted with an escape
        ("github.head_ref", 14, 20, 14),  # plain multi-line scalar
        ("github.event.review.body", 15, 18, 15),
        ("github.event.issue.body", 16, 28, 16),  # single-quoted with a doubled quote
    ]
    for s in wf.jobs[0].steps:
        for e in expressions(f, s.run):
            raw = f.text[e.span.start.offset : e.span.end.offset]
            assert raw.startswith("${{") and raw.endswith("}}")


@pytest.mark.parametrize(
    ("text", "kind", "action", "ref", "pinned"),
    [
        ("actions/checkout@v4", "repo", "actions/checkout", "v4", False),
        ("actions/checkout@" + "a" * 40, "repo", "actions/checkout", "a" * 40, True),
        ("github/codeql-action/init@v3", "repo", "github/codeql-action/init", "v3", False),
        ("./.github/actions/x", "local", "", None, False),
        ("docker://alpine:3", "docker", "", None, False),
        (
            "Owner/Repo/.github/workflows/x.yml@main",
            "repo",
            "owner/repo/.github/workflows/x.yml",
            "main",
            False,
        ),
    ],
)
def test_parse_uses(text: str, kind: str, action: str, ref: str | None, pinned: bool) -> None:
    u = parse_uses(text)
    assert (u.kind, u.action, u.ref, u.is_sha_pinned) == (kind, action, ref, pinned)


def test_gitlab_images_and_services_are_judged_by_the_image_rules(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        "image: python:3.12\n"
        "build:\n"
        "  image:\n"
        "    name: alpine:3.20@sha256:" + "b" * 64 + "\n"
        "  services:\n"
        "    - postgres:16\n"
        "    - name: redis\n"
        "  script: [make]\n",
        encoding="utf-8",
    )
    report = scan(
        [tmp_path],
        ScanOptions(
            config=Config(), only_rules=["image-not-pinned-by-digest", "image-mutable-tag"], jobs=1
        ),
    )
    got = sorted((r.rule.id, r.span.start.line, r.span.start.col) for r in every_result(report))
    assert got == [
        ("image-mutable-tag", 7, 13),
        ("image-not-pinned-by-digest", 1, 8),
        ("image-not-pinned-by-digest", 6, 7),
        ("image-not-pinned-by-digest", 7, 13),
    ]


def test_gitlab_included_file_is_a_pipeline_file(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / ".gitlab-ci.yml").write_text("include:\n  - local: ci/x.yml\n", encoding="utf-8")
    (tmp_path / "ci" / "x.yml").write_text(
        'deploy:\n  script:\n    - eval "$CI_COMMIT_MESSAGE"\n', encoding="utf-8"
    )
    report = scan([tmp_path], ScanOptions(only_rules=["gitlab-script-injection"], jobs=1))
    assert [(r.span.path.rsplit("/", 2)[-2:], r.span.start.line) for r in report.results] == [
        (["ci", "x.yml"], 3)
    ]


def test_every_corpus_workflow_scans_without_internal_errors(tmp_path: Path) -> None:
    """Every workflow, action and GitLab pipeline in ../shared/corpora, laid out where
    kubeward reads it as one (zizmor's test data is not under .github/workflows)."""
    corpora = require_shared("corpora")
    from kubeward.registry import load_rules
    from tests.agreement import cicd

    workflows = [
        p
        for p in sorted(corpora.rglob("*.y*ml"))
        if (p.parent.name == "workflows" and p.parent.parent.name == ".github")
        or p.name in ("action.yml", "action.yaml")
    ]
    files = sorted(set(workflows) | set(cicd.corpus_files()))
    mapping = cicd.lay_out(files, tmp_path)
    assert len(mapping) > 250
    gitlab = sorted(p.parent for p in corpora.rglob(".gitlab-ci.yml"))
    assert gitlab
    ours = sorted(
        r.id for r in load_rules().values() if r.func.__module__.startswith("kubeward.rules.cicd")
    )
    report = scan(
        [tmp_path, *gitlab], ScanOptions(only_rules=[*ours, "image-not-pinned-by-digest"], jobs=1)
    )
    internal = [e for e in report.errors if "internal error" in e.reason]
    assert internal == []
    # every file was read; the only unreadable ones are zizmor's deliberately invalid inputs
    assert report.files_scanned == len(mapping) + len(gitlab)
    assert all(
        "invalid" in str(mapping.get(e.path.removeprefix(tmp_path.as_posix() + "/"), ""))
        for e in report.errors
    )


def test_github_container_and_service_images_are_judged_by_the_image_rules(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(
        "on: push\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    container: node:20\n"
        "    services:\n"
        "      db:\n"
        "        image: postgres:16@sha256:" + "c" * 64 + "\n"
        "      cache:\n"
        "        image: redis\n"
        "      matrix:\n"
        "        image: ${{ matrix.image }}\n"
        "    steps:\n"
        "      - run: make\n",
        encoding="utf-8",
    )
    report = scan(
        [tmp_path],
        ScanOptions(only_rules=["image-not-pinned-by-digest", "image-mutable-tag"], jobs=1),
    )
    got = sorted((r.rule.id, r.span.start.line, r.span.start.col) for r in every_result(report))
    assert got == [
        ("image-mutable-tag", 10, 16),
        ("image-not-pinned-by-digest", 5, 16),
        ("image-not-pinned-by-digest", 10, 16),
    ]


_KEYS = st.sampled_from(
    [
        "on",
        "jobs",
        "steps",
        "uses",
        "run",
        "with",
        "env",
        "permissions",
        "runs-on",
        "secrets",
        "container",
        "services",
        "image",
        "script",
        "include",
        "id-token",
        "push",
        "tags",
        "ref",
        "project",
        "remote",
        "component",
        "id_tokens",
        "pull_request_target",
        "a",
        "b",
    ]
)
_SCALARS = st.one_of(
    st.sampled_from(
        [
            "write-all",
            "write",
            "inherit",
            "true",
            "./x",
            "docker://a:1",
            "a/b@v1",
            "${{ github.head_ref }}",
            "docker push r/a:1",
            "cosign sign r/a:1",
            "",
            "-",
        ]
    ),
    st.integers(),
    st.booleans(),
    st.none(),
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(
    tree=_TREES, name=st.sampled_from([".github/workflows/w.yml", "action.yml", ".gitlab-ci.yml"])
)
def test_rules_never_crash_on_odd_shapes(
    tmp_path_factory: pytest.TempPathFactory, tree: object, name: str
) -> None:
    import yaml

    from kubeward.registry import load_rules

    root = tmp_path_factory.mktemp("odd")
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(yaml.safe_dump(tree), encoding="utf-8")
    ours = sorted(
        r.id for r in load_rules().values() if r.func.__module__.startswith("kubeward.rules.cicd")
    )
    report = scan([root], ScanOptions(only_rules=ours, jobs=1))
    assert [e for e in report.errors if "internal error" in e.reason] == []


def test_gitlab_extends_brings_the_template_script_and_settings(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / ".gitlab-ci.yml").write_text(
        "include:\n"
        "  - local: ci/templates.yml\n"
        "build-app:\n"
        "  extends: .kaniko\n"
        "  variables:\n"
        "    IMAGE: $CI_REGISTRY_IMAGE/app\n"
        "build-tool:\n"
        "  extends: [.kaniko, .signed]\n",
        encoding="utf-8",
    )
    (tmp_path / "ci" / "templates.yml").write_text(
        ".kaniko:\n"
        "  tags: [saas-linux-small-amd64]\n"
        "  script:\n"
        '    - /kaniko/executor --context . --destination "$IMAGE:$CI_COMMIT_SHA"\n'
        ".signed:\n"
        "  id_tokens:\n"
        "    SIGSTORE_ID_TOKEN: {aud: sigstore}\n"
        "  after_script:\n"
        '    - cosign sign --yes "$IMAGE@$DIGEST"\n',
        encoding="utf-8",
    )
    rules = ["image-push-unsigned", "cosign-keyless-without-id-token"]
    report = scan([tmp_path], ScanOptions(only_rules=rules, jobs=1))
    got = sorted(
        (
            r.rule.id,
            r.span.path.rsplit("/", 1)[-1],
            r.span.start.line,
            r.message.split(" pushed by ")[-1][:20],
        )
        for r in report.results
    )
    # both jobs push through the template; the pipeline signs (in build-tool, which has the
    # token), so nothing is unsigned and the keyless signature has its id_tokens
    assert got == []
    report = scan([tmp_path], ScanOptions(only_rules=["slsa-build-level-below-target"], jobs=1))
    [section] = [s for s in report.sections if s.id == "slsa-build-level"]
    assert sorted((r["job"], r["file"].rsplit("/", 1)[-1]) for r in section.rows) == [
        ("build-app", "templates.yml"),
        ("build-tool", "templates.yml"),
    ]
