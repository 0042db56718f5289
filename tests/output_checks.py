"""Checks that each rendered format is well-formed and carries hostile text only as text.

Shared by tests/test_output_safety.py and tests/test_fuzz_hostile.py. Every check reads the
output with a real parser (json, ElementTree and minidom, the OASIS SARIF schema with URI
format checking, markdown-it-py and GitHub's cmark-gfm) and compares what a reader would see
with the findings of the JSON output of the same report.
"""

from __future__ import annotations

import json
import re
import xml.dom.minidom
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_to_bytes

import cmarkgfm
import jsonschema
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kubeward.registry import load_rules
from kubeward.report._escape import visible
from tests.conftest import sarif_schema

# What no output meant for a terminal may hold (besides its line feeds): C0/C1 controls, DEL,
# bidi overrides, isolates and marks, line separators, lone surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)
_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
_SGR = re.compile("\x1b\\[[0-9;]*m")  # rich's own colours
_OUR_HTML_BLOCKS = {"<details><summary>Remediation</summary>\n", "</details>\n"}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_json(out: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out)
    for s in _strings(doc):
        s.encode("utf-8")  # no lone surrogate survives: every consumer can encode it
    return doc


def _location(f: dict[str, Any]) -> str:
    start = f["location"]["start"]
    return f"{f['location']['path']}:{start['line']}:{start['column']}"


def check_sarif(out: str, doc: dict[str, Any]) -> None:
    sarif = check_json(out)
    checker = jsonschema.FormatChecker()
    assert "uri-reference" in checker.checkers, "rfc3986-validator is needed to check URIs"
    jsonschema.validate(sarif, sarif_schema(), format_checker=checker)
    run = sarif["runs"][0]
    # Findings then suppressed, as the JSON lists them; each URI names the same file's bytes.
    listed = [*doc["findings"], *doc["suppressed"]]
    assert len(run["results"]) == len(listed)
    # With `%SRCROOT%` given (the command line gives it), URIs are relative to it: the base
    # and the URI together name the file the JSON names (absolute, or relative to the cwd).
    base = run["originalUriBaseIds"]["%SRCROOT%"].get("uri")
    assert base is None or (base.startswith("file:///") and base.endswith("/")), base
    for res, f in zip(run["results"], listed, strict=True):
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        shown = _path_bytes(f["location"]["path"])
        if base is None:
            assert unquote_to_bytes(uri) == shown, (uri, f)
        elif shown.startswith(b"/"):
            assert unquote_to_bytes(base[len("file://") :] + uri) == shown, (base, uri, f)
        else:
            assert shown.endswith(unquote_to_bytes(uri)), (uri, f)
        assert res["message"]["text"] == f["message"]


def _path_bytes(shown: str) -> bytes:
    """The bytes a JSON path names: `\\xNN` is the non-UTF-8 byte NN (see report/_escape.py)."""
    return re.sub(rb"\\x([89a-f][0-9a-f])", lambda m: bytes([int(m[1], 16)]), shown.encode())


def check_junit(out: str, doc: dict[str, Any]) -> None:
    root = ET.fromstring(out.encode("utf-8"))
    xml.dom.minidom.parseString(out.encode("utf-8"))
    failures = "\n".join(f.text or "" for f in root.iter("failure"))
    for f in doc["findings"]:
        assert f"{visible(_location(f))}: [{f['severity']}] {visible(f['message'])}" in failures
    errors = [e.get("name") for e in root.iter("testcase") if e.find("error") is not None]
    assert errors == [visible(e["path"]) for e in doc["errors"]]


def check_text(out: str, doc: dict[str, Any], *, color: bool) -> None:
    plain = _SGR.sub("", out) if color else out
    assert not UNSAFE.search(plain), UNSAFE.findall(plain)[:10]
    for f in doc["findings"]:
        assert visible(f["message"]) in plain


