"""Where CI findings point: at the word to change, not the whole value."""

from __future__ import annotations

from pathlib import Path

from tests.expectations import run_rule


def _spans(root: Path, rule_id: str) -> list[tuple[int, int, str]]:
    """(line, column, covered text) of each finding of `rule_id`, in order."""
    report = run_rule(root, rule_id)
    out = []
    for r in report.results:
        if r.rule.id != rule_id:
            continue
        text = (root / r.span.path[len(root.as_posix()) + 1 :]).read_text(encoding="utf-8")
        covered = text[r.span.start.offset : r.span.end.offset]
        out.append((r.span.start.line, r.span.start.col, covered))
    return sorted(out)


def _workflow(tmp_path: Path, body: str) -> Path:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(body, encoding="utf-8")
    return tmp_path


def test_unpinned_action_points_at_the_ref(tmp_path: Path) -> None:
    root = _workflow(
        tmp_path,
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - uses: "actions/setup-go@main"\n'
        "      - uses: actions/checkout\n"
        "      - uses: docker://alpine:3.20\n"
        "  reuse:\n"
        "    uses: acme/wf/.github/workflows/b.yml@v1 # tag\n",
    )
    assert _spans(root, "action-not-pinned-to-sha") == [
        (6, 32, "v4"),
        (7, 33, "main"),
        (8, 15, "actions/checkout"),  # no ref: the whole value
        (9, 15, "docker://alpine:3.20"),  # an image: the whole reference
        (11, 43, "v1"),
    ]


def test_script_tls_finding_points_at_its_own_word(tmp_path: Path) -> None:
    # `-k` and the variable occur earlier in the script as other text: the finding is on
    # the word of the command that turns verification off.
    root = _workflow(
        tmp_path,
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: |\n"
        "          echo -k NODE_TLS_REJECT_UNAUTHORIZED\n"
        "          tar -xf a.tgz; curl -fsS -k https://example.com/x\n"
        "          export NODE_TLS_REJECT_UNAUTHORIZED=0\n"
        "      - run: git -c http.sslVerify=false clone https://example.com/r.git\n",
    )
    assert _spans(root, "ci-script-tls-verification-disabled") == [
        (8, 36, "-k"),
        (9, 18, "NODE_TLS_REJECT_UNAUTHORIZED=0"),
        (10, 18, "-c"),
    ]


def test_gitlab_script_tls_finding_in_a_quoted_line(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        "test:\n  script:\n    - 'wget -q --no-check-certificate https://example.com/x'\n",
        encoding="utf-8",
    )
    assert _spans(tmp_path, "ci-script-tls-verification-disabled") == [
        (3, 16, "--no-check-certificate"),
    ]
