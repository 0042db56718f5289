"""Output that cannot be turned against its reader (issue 11): hostile file names, YAML values
and source lines reach every format as text, each format parses with a real parser, and a
value quoted from a file cannot blow a message up."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.registry import Finding, Related, load_rules
from kubeward.report import Format, render
from kubeward.report._escape import json_text, md_code, md_text, uri_path, visible
from kubeward.report.text import EXCERPT_WIDTH
from kubeward.results import Report, Result
from kubeward.source import MAX_MESSAGE, Pos, ScanError, Span, shorten
from tests import output_checks
from tests.conftest import every_result

# One value that tries everything at once: bidi overrides and isolates, table pipes, raw HTML,
# a link, an image, emphasis, code, a heading after CR LF, a C1 CSI, rich markup, an emoji
# code, GitHub math, GFM autolinks, an unclosed <details> and comment, a trailing backslash.
HOSTILE = (
    r"a\u202e\u2066|x| <img src=x onerror=alert(1)> [link](http://evil.example) "
    r"![i](http://e/i.png) **b** _i_ `c` ~~s~~ # h\r\n## Heading\x9b31m [bold red]markup[/] "
    r":smile: $x$ www.evil.com https://evil.com <details><!-- &amp; \\"
)
# ESC sequences (clear screen, an OSC 8 hyperlink), BEL and an unclosed <details>.
NAME = r"p\e[2J\e]8;;http://evil\a<details><!--"
POD = f"""apiVersion: v1
kind: Pod
metadata: {{name: "{NAME}"}}
spec:
  containers:
    - name: "{HOSTILE}"
      image: "nginx:latest"
    - name: b
      image: "evil.example/x:1<script>"
"""
# A file name with a backtick run, HTML, pipes, ESC, a bidi override, LF, CR and a heading mark.
EVIL_NAME = "ev``il <b>|x|\x1b[31m\u202e\n\r# a.yaml"


def _hostile_repo(root: Path) -> Path:
    (root / "pod.yaml").write_text(POD)
    (root / "d").mkdir()
    (root / "d" / EVIL_NAME).write_text(POD)
    (root / "d" / f"broken {EVIL_NAME}").write_text("a: [1, 2\nb: }\n")
    return root


def _render_all(report: Report) -> dict[Format, str]:
    return {fmt: render(report, fmt) for fmt in Format}


def check_all(outputs: dict[Format, str], *, color_text: str | None = None) -> dict[str, object]:
    doc = output_checks.check_json(outputs[Format.JSON])
    output_checks.check_sarif(outputs[Format.SARIF], doc)
    output_checks.check_junit(outputs[Format.JUNIT], doc)
    output_checks.check_markdown(outputs[Format.MARKDOWN], doc)
    output_checks.check_text(outputs[Format.TEXT], doc, color=False)
    output_checks.check_html(outputs[Format.HTML], doc)
    output_checks.check_github(outputs[Format.GITHUB], doc)
    output_checks.check_gitlab_sast(outputs[Format.GITLAB_SAST], doc)
    if color_text is not None:
        output_checks.check_text(color_text, doc, color=True)
    return doc


def test_hostile_values_reach_every_format_as_text(tmp_path: Path) -> None:
    report = scan([_hostile_repo(tmp_path)], ScanOptions(jobs=1))
    messages = [r.message for r in report.results]
    # The hostile characters really reach the renderers (else this test proves nothing).
    assert any("\u202e" in m and "<img" in m and "\r\n" in m for m in messages)
    assert any("\x1b]8;;" in m and "\x07" in m for m in messages)
    assert any(EVIL_NAME in r.span.path for r in report.results)
    assert any(EVIL_NAME in e.path for e in report.errors)
    outputs = _render_all(report)
    doc = check_all(outputs, color_text=render(report, Format.TEXT, color=True))
    assert len(doc["findings"]) == len(report.results) >= 3  # type: ignore[arg-type]
    text = outputs[Format.TEXT]
    assert "[bold red]markup[/]" in text and ":smile:" in text  # not interpreted by rich
    assert "\\x1b]8;;http://evil\\x07" in text and "a\\u202e\\u2066" in text


def test_markdown_escapes_each_kind_of_syntax() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("<!--") == "\\<\\!--"
    assert md_text("[x](y) ![i](j)") == "\\[x\\](y) \\!\\[i\\](j)"
    assert md_text("line\r\nnext") == "line\\\\r\\\\nnext"
    assert md_text("see https://e.example and www.e.example") == (
        "see https\\://e.example and www\\.e.example"
    )
    assert md_text("*_`~$&\\") == "\\*\\_\\`\\~\\$\\&\\\\"
    # Ordinary text stays readable in the raw comment.
    assert md_text("nginx:latest in container web of Deployment/web (1.2)") == (
        "nginx:latest in container web of Deployment/web (1.2)"
    )


def test_code_span_fence_outruns_backticks_in_paths() -> None:
    assert md_code("a/b.yaml") == "`a/b.yaml`"
    assert md_code("a``b") == "```a``b```"
    assert md_code("`a") == "`` `a ``"
    assert md_code("a|b", in_table=True) == "`a\\|b`"
    assert md_code("a|b") == "`a|b`"
    assert md_code("a\nb") == "`a\\nb`"


def test_visible_shows_controls_bidi_and_surrogates() -> None:
    assert visible("ok é 日本") == "ok é 日本"
    assert visible("\x1b[31mred\x1b]8;;u\x07") == "\\x1b[31mred\\x1b]8;;u\\x07"
    assert visible("\x9b\x85\x7f\x00") == "\\x9b\\x85\\x7f\\x00"
    assert visible("\u202a\u202e\u2066\u2069\u200e\u200f\u061c") == (
        "\\u202a\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c"
    )
    assert visible("a\tb\nc\rd\u2028") == "a\\tb\\nc\\rd\\u2028"
    # A surrogateescape'd byte of a non-UTF-8 name is shown as the byte; others as themselves.
    assert visible("caf\udcff\ud800\ufffe") == "caf\\xff\\ud800\\ufffe"
    assert json_text("caf\udcff \x1b") == "caf\\xff \x1b"  # JSON keeps controls as data


def test_sarif_uri_is_percent_encoded_per_rfc3986() -> None:
    assert uri_path("deploy/app.yaml") == "deploy/app.yaml"
    assert uri_path("a b/c#d?e%f.yaml") == "a%20b/c%23d%3Fe%25f.yaml"
    assert uri_path("ü/日.yaml") == "%C3%BC/%E6%97%A5.yaml"
    assert uri_path("caf\udcff.yaml") == "caf%FF.yaml"  # the file's own byte
    assert uri_path("a:b/c.yaml") == "a%3Ab/c.yaml"  # not a scheme
    assert uri_path("/abs/x~y_z-1.yaml") == "/abs/x~y_z-1.yaml"
    assert uri_path("bad\ud800") == "bad%5Cud800"


def _nasty() -> str:
    """Every C0 control, DEL, NEL, the noncharacters, lone surrogates and XML's specials."""
    return "".join(chr(c) for c in range(32)) + "\x7f\x85\ufffe\uffff\ud800\udcff<&>]]>"