def _inline_text(tok: Token) -> str:
    """What a reader sees of an inline token: its text and code, nothing else."""
    parts = []
    for c in tok.children or []:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def check_markdown(out: str, doc: dict[str, Any]) -> None:
    """CommonMark (markdown-it-py) with GFM tables: the structure is the template's, whatever
    the values; each finding is one table row whose cells read exactly as its location and
    message; no raw HTML, link or image comes from the input. Then GitHub's own renderer."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    tokens = md.parse(out)
    fired = {f["rule"] for f in doc["findings"]}
    headings = [t for t in tokens if t.type == "heading_open"]
    expected = (
        1 + len(fired) + len(doc["sections"]) + bool(doc["errors"])
        + bool(doc["unused_suppressions"])
    )  # fmt: skip
    assert len(headings) == expected
    html = [t.content for t in tokens if t.type == "html_block"]
    assert set(html) <= _OUR_HTML_BLOCKS and len(html) == (2 if fired else 0)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not [c for c in inline if c.type in ("html_inline", "image")]
    ours = _our_links(doc)
    assert [c.attrs["href"] for c in inline if c.type == "link_open"] == [
        c.attrs["href"] for c in inline if c.type == "link_open" and c.attrs["href"] in ours
    ]
    rows = _table_rows(tokens)
    assert len(rows) == len(doc["findings"])
    # most severe first; among equals, the JSON's (the report's) order
    by_severity = sorted(doc["findings"], key=lambda f: -_RANK[f["severity"]])
    for cells, f in zip(rows, by_severity, strict=True):
        assert cells[0] == f["severity"] and cells[1] == f["rule"]
        assert cells[2] == visible(_location(f)).strip()
        assert cells[3] == visible(f["message"]).strip()
    bullets = _error_items(tokens)
    assert len(bullets) == len(doc["errors"])
    for item, e in zip(bullets, doc["errors"], strict=True):
        line = f":{e['line']}" if e["line"] else ""
        assert item == f"{visible(e['path'])}{line}: {visible(e['reason'])}".strip()
    _check_github(out, doc)


def _our_links(doc: dict[str, Any]) -> set[str]:
    """The links the template writes: each fired rule's page, and those its remediation text
    (written by us) holds."""
    rules = load_rules()
    fired = {f["rule"] for f in doc["findings"]}
    found = {f["help_uri"] for f in doc["findings"]}
    for rid in fired:
        found |= set(re.findall(r"https?://[^\s)>\]]+", rules[rid].section("Remediation")))
    return found


def _table_rows(tokens: list[Token]) -> list[list[str]]:
    """The body rows of the findings table (the one whose header starts with `severity`)."""
    rows: list[list[str]] = []
    in_findings = in_body = False
    cells: list[str] = []
    for t in tokens:
        if t.type == "table_open":
            in_findings = in_body = False
        elif t.type == "inline" and not in_body and t.content == "severity" and not rows:
            in_findings = True
        elif t.type == "tbody_open":
            in_body = in_findings
        elif t.type == "tbody_close":
            in_body = in_findings = False
        elif in_body and t.type == "tr_open":
            cells = []
        elif in_body and t.type == "inline":
            cells.append(_inline_text(t).strip())
        elif in_body and t.type == "tr_close":
            rows.append(cells)
    return rows


def _error_items(tokens: list[Token]) -> list[str]:
    """The items of the list under the `Files not scanned` heading."""
    items: list[str] = []
    state = ""
    for t in tokens:
        if t.type == "inline" and state == "heading":
            state = "list" if _inline_text(t).startswith("Files not scanned") else ""
        elif t.type == "heading_open":
            state = "heading"
        elif state == "list" and t.type == "inline":
            items.append(_inline_text(t).strip())
    return items


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.comments: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _check_github(out: str, doc: dict[str, Any]) -> None:
    """GitHub's renderer (cmark-gfm with its extensions, raw HTML allowed as GitHub allows it
    before sanitising): no tag, comment or link the template did not write."""
    html = cmarkgfm.github_flavored_markdown_to_html(out, options=Options.CMARK_OPT_UNSAFE)
    p = _Html()
    p.feed(html)
    allowed = {
        "h2", "h3", "h4", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "a",
        "code", "pre", "ul", "li", "details", "summary", "em", "ol", "blockquote",
    }  # fmt: skip
    assert set(p.tags) <= allowed, set(p.tags) - allowed
    assert p.tags.count("details") == (1 if doc["findings"] else 0)
    assert not p.comments
    ours = _our_links(doc)
    assert [h for h in p.hrefs if h not in ours] == []
    # Each findings row reads as the finding (the layer table's cells come first).
    cells = p.cells[2 * 6 :] if doc["findings"] else []
    for i, f in enumerate(sorted(doc["findings"], key=lambda f: -_RANK[f["severity"]])):
        assert cells[4 * i + 2] == visible(_location(f)).strip()
        assert cells[4 * i + 3] == visible(f["message"]).strip()


# --- HTML ------------------------------------------------------------------------------------

_HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "input", "header", "h1", "h2", "h3", "p",
    "span", "b", "nav", "label", "main", "section", "div", "ul", "ol", "li", "table", "thead",
    "tbody", "tr", "th", "td", "code", "pre", "details", "summary", "a",
}  # fmt: skip
_HTML_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "type", "class", "id", "checked", "for",
    "href", "rel", "data-rule", "data-severity",
}  # fmt: skip
_OUR_NAME = re.compile(r"[a-z0-9 -]*")  # class and id values: kubeward's own vocabulary


class _Page(HTMLParser):
    """Every element and attribute of an HTML page, the text of each id'd element, each
    finding item and each rule group's count."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.by_id: dict[str, str] = {}
        self.items: list[str] = []
        self.rule_counts: dict[tuple[str, str], int] = {}
        self.styles: list[str] = []
        self._open: list[tuple[str, str | None, str]] = []  # (tag, id, class)
        self._text: list[list[str]] = []
        self._rule: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        a = dict(attrs)
        if tag == "details":
            self._rule = (a.get("data-rule") or "", a.get("data-severity") or "")
        if tag in ("meta", "input"):  # void elements
            return
        self._open.append((tag, a.get("id"), a.get("class") or ""))
        self._text.append([])

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, eid, cls = self._open.pop()
            text = "".join(self._text.pop())
            if self._text:
                self._text[-1].append(text)
            if eid is not None:
                self.by_id[eid] = text
            if open_tag == "li" and self._open and self._open[-1][2] == "findings":
                self.items.append(text)
            if open_tag == "span" and cls == "count" and self._rule is not None:
                self.rule_counts[self._rule] = int(text)
            if open_tag == "style":
                self.styles.append(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._text:
            self._text[-1].append(data)


def check_html(out: str, doc: dict[str, Any]) -> _Page:
    """No element or attribute the template did not write; no script, a CSP that allows only
    the page's own style; the counts read as the JSON's; each finding an item reading as its
    location and message. `out` is the rendered file or a browser's dump of its DOM."""
    import base64
    import hashlib

    p = _Page()
    p.feed(out)
    p.close()
    assert set(p.tags) <= _HTML_TAGS, set(p.tags) - _HTML_TAGS
    names = {n for n, _ in p.attrs}
    assert names <= _HTML_ATTRS, names - _HTML_ATTRS
    for n, v in p.attrs:
        if n in ("class", "id", "for", "data-severity"):
            assert v is not None and _OUR_NAME.fullmatch(v), (n, v)
    assert [v for n, v in p.attrs if n == "href"] == [
        v for n, v in p.attrs if n == "href" and v in {f["help_uri"] for f in doc["findings"]}
    ]
    assert p.tags.count("style") == 1 and len(p.styles) == 1
    csp = [v for n, v in p.attrs if n == "content" and v and "default-src" in v]
    assert len(csp) == 1
    digest = base64.b64encode(hashlib.sha256(p.styles[0].encode()).digest()).decode()
    assert csp[0] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "script-src 'none'; base-uri 'none'; form-action 'none'"
    )
    summary = doc["summary"]
    assert int(p.by_id["count-findings"]) == summary["findings"] == len(doc["findings"])
    assert int(p.by_id["count-suppressed"]) == summary["suppressed"]
    assert int(p.by_id["count-errors"]) == summary["errors"]
    assert int(p.by_id["count-files"]) == summary["files_scanned"]
    for sev in ("critical", "high", "medium", "low", "info"):
        assert int(p.by_id[f"count-sev-{sev}"]) == summary["by_severity"].get(sev, 0), sev
    for layer in range(1, 7):
        assert int(p.by_id[f"count-layer-{layer}"]) == summary["by_layer"].get(str(layer), 0)
    groups: dict[tuple[str, str], int] = {}
    for f in doc["findings"]:
        key = (f["rule"], f["severity"])
        groups[key] = groups.get(key, 0) + 1
    assert p.rule_counts == groups
    assert len(p.items) == len(doc["findings"])
    for f in doc["findings"]:
        head = f"{visible(_location(f))} {visible(f['message'])}"
        assert any(item.startswith(head) for item in p.items), head
    return p


