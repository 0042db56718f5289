"""Agreement of the Kubernetes pack with Checkov's own labelled Kubernetes fixtures.

Checkov labels each fixture file in its name: `...-PASSED.yaml` / `...-FAILED.yaml` (or
`passed`/`failed`/`pass` in lower case), and `...-2PASSED-1FAILED.yaml` for files holding
several resources. We run the one counterpart rule alone over each file and compare: a file
labelled FAILED must get a finding, a PASSED one none; for a mixed file, the number of
resources with a finding must equal the FAILED count. Every disagreement is listed with the
reason; where Checkov's label is wrong we say why rather than bend the rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kubeward.engine import ScanOptions, scan
from kubeward.parse.yamlnode import YNode, load_documents
from tests.conftest import SHARED

CORPUS = SHARED / "corpora" / "checkov"
CHECKS = "tests/kubernetes/checks"

# Checkov check id -> our counterpart rule.
COUNTERPARTS = {
    "CKV_K8S_43": "image-not-pinned-by-digest",
    "CKV_K8S_14": "image-mutable-tag",
    "CKV_K8S_15": "image-pull-policy-not-always",
    "CKV_K8S_49": "rbac-wildcard",
    "CKV_K8S_157": "rbac-escalation-verbs",
    "CKV_K8S_158": "rbac-escalation-verbs",
    "CKV_K8S_155": "rbac-admission-webhook-write",
    "CKV_K8S_27": "workload-runtime-socket-mount",
    "CKV_K8S_16": "workload-privileged-container",
    "CKV_K8S_42": "rbac-binding-to-broad-subject",
}

# (check id, file name) -> why we disagree. Checked by tests/test_agreement_kubernetes.py: a
# disagreement without a reason, or a reason without a disagreement, fails the test.
_SHORT_DIGEST = (
    "Checkov is wrong: `@sha256:123456` is not a content digest (sha256 is 64 hex characters); "
    "an `@` alone is not a digest, and the runtime rejects this reference, so the image is "
    "not pinned"
)
_STAR_ON_SA = (
    "Checkov misses it: `*` verbs on `serviceaccounts` in the core group include "
    "`impersonate`, so the role can act as any service account of its namespace"
)
EXPLAINED: dict[tuple[str, str], str] = {
    ("CKV_K8S_43", "imageWithTagAndDigest-PASSED.yaml"): _SHORT_DIGEST,
    ("CKV_K8S_43", "kafka-PASSED.yaml"): _SHORT_DIGEST,
    ("CKV_K8S_43", "kafka-withrepo-PASSED.yaml"): _SHORT_DIGEST,
    ("CKV_K8S_157", "clusterrole-failed-1.yaml"): (
        "Checkov is wrong: the role has `bind` on `rolebindings`, which grants nothing; the API "
        "server checks `bind` on the role being bound (`roles`/`clusterroles`); creating a "
        "binding (`create` on `rolebindings`) is itself limited by RBAC's escalation "
        "prevention to roles the creator holds or may bind"
    ),
    ("CKV_K8S_157", "role-passed-2.yaml"): _STAR_ON_SA,
    ("CKV_K8S_158", "role-passed-2.yaml"): _STAR_ON_SA,
}

_MIXED_RE = re.compile(r"(\d+)passed.*?(\d+)failed|(\d+)failed.*?(\d+)passed")


@dataclass(frozen=True)
class Case:
    check_id: str
    title: str
    rule_id: str
    file: Path
    expected_failed: int | None  # resources that must fail; None: label "some fail"
    label: str  # PASSED | FAILED | MIXED
    got_failed: int
    findings: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        if self.label == "PASSED":
            return self.got_failed == 0
        if self.label == "FAILED":
            return self.got_failed > 0
        return self.got_failed == self.expected_failed


def label_of(name: str) -> tuple[str, int | None] | None:
    """The label a Checkov fixture file name carries (None when it carries none)."""
    low = name.lower()
    m = _MIXED_RE.search(low)
    if m:
        failed = int(m.group(2) or m.group(3))
        return "MIXED", failed
    if "unknown" in low:
        return None
    if "failed" in low:
        return "FAILED", None
    if "passed" in low or re.search(r"[-_]pass\b", low.rsplit(".", 1)[0] + " "):
        return "PASSED", None
    return None


def _units(docs: list[YNode]) -> list[tuple[int, int]]:
    out = []
    for d in docs:
        items = d.get("items") if d.is_map else None
        kind = d.get_str("kind") if d.is_map else None
        if items is not None and kind and kind.endswith("List"):
            out.extend((i.start.line, i.end.line) for i in items.seq())
        else:
            out.append((d.start.line, d.end.line))
    return out


def run_case(check_id: str, title: str, rule_id: str, path: Path) -> Case | None:
    lab = label_of(path.name)
    if lab is None:
        return None
    report = scan([path], ScanOptions(only_rules=[rule_id], jobs=1))
    lines = sorted(
        {r.span.start.line for r in (*report.results, *report.suppressed) if r.rule.id == rule_id}
    )
    units = _units(load_documents(path.read_text(encoding="utf-8"), str(path)))
    failed = {i for i, (a, b) in enumerate(units) if any(a <= ln <= b for ln in lines)}
    msgs = tuple(
        f"{r.span.start.line}: {r.message}" for r in report.results if r.rule.id == rule_id
    )
    return Case(check_id, title, rule_id, path, lab[1], lab[0], len(failed), msgs)


def cases() -> list[Case]:
    index = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    out = []
    for folder, meta in sorted(index.items()):
        cid = meta["check_id"]
        if not folder.startswith(CHECKS) or cid not in COUNTERPARTS:
            continue
        for f in sorted((CORPUS / folder).iterdir()):
            if f.suffix in (".yaml", ".yml", ".json"):
                c = run_case(cid, meta["title"], COUNTERPARTS[cid], f)
                if c is not None:
                    out.append(c)
    return out


def markdown() -> str:
    all_cases = cases()
    lines = [
        "## Kubernetes: Checkov's labelled fixtures",
        "",
        "Source: `../shared/corpora/checkov/tests/kubernetes/checks` (bridgecrewio/checkov @",
        "03d5fdad). Each labelled file is scanned with only the counterpart rule; a FAILED file",
        "must get a finding, a PASSED file none, a mixed `NPASSED-MFAILED` file exactly M",
        "resources with a finding. Files without a label (`UNKNOWN`) are left out.",
        "Generated from `tests/agreement/kubernetes.py`; checked by",
        "`tests/test_agreement_kubernetes.py`.",
        "",
        "| Checkov check | kubeward rule | files | agree | rate |",
        "|---|---|---:|---:|---:|",
    ]
    by_check: dict[str, list[Case]] = {}
    for c in all_cases:
        by_check.setdefault(c.check_id, []).append(c)
    for cid, cs in by_check.items():
        agree = sum(c.agrees for c in cs)
        lines.append(
            f"| {cid} {cs[0].title} | `{cs[0].rule_id}` | {len(cs)} | {agree} | "
            f"{100 * agree / len(cs):.0f}% |"
        )
    total = len(all_cases)
    agree = sum(c.agrees for c in all_cases)
    lines.append(f"| **all** | | {total} | {agree} | {100 * agree / max(total, 1):.0f}% |")
    lines += ["", "### Disagreements", ""]
    dis = [c for c in all_cases if not c.agrees]
    if not dis:
        lines.append("None.")
    for c in dis:
        reason = EXPLAINED.get((c.check_id, c.file.name), "(no reason recorded)")
        lines.append(
            f"- {c.check_id} `{c.file.name}` (labelled {c.label}, kubeward: "
            f"{c.got_failed} resource(s) with a finding): {reason}"
        )
    lines += [
        "",
        "### Deliberate divergences the fixtures do not show",
        "",
        "- CKV_K8S_15 / `image-pull-policy-not-always`: kubeward does not report the *default*",
        "  pull policy on a tag that names one release (`1.4.2`, `v2.1.0-alpine`, a commit id):",
        "  `image-not-pinned-by-digest` already reports that image and a digest fixes both.",
        "  An explicit `IfNotPresent`/`Never`, and floating tags (`1.4`, `7-alpine`, `stable`),",
        "  are reported as Checkov does. Checkov's fixtures use floating tags only, so the rate",
        "  above does not show this.",
    ]
    return "\n".join(lines) + "\n"