def _hand_built_report() -> Report:
    rules = load_rules()
    rule = rules["image-mutable-tag"]
    nasty = _nasty()
    path = "caf\udcff/" + EVIL_NAME
    span = Span(path, Pos(2, 3, 10), Pos(2, 8, 15))
    finding = Finding(span, f"value {nasty} here", related=(Related(span, f"label {nasty}"),),
                      properties={"k\udcff": [nasty]})  # fmt: skip
    return Report(
        version="0.0.0",
        roots=["caf\udcff"],
        results=[Result(rule, finding, rule.severity, "0" * 16)],
        errors=[ScanError(path, f"reason {nasty}", 1)],
        rules=[rule],
        files_scanned=2,
        sources={path: "a: 1\n  \u202ea: b" + nasty + "\n"},
    )


def test_every_format_parses_with_controls_and_surrogates() -> None:
    report = _hand_built_report()
    outputs = _render_all(report)
    for out in outputs.values():
        out.encode("utf-8")  # strict: no lone surrogate in any format
    doc = check_all(outputs, color_text=render(report, Format.TEXT, color=True))
    # One way to show a non-UTF-8 byte everywhere: \xff as text, %FF in the SARIF URI.
    assert doc["roots"] == ["caf\\xff"]
    assert doc["findings"][0]["location"]["path"].startswith("caf\\xff/")  # type: ignore[index]
    assert doc["findings"][0]["properties"] == {"k\\xff": [json_text(_nasty())]}  # type: ignore[index]
    assert "caf\\xff/ev``il" in outputs[Format.TEXT]
    assert "caf\\xff/ev``il" in outputs[Format.JUNIT]
    assert "```caf\\xff/ev``il" in outputs[Format.MARKDOWN]
    sarif = json.loads(outputs[Format.SARIF])
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"].startswith("caf%FF/ev%60%60il%20%3Cb%3E%7Cx%7C%1B%5B31m%E2%80%AE%0A%0D%23")
    junit = ET.fromstring(outputs[Format.JUNIT])
    assert [e.get("message") for e in junit.iter("error")] == [visible(f"reason {_nasty()}")]


def test_text_caret_sits_under_the_value_after_escapes(tmp_path: Path) -> None:
    # A bidi override written raw before the image (YAML allows it): the excerpt shows it as
    # \u202e, six characters for one, and the caret moves with it.
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        '    - {name: "a\u202eb", image: nginx:latest}\n'
    )
    report = scan([tmp_path], ScanOptions(jobs=1, only_rules=["image-mutable-tag"]))
    lines = render(report, Format.TEXT).splitlines()
    excerpt = next(i for i, line in enumerate(lines) if "image: nginx:latest" in line)
    assert "a\\u202eb" in lines[excerpt]
    caret = lines[excerpt + 1]
    start = caret.index("^")
    assert lines[excerpt][start:].startswith("nginx:latest")
    assert caret[start:] == "^" * len("nginx:latest")