_ANNOTATION = re.compile(r"\A::(error|warning|notice) ([^:]*)::(.*)\Z")
_PROP = re.compile(r"\A([A-Za-z]+)=(.*)\Z")


def _unescape(text: str) -> str:
    """The runner's decoding of workflow-command values (actions/runner ActionCommand)."""
    for escaped, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, ch)
    return text


def parse_annotations(out: str) -> list[tuple[str, dict[str, str], str]]:
    """Each line a workflow command the runner reads as one: (command, properties, message)."""
    found = []
    assert out == "" or out.endswith("\n")
    for line in out.splitlines():
        assert "\r" not in line
        m = _ANNOTATION.match(line)
        assert m, line
        props = {}
        for part in m.group(2).split(","):
            p = _PROP.match(part)
            assert p, part
            props[p.group(1)] = _unescape(p.group(2))
        found.append((m.group(1), props, _unescape(m.group(3))))
    return found


def check_github(out: str, doc: dict[str, Any]) -> None:
    notes = parse_annotations(out)
    assert len(notes) == len(doc["findings"]) + len(doc["errors"])
    for (_, props, message), f in zip(notes, doc["findings"], strict=False):
        assert message == visible(f["message"])
        assert props["title"].startswith(f"kubeward {f['rule']} ")
        assert props["line"] == str(f["location"]["start"]["line"])
        for value in (message, *props.values()):
            assert not UNSAFE.search(value.replace("\n", "")), value


