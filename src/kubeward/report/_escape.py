"""What every renderer does to text from the scanned repository before a reader sees it.

File names, YAML values, messages and source excerpts come from an attacker. Each format gets
the escaping its readers need, built on one rule for what is shown as an escape:

- `visible()` (text, Markdown, JUnit): C0 and C1 controls, DEL, the bidirectional overrides,
  isolates and marks, the line and paragraph separators, the noncharacters U+FFFE/U+FFFF and
  lone surrogates become backslash escapes (`\\x1b`, `\\u202e`), so a terminal never receives
  an escape sequence and a reviewer sees the characters the file really holds.
- A non-UTF-8 byte of a file name arrives as a lone surrogate (Python's `surrogateescape`,
  U+DC80-U+DCFF). It is shown as the byte, `\\xff`, in every format, JSON included; SARIF's
  `artifactLocation.uri` percent-encodes the byte itself (`%FF`), which names the real file.
  Any other lone surrogate (libyaml refuses them, but a value may come from elsewhere) is shown
  as `\\ud800`.
- JSON and SARIF keep controls as data (JSON escapes them) and replace only lone surrogates,
  which no UTF-8 encoder or strict JSON parser accepts.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

# The characters `visible()` escapes (see the module docstring).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
    "\ud800-\udfff\ufffe\uffff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_A_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Inline Markdown syntax: a backslash before ASCII punctuation renders as the character itself
# (CommonMark 2.4). Escaped: `\\` itself, code (`` ` ``), emphasis and strikethrough (`*_~`),
# links, images and footnotes (`[]!`), raw HTML, autolinks and entities (`<&`), table cells
# (`|`), GitHub math (`$`), and GFM's extended autolinks: the `:` of `scheme://` and the `.` of
# `www.` (cmark-gfm no longer sees them). Block syntax (`#`, `>`, `-`, `1.`) counts only at the
# start of a line, where these helpers never put text, and line breaks are shown as escapes.
# Left as GitHub renders them: e-mail autolinks (cmark-gfm finds them after escapes; the link
# text is the address itself), @mentions and #references (GitHub's own post-processing).
_MD_SYNTAX = re.compile(r"[\\`*_~\[\]!<&|$]|:(?=//)|(?<=[wW]{3})\.")


def _show(ch: str) -> str:
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:  # a surrogateescape'd byte
        return f"\\x{o - 0xDC00:02x}"
    if o < 0x100:
        return _NAMED.get(ch) or f"\\x{o:02x}"
    return f"\\u{o:04x}"


def visible(text: str) -> str:
    """`text` with every character a reader could be fooled by shown as an escape."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: _show(m.group()), text)


def json_text(text: str) -> str:
    """`text` fit for a JSON string any parser accepts: lone surrogates shown as escapes."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: _show(m.group()), text)


def json_data(value: Any) -> Any:
    """`json_text` applied to every string (keys too) of plain JSON-like data."""
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, dict):
        return {json_data(k): json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_data(v) for v in value]
    return value


def md_text(text: str) -> str:
    """Inline Markdown that renders as exactly `visible(text)`, on one line, with no syntax.

    For text within a line (a table cell, a list item's text, a heading's), never at a line's
    start."""
    return _MD_SYNTAX.sub(r"\\\g<0>", visible(text))


def md_code(text: str, *, in_table: bool = False) -> str:
    """A Markdown code span showing `visible(text)`.

    The fence is one backtick longer than the longest run inside, so no backtick in a path can
    close it. In a GFM table a pipe splits cells even inside a code span unless escaped (the
    table parser removes the backslash); elsewhere a backslash in a code span is literal.
    """
    shown = visible(text)
    if in_table:
        shown = shown.replace("|", "\\|")
    runs = re.findall("`+", shown)
    fence = "`" * (max(map(len, runs), default=0) + 1)
    if not shown or shown[0] in "` " or shown[-1] in "` ":
        shown = f" {shown} "  # CommonMark strips one space each side
    return f"{fence}{shown}{fence}"


def uri_path(path: str) -> str:
    """A relative path as an RFC 3986 URI reference: every octet but the unreserved characters
    and `/` percent-encoded, from the path's bytes (so a non-UTF-8 name keeps its byte)."""
    # Lone surrogates outside the surrogateescape range name no byte: encode their escape.
    named = _NOT_A_BYTE.sub(lambda m: _show(m.group()), path)
    raw = named.encode("utf-8", "surrogateescape")
    # Discovery shows a name's non-UTF-8 bytes as `\xNN` (discover.display_path, which refuses
    # a second file shown the same): the URI names the file's real byte again.
    raw = _SHOWN_BYTE.sub(lambda m: bytes([int(m[1], 16)]), raw)
    return quote(raw, safe="/")


_SHOWN_BYTE = re.compile(rb"\\x([89a-f][0-9a-f])")
