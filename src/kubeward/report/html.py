"""A self-contained HTML posture report: one file, no network, no script.

Every string from the scanned repository (paths, messages, section values, source excerpts)
goes through `_t`: `visible()` first (controls, bidi overrides and lone surrogates shown as
escapes), then HTML-escaped with quotes, so it is safe as element text and inside a quoted
attribute. Nothing from the repository is put in an `href`, a `class`, an `id` or a `<style>`:
classes and ids come from kubeward's own enums and rule ids. Rule links are the rule's own
`help_uri`, and only `https:` ones are linked.

The page carries no JavaScript at all. Its one `<style>` element is allowed by a hash in a
strict `Content-Security-Policy` (`default-src 'none'`), so a browser fetches nothing, runs
nothing, and ignores any style or script the page did not bring. The severity and layer filters
are checkboxes and CSS (`:checked ~` sibling selectors): unticking one hides the rule groups of
that severity or layer.

The image matrix is read from what the report already holds: the workload images of the
coverage section (and its enforcing policy), the images the pipelines of the SLSA section push,
and the images that registry-layer findings point at (the text at the finding's exact span).
"Pinned" is a digest in the reference; "signed" says whether a scanned pipeline that pushes the
image signs it (an `image-push-unsigned` finding names it when not); "-" is not known from this
scan.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import Counter
from collections.abc import Iterable

from kubeward.model.image import parse_image
from kubeward.registry import Layer, Severity
from kubeward.report._escape import visible
from kubeward.results import Report, Result, Section

_SLSA = "slsa-build-level"
_COVERAGE = "image-verification-coverage"
_CONTEXT_LINES = 2  # source lines shown around a finding's first line

_CSS = """
:root{--critical:#7b1fa2;--high:#c62828;--medium:#ef6c00;--low:#f9a825;--info:#1565c0;
--none:#2e7d32;--fg:#1b1b1b;--muted:#5f6368;--line:#dadce0}
body{font:14px/1.45 system-ui,sans-serif;color:var(--fg);margin:0 auto;max-width:1200px;
padding:16px 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 12px}
.totals span{display:inline-block;margin-right:18px}.totals b{font-size:18px}
code,pre{font:12px/1.4 ui-monospace,monospace}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}td code{overflow-wrap:anywhere}
.wide{overflow-x:auto;max-width:100%}td.v{overflow-wrap:anywhere;min-width:5em}
th{background:#f1f3f4}td.n{text-align:right}
.chain{display:flex;gap:8px;flex-wrap:wrap}
.layer{flex:1 1 150px;border-radius:6px;padding:8px 10px;color:#fff;background:var(--none)}
.layer h3{margin:0 0 4px;font-size:14px}.layer .total{font-size:22px;font-weight:700}
.layer ul{list-style:none;margin:4px 0 0;padding:0;font-size:12px}
.w-critical{background:var(--critical)}.w-high{background:var(--high)}
.w-medium{background:var(--medium)}.w-low{background:var(--low);color:#1b1b1b}
.w-info{background:var(--info)}
.sev{display:inline-block;min-width:60px;text-align:center;border-radius:3px;color:#fff;
padding:0 4px;font-size:12px}
.sev.critical{background:var(--critical)}.sev.high{background:var(--high)}
.sev.medium{background:var(--medium)}.sev.low{background:var(--low);color:#1b1b1b}
.sev.info{background:var(--info)}
.yes{color:var(--none);font-weight:600}.no{color:var(--high);font-weight:600}
.unknown{color:var(--muted)}
.filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid var(--line);
z-index:1}
.filters label{margin-right:12px;white-space:nowrap;cursor:pointer}
.filters .group{display:block}
input.filter{position:absolute;opacity:0;pointer-events:none}
details.rule{border:1px solid var(--line);border-radius:4px;margin:4px 0;padding:2px 8px}
details.rule summary{cursor:pointer;padding:2px 0}
details.rule .count{font-weight:700;margin-left:6px}
ol.findings{margin:4px 0 8px;padding-left:22px}ol.findings li{margin:6px 0}
pre.src{background:#f8f9fa;border:1px solid var(--line);padding:4px 6px;margin:3px 0;
overflow-x:auto;white-space:pre}
pre.src .hit{background:#fff3cd;display:block}
.empty{color:var(--muted)}
"""
# One rule per severity and layer: an unticked box hides its rule groups, and the label of an
# unticked box is struck through so the state stays visible.
_CSS += "".join(
    f"#f-{s.value}:not(:checked)~main .rule.s-{s.value}{{display:none}}"
    f"#f-{s.value}:not(:checked)~.filters label[for=f-{s.value}]"
    "{text-decoration:line-through;opacity:.5}"
    for s in Severity
)
_CSS += "".join(
    f"#f-l{int(ly)}:not(:checked)~main .rule.l{int(ly)}{{display:none}}"
    f"#f-l{int(ly)}:not(:checked)~.filters label[for=f-l{int(ly)}]"
    "{text-decoration:line-through;opacity:.5}"
    for ly in Layer
)
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{_CSS_HASH}'; "
    "img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'"
)


def _t(text: object) -> str:
    """Text from anywhere (the repository above all), safe as element text and attribute."""
    return html.escape(visible(str(text)), quote=True)


def _block(text: str) -> str:
    """Several lines of text, each as `_t` shows it, the line breaks kept."""
    return "\n".join(_t(line.rstrip("\r")) for line in text.split("\n"))


def _worst(results: Iterable[Result]) -> Severity | None:
    return max((r.severity for r in results), key=lambda s: s.rank, default=None)


def render(report: Report) -> str:
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>kubeward supply-chain posture</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
    ]
    # The filter checkboxes come before everything they hide (CSS `~` looks at later siblings).
    out += [f'<input type="checkbox" class="filter" id="f-{s.value}" checked>' for s in Severity]
    out += [f'<input type="checkbox" class="filter" id="f-l{int(ly)}" checked>' for ly in Layer]
    out += _header(report)
    out += _filters()
    out.append("<main>")
    out += _chain(report)
    out += _images(report)
    out += _slsa(report)
    out += _rules(report)
    out += _other_sections(report)
    out += _errors(report)
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def _header(report: Report) -> list[str]:
    roots = ", ".join(_t(r) for r in report.roots)
    config = _t(report.config) if report.config is not None else "none (defaults)"
    totals = [
        ("files scanned", "files", report.files_scanned),
        ("findings", "findings", len(report.results)),
        ("suppressed", "suppressed", len(report.suppressed)),
        ("errors", "errors", len(report.errors)),
    ]
    return [
        "<header>",
        "<h1>kubeward supply-chain posture</h1>",
        f'<p class="meta">kubeward {_t(report.version)} · scanned {roots} · '
        f"configuration {config}</p>",
        '<p class="totals">'
        + "".join(f'<span><b id="count-{key}">{n}</b> {label}</span>' for label, key, n in totals)
        + "</p>",
        "</header>",
    ]


def _filters() -> list[str]:
    sev = "".join(f'<label for="f-{s.value}">☑ {s.value}</label>' for s in Severity)
    lay = "".join(f'<label for="f-l{int(ly)}">☑ {int(ly)} {ly.title}</label>' for ly in Layer)
    return [
        '<nav class="filters">',
        f'<span class="group">Severity: {sev}</span>',
        f'<span class="group">Layer: {lay}</span>',
        "</nav>",
    ]


def _chain(report: Report) -> list[str]:
    by_layer: dict[Layer, list[Result]] = {ly: [] for ly in Layer}
    for r in report.results:
        by_layer[r.rule.layer].append(r)
    sev = report.by_severity()
    out = [
        "<section><h2>Supply chain</h2>",
        '<p class="meta">By severity: '
        + " · ".join(
            f'<span id="count-sev-{s.value}">{sev.get(s, 0)}</span> {s.value}' for s in Severity
        )
        + "</p>",
        '<div class="chain">',
    ]
    for ly in Layer:
        results = by_layer[ly]
        worst = _worst(results)
        counts = Counter(r.severity for r in results)
        cls = f"layer w-{worst.value}" if worst else "layer"
        items = "".join(f"<li>{counts[s]} {s.value}</li>" for s in Severity if counts.get(s))
        out.append(
            f'<div class="{cls}" id="layer-{int(ly)}"><h3>{int(ly)} · {ly.title}</h3>'
            f'<div class="total" id="count-layer-{int(ly)}">{len(results)}</div>'
            f"<ul>{items or '<li>no findings</li>'}</ul></div>"
        )
    out += ["</div></section>"]
    return out


def _section(report: Report, sid: str) -> Section | None:
    return next((s for s in report.sections if s.id == sid), None)


def _span_text(report: Report, r: Result) -> str:
    """The text at a single-line finding span (an image reference), unquoted."""
    s = r.span
    if s.start.line != s.end.line or s.end.col <= s.start.col:
        return ""
    line = report.source_line(s.path, s.start.line)
    return line[s.start.col - 1 : s.end.col - 1].strip().strip("'\"")


def _images(report: Report) -> list[str]:
    coverage = _section(report, _COVERAGE)
    slsa = _section(report, _SLSA)
    covered: dict[str, str] = {}
    images: dict[str, None] = {}
    if coverage is not None:
        for row in coverage.rows:
            image = str(row.get("image", ""))
            images[image] = None
            covered[image] = str(row.get("status", ""))
    pushed: dict[str, list[tuple[str, str]]] = {}
    if slsa is not None:
        for row in slsa.rows:
            image = str(row.get("image", "?"))
            if image != "?":
                images[image] = None
                pushed.setdefault(image, []).append((str(row.get("file")), str(row.get("job"))))
    for r in (*report.results, *report.suppressed):
        if r.rule.layer is Layer.REGISTRY and r.rule.id.startswith("image-"):
            text = _span_text(report, r)
            if text and " " not in text:
                images[text] = None
    # An `image-push-unsigned` message names the image and job (`describe_push`), in its file.
    unsigned = [
        (r.span.path, r.message)
        for r in (*report.results, *report.suppressed)
        if r.rule.id == "image-push-unsigned"
    ]

    def signs(image: str, file: str, job: str) -> bool:
        said = (f"image {image} pushed by job {job} (", f"({image}) pushed by job {job} (")
        return not any(p == file and any(x in m for x in said) for p, m in unsigned)

    out = [
        "<section><h2>Images</h2>",
        '<p class="meta">Pinned: referenced by digest. Signed: a scanned pipeline that pushes it '
        "signs it. Covered: an enforcing verification policy of the scan matches it.</p>",
    ]
    if not images:
        out += ['<p class="empty">No image references in this scan.</p></section>']
        return out
    out.append(
        '<div class="wide"><table id="images"><thead><tr><th>image</th><th>pinned</th>'
        "<th>signed</th>"
        "<th>covered by an enforcing policy</th></tr></thead><tbody>"
    )
    for image in sorted(images):
        ref = parse_image(image)
        pinned = _yes_no(ref.is_pinned)
        if image in pushed:
            signed = _yes_no(all(signs(image, f, j) for f, j in pushed[image]))
        else:
            signed = '<td class="unknown">- (not pushed here)</td>'
        status = covered.get(image)
        if status is None:
            cov = (
                '<td class="unknown">- (no policy in scan)</td>'
                if coverage is None
                else ('<td class="unknown">-</td>')
            )
        elif status == "enforced":
            cov = '<td class="yes">yes</td>'
        else:
            cov = f'<td class="no">no ({_t(status)})</td>'
        out.append(f"<tr><td><code>{_t(image)}</code></td>{pinned}{signed}{cov}</tr>")
    out += ["</tbody></table></div></section>"]
    return out


def _yes_no(value: bool) -> str:
    return '<td class="yes">yes</td>' if value else '<td class="no">no</td>'


def _slsa(report: Report) -> list[str]:
    slsa = _section(report, _SLSA)
    out = ["<section><h2>SLSA Build level per pipeline</h2>"]
    if slsa is None or not slsa.rows:
        return [*out, '<p class="empty">No image-producing pipeline in this scan.</p></section>']
    out.append(
        '<div class="wide"><table id="slsa"><thead><tr><th>pipeline</th><th>job</th><th>image</th>'
        "<th>level</th><th>why not higher</th></tr></thead><tbody>"
    )
    for row in slsa.rows:
        out.append(
            f"<tr><td><code>{_t(row.get('file', ''))}</code></td><td>{_t(row.get('job', ''))}</td>"
            f"<td><code>{_t(row.get('image', ''))}</code></td>"
            f'<td class="n"><b>{_t(row.get("level", ""))}</b></td>'
            f"<td>{_t(row.get('reasons', ''))}</td></tr>"
        )
    out += ["</tbody></table></div></section>"]
    return out


def _rules(report: Report) -> list[str]:
    groups: dict[tuple[str, Severity], list[Result]] = {}
    for r in report.results:
        groups.setdefault((r.rule.id, r.severity), []).append(r)
    out = ["<section><h2>Findings by rule</h2>"]
    if not groups:
        return [*out, '<p class="empty">No findings.</p></section>']
    order = sorted(groups, key=lambda k: (-k[1].rank, -len(groups[k]), k[0]))
    for key in order:
        results = groups[key]
        rule, sev = results[0].rule, key[1]
        link = (
            f' · <a href="{_t(rule.help_uri)}" rel="noreferrer">docs</a>'
            if rule.help_uri.startswith("https://")
            else ""
        )
        out.append(
            f'<details class="rule s-{sev.value} l{int(rule.layer)}" '
            f'data-rule="{_t(rule.id)}" data-severity="{sev.value}">'
            f'<summary><span class="sev {sev.value}">{sev.value}</span> '
            f"<code>{_t(rule.id)}</code> {_t(rule.title)}"
            f'<span class="count">{len(results)}</span> '
            f'<span class="meta">layer {int(rule.layer)} · {rule.layer.title}</span></summary>'
        )
        remediation = rule.section("Remediation")
        out.append(f'<p class="meta">{_t(" ".join(rule.summary.split()))}{link}</p>')
        out.append('<ol class="findings">')
        for r in results:
            out.append(_finding(report, r))
        out.append("</ol>")
        if remediation:
            out.append(f'<p><b>Remediation</b></p><pre class="src">{_block(remediation)}</pre>')
        out.append("</details>")
    out.append("</section>")
    return out


def _finding(report: Report, r: Result) -> str:
    s = r.span
    loc = f"{s.path}:{s.start.line}:{s.start.col}"
    parts = [f"<li><code>{_t(loc)}</code> {_t(r.message)}"]
    first = max(1, s.start.line - _CONTEXT_LINES)
    last = s.start.line + _CONTEXT_LINES
    lines = []
    for n in range(first, last + 1):
        text = report.source_line(s.path, n)
        if n > s.start.line and not text:
            break
        shown = f"{n:>5} | {_t(text)}"
        lines.append(f'<span class="hit">{shown}</span>' if n == s.start.line else shown + "\n")
    if any(report.source_line(s.path, n) for n in range(first, last + 1)):
        parts.append(f'<pre class="src">{"".join(lines)}</pre>')
    for rel in r.finding.related:
        rs = rel.span
        parts.append(
            f'<div class="meta">related: <code>{_t(f"{rs.path}:{rs.start.line}")}</code> '
            f"{_t(rel.label)}</div>"
        )
    parts.append("</li>")
    return "".join(parts)


def _other_sections(report: Report) -> list[str]:
    out: list[str] = []
    for section in report.sections:
        if section.id in (_SLSA,) or not section.rows:
            continue
        cols = list(dict.fromkeys(k for row in section.rows for k in row))
        out.append(f'<section><h2>{_t(section.title)}</h2><div class="wide"><table><thead><tr>')
        out.append("".join(f"<th>{_t(c)}</th>" for c in cols) + "</tr></thead><tbody>")
        for row in section.rows:
            out.append(
                "<tr>" + "".join(f'<td class="v">{_t(row.get(c, ""))}</td>' for c in cols) + "</tr>"
            )
        out.append("</tbody></table></div></section>")
    return out


def _errors(report: Report) -> list[str]:
    if not report.errors:
        return []
    out = ["<section><h2>Files that could not be read</h2><ul>"]
    out += [
        f"<li><code>{_t(f'{e.path}:{e.line}')}</code> {_t(e.reason)}</li>" for e in report.errors
    ]
    return [*out, "</ul></section>"]