# GitLab's security report schema is not shipped by any package reachable here (PyPI, npm,
# Debian): this is the part of `sast-report-format.json` (15.x) that GitLab documents as
# required, written from its documentation (development/integrations/secure.md, "Report").
_VENDORED = {
    "type": "object",
    "required": ["id", "name", "version", "vendor"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "vendor": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1}},
        },
    },
}
GITLAB_SAST_REQUIRED: dict[str, Any] = {
    "type": "object",
    "required": ["version", "scan", "vulnerabilities"],
    "properties": {
        "version": {"type": "string", "pattern": r"^15\.\d+\.\d+$"},
        "scan": {
            "type": "object",
            "required": ["analyzer", "scanner", "type", "start_time", "end_time", "status"],
            "properties": {
                "analyzer": _VENDORED,
                "scanner": _VENDORED,
                "type": {"enum": ["sast"]},
                "start_time": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
                },
                "end_time": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"},
                "status": {"enum": ["success", "failure"]},
                "messages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["level", "value"],
                        "properties": {"level": {"enum": ["info", "warn", "fatal"]}},
                    },
                },
            },
        },
        "vulnerabilities": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "identifiers", "location"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "maxLength": 255},
                    "description": {"type": "string", "maxLength": 1048576},
                    "severity": {"enum": ["Info", "Unknown", "Low", "Medium", "High", "Critical"]},
                    "identifiers": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 20,
                        "items": {
                            "type": "object",
                            "required": ["type", "name", "value"],
                            "properties": {
                                "type": {"type": "string", "minLength": 1},
                                "name": {"type": "string", "minLength": 1},
                                "value": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                    "location": {
                        "type": "object",
                        "required": ["file", "start_line", "end_line"],
                        "properties": {
                            "file": {"type": "string", "minLength": 1},
                            "start_line": {"type": "integer", "minimum": 1},
                            "end_line": {"type": "integer", "minimum": 1},
                        },
                    },
                },
            },
        },
    },
}


def check_gitlab_sast(out: str, doc: dict[str, Any]) -> None:
    report = check_json(out)
    jsonschema.validate(report, GITLAB_SAST_REQUIRED)
    vulns = report["vulnerabilities"]
    assert len(vulns) == len(doc["findings"])
    assert len({v["id"] for v in vulns}) == len(vulns)
    for v, f in zip(vulns, doc["findings"], strict=True):
        assert v["description"] == f["message"]
        assert v["identifiers"][0]["value"] == f["rule"]