def test_quoted_values_are_shortened(tmp_path: Path) -> None:
    # One 200 000-character image, aliased by 300 containers: each message quotes it once.
    big = "nginx" + "a" * 200_000
    containers = "".join(f"  - {{name: c{i}, image: *big}}\n" for i in range(300))
    (tmp_path / "pod.yaml").write_text(
        f'x: &big "{big}"\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\n'
        f"spec:\n  containers:\n{containers}"
    )
    report = scan([tmp_path], ScanOptions(jobs=1))
    assert {r.rule.id for r in report.results} >= {"image-unresolved"}
    for r in report.results:
        assert len(r.message) <= MAX_MESSAGE + 40, (r.rule.id, len(r.message))
    # One result for the 300 uses of one value (kubeward.group), standing for all of them.
    [grouped] = [r for r in report.results if r.rule.id == "image-unresolved"]
    assert grouped.finding.properties["other_uses"] == 299
    unresolved = [r for r in every_result(report) if r.rule.id == "image-unresolved"]
    assert len(unresolved) == 300
    msg = unresolved[1].message  # an absorbed one, as the rule wrote it
    assert msg.startswith("'nginxaaa") and "more characters)" in msg
    assert msg.endswith("of Pod/p is not a valid image reference: name longer than 255 characters")
    assert len(render(report, Format.JSON)) < 2_000_000  # 300 copies of 200 KB were 60 MB


def test_shorten() -> None:
    assert shorten("abc", 5) == "abc"
    assert shorten("a" * 10, 4) == "aaaa…(6 more characters)"
    assert shorten("abcdefghij", 6, keep_end=2) == "abcd…(4 more characters)…ij"
    long_name = "n" * 5000
    finding = Finding(
        Span("f", Pos(1, 1), Pos(1, 2)), f"{long_name} is wrong", properties={"v": long_name}
    )
    assert len(finding.message) < MAX_MESSAGE + 40 and finding.message.endswith(" is wrong")
    assert len(finding.properties["v"]) < MAX_MESSAGE + 40


def test_non_utf8_file_name_end_to_end(tmp_path: Path) -> None:
    os.makedirs(tmp_path, exist_ok=True)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xff.yaml"), "w") as f:
        f.write(POD)
    report = scan([tmp_path], ScanOptions(jobs=1))
    outputs = _render_all(report)
    doc = check_all(outputs)
    paths = {f["location"]["path"] for f in doc["findings"]}  # type: ignore[index, attr-defined]
    assert any(re.search(r"caf\\xff\.yaml$", p) for p in paths)


@pytest.mark.parametrize(
    "message",
    [
        "x\\[bold]y\\",
        "[bold]a[/bold]",
        "\\\\[red]b",
        "ends in a backslash\\",
        "[link=http://evil.example]c[/link]",
        ":thumbs_up: [/]",
        "[@click=app.quit]d",
    ],
)
def test_rich_markup_in_values_prints_literally(message: str) -> None:
    rule = load_rules()["image-mutable-tag"]
    finding = Finding(Span("a.yaml", Pos(1, 1, 0), Pos(1, 2, 1)), message)
    report = Report(
        version="0.0.0",
        roots=["."],
        results=[Result(rule, finding, rule.severity, "0" * 16)],
        rules=[rule],
    )
    for color in (False, True):
        out = re.sub("\x1b\\[[0-9;]*m", "", render(report, Format.TEXT, color=color))
        assert f"image-mutable-tag  {message}\n" in out


def test_text_excerpt_of_a_long_line_is_a_window_around_the_span(tmp_path: Path) -> None:
    # A minified manifest: one line of 300 000 characters, the image near its end, and 50
    # containers on it: the text report shows each finding with a bounded excerpt. Fifty
    # images, not one image fifty times (which would be grouped into one result).
    pad = "x" * 300_000
    containers = ",".join(f'{{"name":"c{i}","image":"nginx{i:02d}:latest"}}' for i in range(50))
    (tmp_path / "pod.json").write_text(
        f'{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p","annotations":{{"a":"{pad}"}}}},'
        f'"spec":{{"containers":[{containers}]}}}}\n'
    )
    report = scan([tmp_path], ScanOptions(jobs=1, only_rules=["image-mutable-tag"]))
    assert len(report.results) == 50
    out = render(report, Format.TEXT)
    assert len(out) < 100_000
    lines = out.splitlines()
    excerpts = [i for i, line in enumerate(lines) if line.startswith("         1 | …")]
    assert len(excerpts) == 50
    for i in excerpts:
        start = lines[i + 1].index("^")
        image = lines[i][start : start + len('"nginx00:latest"')]
        assert re.fullmatch(r'"nginx\d\d:latest"', image)  # JSON: the span holds the quotes
        assert lines[i + 1][start:] == "^" * len('"nginx00:latest"')
        assert len(lines[i]) <= len("         1 | ") + 2 + EXCERPT_WIDTH
