"""Chart templates: Go-template text, read line by line (never parsed as YAML)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.helm import HelmTemplate
from kubeward.model.image import parse_image
from kubeward.registry import Finding, Layer, Severity, rule

_IMAGE_LINE_RE = re.compile(r"^(\s*(?:-\s+)?[\"']?image[\"']?\s*:\s*)(\S.*?)\s*$")


def _literal_images(t: HelmTemplate) -> Iterator[tuple[int, int, str]]:
    """(line, column, value) of each `image:` line whose value holds no template action."""
    in_comment = False
    for i, line in enumerate(t.file.text.split("\n"), start=1):
        s = line.strip()
        if in_comment:
            in_comment = "*/}}" not in s and "*/ -}}" not in s
            continue
        if s.startswith(("{{/*", "{{- /*")):
            in_comment = "*/}}" not in s and "*/ -}}" not in s
            continue
        if s.startswith("#"):
            continue
        m = _IMAGE_LINE_RE.match(line.rstrip("\r"))
        if not m:
            continue
        value = m.group(2)
        if " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if "{{" in value or value[:1] in ("|", ">", "{", "[", "&", "*", "!"):
            continue
        value = value.strip("\"'")
        if not value or " " in value:
            continue
        yield i, len(m.group(1)) + 1, value


@rule(
    id="helm-template-hardcoded-image",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=("https://helm.sh/docs/chart_best_practices/pods/",),
)
def helm_template_hardcoded_image(t: HelmTemplate) -> Iterator[Finding]:
    """Chart template hard-codes a container image instead of taking it from values.

    An `image:` in `templates/` whose value is a literal (`image: busybox:1.36`) rather than a
    template action over values (`image: {{ .Values.image.repository }}:...`). Templates are
    read as text, never parsed as YAML, so Go-template files never stop the scan.

    ## Why it matters
    Users of the chart cannot pin the image to a digest, move it to their own mirror or an
    allowlisted registry, or patch it, without forking the chart; and the image escapes every
    check that reads `values.yaml`.

    ## Remediation
    Move the image to `values.yaml` and reference it:

        # values.yaml
        initImage:
          repository: busybox
          tag: 1.36.1
          digest: sha256:<64 hex>
        # templates/deployment.yaml
        {{- with .Values.initImage }}
        image: "{{ .repository }}:{{ .tag }}@{{ .digest }}"
        {{- end }}
    """
    f = t.file
    for line, col, value in _literal_images(t):
        ref = parse_image(value)
        if not ref.is_resolved:
            continue
        yield Finding(
            f.line_span(line, col, len(f.line_text(line)) - col + 1),
            f"template hard-codes image {value}; take it from values so users can pin or mirror it",
            severity=Severity.LOW if ref.digest else None,
        )
