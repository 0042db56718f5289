"""Hostile YAML and Dockerfiles (issue 11): each is an error entry for its file, or is judged as
the cluster would read it, and the rest of the scan is reported. The inputs are built here."""

from __future__ import annotations

import inspect
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from kubeward.parse.dockerfile import (
    MAX_CHARS,
    MAX_CONTINUED_LINES,
    MAX_LINES,
    MAX_WORD,
    DockerfileLimitError,
    parse_dockerfile,
)
from kubeward.parse.yamlnode import YamlLimitError, load_documents

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n"
    "  containers:\n    - name: a\n      image: nginx:1\n"
)
DIGEST = "sha256:" + "a" * 64


def scan_json(root: Path, *args: str, memory: int | None = None) -> tuple[int, dict[str, object]]:
    """Run the real CLI on `root` (JSON to stdout); `memory` caps its address space."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    p = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", str(root), "-f", "json", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    return p.returncode, json.loads(p.stdout)


def errors_of(report: dict[str, object], root: Path) -> dict[str, list[tuple[int | None, str]]]:
    out: dict[str, list[tuple[int | None, str]]] = {}
    prefix = root.as_posix() + "/"
    for e in report["errors"]:  # type: ignore[attr-defined]
        out.setdefault(e["path"].removeprefix(prefix), []).append((e["line"], e["reason"]))
    return out


def hits(report: dict[str, object], root: Path, rule: str) -> list[tuple[str, int]]:
    """Where `rule` fired, the other uses of one image a grouped result lists included."""
    prefix = root.as_posix() + "/"
    places = []
    for f in report["findings"]:  # type: ignore[attr-defined]
        if f["rule"] != rule:
            continue
        uses = [r["location"] for r in f["related"] if r["label"] == "another use of this image"]
        for loc in (f["location"], *uses):
            places.append((loc["path"].removeprefix(prefix), loc["start"]["line"]))
    return sorted(places)


def good_file(root: Path) -> None:
    (root / "good.yaml").write_text(POD)


# --- merge keys ----------------------------------------------------------------------------


def merge_chain(n: int) -> str:
    """`b{i}` merges `b{i-1}`: a chain of `n` merge keys, then a Pod whose container merges
    the end of the chain (its image is written in `b0`, on line 1)."""
    lines = ["b0: &b0 {image: 'nginx:latest', k0: 0}"]
    lines += [f"b{i}: &b{i} {{<<: *b{i - 1}, k{i}: {i}}}" for i in range(1, n)]
    return (
        "\n".join(lines)
        + "\napiVersion: v1\nkind: Pod\nmetadata: {name: m}\n"
        + f"spec: {{containers: [{{<<: *b{n - 1}, name: c}}]}}\n"
    )


def test_long_merge_chain_is_an_error_entry_and_the_scan_goes_on(tmp_path: Path) -> None:
    # 985 merges: the old code resolved them recursively and died (exit 3, RecursionError).
    # Expanding them all adds about 2 million nodes, over the budget: an error entry.
    good_file(tmp_path)
    (tmp_path / "chain.yaml").write_text(merge_chain(985))
    _, report = scan_json(tmp_path, memory=2 << 30)
    errs = errors_of(report, tmp_path)
    ((_, reason),) = errs["chain.yaml"]
    assert "alias expansion exceeds 1000000 nodes" in reason
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("good.yaml", 7)]


def test_merge_chain_within_the_budget_is_judged(tmp_path: Path) -> None:
    # 600 merges (about 700,000 nodes when expanded): within the budget, judged through them.
    (tmp_path / "chain.yaml").write_text(merge_chain(600))
    _, report = scan_json(tmp_path)
    assert errors_of(report, tmp_path) == {}
    # The image comes from the far end of the chain: the finding points where it is written.
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("chain.yaml", 1)]


def test_merge_lookups_do_not_recurse() -> None:
    n = 400  # well past the recursion limit set below
    (doc,) = load_documents(merge_chain(n), "chain.yaml")
    last = doc.get(f"b{n - 1}")
    assert last is not None
    # Under a recursion limit far below the chain's length: nothing here may recurse per merge.
    old = sys.getrecursionlimit()
    depth = len(inspect.stack())
    sys.setrecursionlimit(depth + 60)
    try:
        assert last.get("missing") is None
        assert last.get_str("image") == "nginx:latest"
        assert len(last.keys()) == n + 1  # image, k0 .. k{n-1}
    finally:
        sys.setrecursionlimit(old)


def test_merge_semantics_are_yaml_1_1() -> None:
    text = (
        "a: &a {x: from-a, y: from-a}\n"
        "b: &b {x: from-b, z: from-b}\n"
        "own: {<<: [*a, *b], x: own}\n"  # own keys win; then the first merged mapping
        "seq: {<<: [*b, *a]}\n"
        "tagged: {!!merge <<: *a}\n"
        "quoted: {'<<': *a}\n"  # a quoted << is an ordinary key
    )
    (doc,) = load_documents(text, "m.yaml")
    data = doc.to_python()
    assert data["own"] == {"x": "own", "y": "from-a", "z": "from-b"}
    assert data["seq"] == {"x": "from-b", "z": "from-b", "y": "from-a"}
    assert data["tagged"] == {"x": "from-a", "y": "from-a"}
    assert data["quoted"] == {"<<": {"x": "from-a", "y": "from-a"}}


# --- duplicate keys --------------------------------------------------------------------------


def test_duplicate_keys_are_judged_by_the_last_value_and_reported(tmp_path: Path) -> None:
    # The reviewer sees a pinned image first; Kubernetes (sigs.k8s.io/yaml), GitLab and PyYAML
    # use the last one. kubeward must judge the last, and say the file is ambiguous.
    (tmp_path / "hides-latest.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
        f"    - name: a\n      image: nginx@{DIGEST}\n      image: nginx:latest\n"
    )
    (tmp_path / "hides-pin.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n"
        f"    - name: b\n      image: nginx:latest\n      image: nginx@{DIGEST}\n"
    )
    _, report = scan_json(tmp_path)
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("hides-latest.yaml", 8)]
    errs = errors_of(report, tmp_path)
    for name in ("hides-latest.yaml", "hides-pin.yaml"):
        ((line, reason),) = errs[name]
        assert line == 8
        assert reason.startswith("duplicate key 'image' in a mapping (also on line 7)")
        assert "the last value is used" in reason


def test_duplicate_keys_unit() -> None:
    dups: list[tuple[int, str]] = []
    (doc,) = load_documents("a: 1\nb: 2\na: 3\na: 4\n", "d.yaml", duplicates=dups)
    assert doc.to_python() == {"b": "2", "a": "4"}
    assert [line for line, _ in dups] == [3, 4]
    assert "also on line 1" in dups[0][1] and "also on line 3" in dups[1][1]
    # Keys brought by a merge are overridden by design: not duplicates.
    dups.clear()
    load_documents("x: &x {a: 1}\ny: {<<: *x, a: 2}\n", "m.yaml", duplicates=dups)
    assert dups == []


# --- depth and alias expansion ----------------------------------------------------------------


def test_trees_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    good_file(tmp_path)
    depth = sys.getrecursionlimit() * 100
    (tmp_path / "deep.json").write_text('{"a":' * depth + "1" + "}" * depth)
    (tmp_path / "deep-seq.yaml").write_text("- " * 5000 + "x\n")
    # 300 levels anchored, then 300 more around its alias: deep only through the alias.
    (tmp_path / "deep-alias.yaml").write_text(
        "a: &a " + "[" * 300 + "]" * 300 + "\nb: " + "[" * 300 + "*a" + "]" * 300 + "\n"
    )
    _, report = scan_json(tmp_path)
    errs = errors_of(report, tmp_path)
    assert errs["deep.json"] == [(None, "unsafe or malformed YAML: nesting deeper than 500 levels")]
    assert errs["deep-seq.yaml"] == [
        (None, "unsafe or malformed YAML: nesting deeper than 500 levels")
    ]
    assert errs["deep-alias.yaml"] == [
        (None, "unsafe or malformed YAML: nesting deeper than 500 levels through aliases")
    ]
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("good.yaml", 7)]


def test_alias_budget_counts_expansions_not_nodes() -> None:
    # Many nodes and no alias: not a bomb, whatever the budget.
    plain = "".join(f"- {{a: {i}, b: [x, y, z]}}\n" for i in range(2000))
    assert len(load_documents(plain, "p.yaml", max_nodes=100)[0].seq()) == 2000
    # An alias of a 7-node mapping used 15 times adds 105 nodes: over a budget of 100.
    aliased = "x: &x {a: 1, b: 2, c: 3}\ny: [" + ", ".join(["*x"] * 15) + "]\n"
    load_documents(aliased, "a.yaml", max_nodes=105)
    with pytest.raises(YamlLimitError, match="alias expansion exceeds 100 nodes"):
        load_documents(aliased, "a.yaml", max_nodes=100)


def test_alias_budget_is_per_file_not_per_document(tmp_path: Path) -> None:
    # Each document alone expands to 9**6 (531,441) nodes; 20 of them are one bomb.
    lines = ['a0: &a0 ["l","l","l","l","l","l","l","l","l"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 6)]
    doc = "\n".join(lines) + "\n"
    good_file(tmp_path)
    (tmp_path / "split-bomb.yaml").write_text("---\n".join([doc] * 20))
    _, report = scan_json(tmp_path, memory=2 << 30)
    ((_, reason),) = errors_of(report, tmp_path)["split-bomb.yaml"]
    assert "alias expansion exceeds 1000000 nodes" in reason
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("good.yaml", 7)]


def test_large_list_without_aliases_is_not_a_bomb(tmp_path: Path) -> None:
    # A `kind: List` of Pods has many more nodes than the alias budget here, and no alias: it
    # is not a bomb. (The old check counted every node: a 10 MB List of 100,000 Pods went over
    # its two million and was refused; bench/hostile.py builds that one.)
    pods = "".join(
        f"- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}}}, "
        f"spec: {{containers: [{{name: c, image: 'r.io/app@{DIGEST}'}}]}}}}\n"
        for i in range(2000)
    )
    items = "apiVersion: v1\nkind: List\nitems:\n" + pods
    (doc,) = load_documents(items, "list.yaml", max_nodes=1000)
    assert len(doc.dig("items").seq()) == 2000  # type: ignore[union-attr]
    last = "apiVersion: v1\nkind: Pod\nmetadata: {name: z}\nspec:\n  containers: [{image: x}]\n"
    (tmp_path / "list.yaml").write_text(items + "---\n" + last)
    _, report = scan_json(tmp_path, "--rule", "image-not-pinned-by-digest")
    assert errors_of(report, tmp_path) == {}
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("list.yaml", 2009)]


# --- Dockerfile budgets ------------------------------------------------------------------------


SIZE_BOMB = "FROM alpine\n" + ("RUN " + "x " * 2000 + "\n") * 300


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        (
            "continued",
            "FROM alpine\nRUN a \\\n" + "  b \\\n" * 10_000 + "  c\n",
            f"an instruction continued over 10001 lines, over the limit of {MAX_CONTINUED_LINES}",
        ),
        (
            "continued-60k",  # the input: over the line budget before BuildKit sees it
            "FROM alpine\nRUN a \\\n" + "  b \\\n" * 60_000 + "  c\n",
            f"60003 lines, over the limit of {MAX_LINES}",
        ),
        (
            "lines",
            "FROM alpine\n" + "RUN true\n" * MAX_LINES,
            f"{MAX_LINES + 1} lines, over the limit of {MAX_LINES}",
        ),
        (
            "word",
            "FROM alpine\nRUN echo " + "ab\\\ncd" * 2000 + "\n",
            f"a word of 8000 characters, over the limit of {MAX_WORD}",
        ),
        ("size", SIZE_BOMB, f"{len(SIZE_BOMB)} characters, over the limit of {MAX_CHARS}"),
    ],
)
def test_dockerfile_budgets(tmp_path: Path, name: str, text: str, reason: str) -> None:
    with pytest.raises(DockerfileLimitError, match=reason):
        parse_dockerfile(text)
    good_file(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM alpine:3\n")
    (tmp_path / f"{name}.Dockerfile").write_text(text)
    _, report = scan_json(tmp_path)
    errs = errors_of(report, tmp_path)
    ((_, got),) = errs[f"{name}.Dockerfile"]
    assert got.startswith("Dockerfile not parsed: ") and reason in got
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [
        ("Dockerfile", 1),
        ("good.yaml", 7),
    ]


def test_dockerfile_within_budgets_is_parsed() -> None:
    text = (
        "# escape=`\nFROM alpine\nRUN a `\n"
        + "  b `\n" * (MAX_CONTINUED_LINES - 2)
        + "  c\nRUN echo "
        + "x" * MAX_WORD
        + "\n"
    )
    got = parse_dockerfile(text)
    assert [i.cmd for i in got] == ["FROM", "RUN", "RUN"]
    assert got[1].end_line - got[1].start_line + 1 == MAX_CONTINUED_LINES
