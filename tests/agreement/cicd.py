"""CI/CD agreement with zizmor and Checkov, run side by side on their own fixtures.

zizmor's test workflows (`corpora/zizmor/.../test-data`) and Checkov's GitHub Actions
fixtures (`corpora/checkov/tests/github_actions`) are copied to a temporary directory laid out
as `.github/workflows/*.yml` and `action.yml` files (kubeward classifies workflows by path),
scanned by kubeward with the mapped rules, and by each peer when its executable is found in
`.peers-venv/bin` or on the PATH. Per rule: the share of files on which both agree (both report
it, or neither does), and each disagreement with the reason we know for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.config import Config
from kubeward.engine import ScanOptions, scan

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpora"
ZIZMOR_DATA = CORPORA / "zizmor" / "crates" / "zizmor" / "tests" / "integration" / "test-data"
CHECKOV_GHA = CORPORA / "checkov" / "tests" / "github_actions"

# kubeward rule -> zizmor audit
ZIZMOR = {
    "action-not-pinned-to-sha": "unpinned-uses",
    "template-injection": "template-injection",
    "dangerous-trigger-checkout": "dangerous-triggers",
    "missing-token-permissions|excessive-permissions": "excessive-permissions",
    "persisted-checkout-credentials": "artipacked",
    "insecure-commands-enabled": "insecure-commands",
    "secrets-inherit": "secrets-inherit",
    "self-hosted-runner-on-pr": "self-hosted-runner",
    # the image rules judge job container:/services: images through the workflow image source
    "image-not-pinned-by-digest": "unpinned-images",
}
# kubeward rule -> Checkov check ("a|b": either of our rules stands for the check)
CHECKOV = {
    "insecure-commands-enabled": "CKV_GHA_1",
    "template-injection": "CKV_GHA_2",
    "image-push-unsigned": "CKV_GHA_5",
    "image-push-without-sbom": "CKV_GHA_6",
    "missing-token-permissions|excessive-permissions": "CKV2_GHA_1",
}

# Reviewed disagreements: (peer, rule, file name) -> why.
REASONS: dict[tuple[str, str, str], str] = {
    ("zizmor", "template-injection", "basic.yml"): (
        "the injection sits in steps nested under `parallel:`, which GitHub Actions does not "
        "run; kubeward reads steps as GitHub runs them"
    ),
    ("zizmor", "template-injection", "addnab-docker-run-action.yml"): (
        "the expanded context is github.ref (and friends), which outsiders do not choose on "
        "push; zizmor reports it at low confidence"
    ),
    ("zizmor", "template-injection", "patterns.yml"): (
        "the expanded context is a discussion's label names, set by people with triage "
        "rights, outside kubeward's attacker-controllable family"
    ),
    ("zizmor", "image-not-pinned-by-digest", "inlined-ignores.yml"): (
        "the workflow silences zizmor with `# zizmor: ignore[unpinned-images]`"
    ),
    ("zizmor", "image-not-pinned-by-digest", "issue-1942-repro.yml"): (
        "container: node:18 has a tag but no digest; zizmor's regular persona accepts a tag, "
        "kubeward wants a digest"
    ),
    ("zizmor", "image-not-pinned-by-digest", "matrix-in-image.yml"): (
        "zizmor expands the matrix behind `${{ matrix.image }}` (ubuntu, ubuntu:latest); "
        "kubeward does not see through expressions and stays quiet on templated images"
    ),
    ("zizmor", "image-not-pinned-by-digest", "urllib3-empty-matrix-container.yml"): (
        "zizmor expands the matrix behind the container expression; kubeward does not see "
        "through expressions"
    ),
    ("zizmor", "missing-token-permissions|excessive-permissions", "workflow-read-all.yml"): (
        "read-all grants read on every scope; zizmor calls it overly broad, kubeward judges "
        "write scopes only (a read token cannot push, publish or sign)"
    ),
    ("checkov", "missing-token-permissions|excessive-permissions", "bad_format.yaml"): (
        "the file's jobs: mapping is malformed (runs-on and steps at job-id level); Checkov "
        "skips it, kubeward still sees job CHG_Cleanup without permissions"
    ),
    ("zizmor", "action-not-pinned-to-sha", "inlined-ignores.yml"): (
        "the workflow silences zizmor with `# zizmor: ignore[unpinned-uses]`"
    ),
    ("zizmor", "insecure-commands-enabled", "inlined-ignores.yml"): (
        "the workflow silences zizmor with `# zizmor: ignore[insecure-commands]`"
    ),
    ("zizmor", "template-injection", "hackme.yml"): (
        "the scenario's zizmor.yml ignores template-injection for this file (a zizmor config "
        "test); the injection of github.event.pull_request.title is real"
    ),
    (
        "zizmor",
        "missing-token-permissions|excessive-permissions",
        "workflow-default-perms-all-jobs-explicit.yml",
    ): (
        "job2 grants id-token: write and only checks out; zizmor's regular persona does not "
        "judge unused scopes"
    ),
    ("zizmor", "missing-token-permissions|excessive-permissions", "documented.yml"): (
        "jobs grant packages: write (or id-token: write) and only run echo; zizmor does not "
        "judge unused job scopes"
    ),
    ("zizmor", "missing-token-permissions|excessive-permissions", "partially-documented.yml"): (
        "jobs grant packages: write and only run echo; zizmor does not judge unused job scopes"
    ),
    ("zizmor", "missing-token-permissions|excessive-permissions", "undocumented-permissions.yml"): (
        "job test-job-2 grants packages: write and only runs echo; the workflow-level write is "
        "silenced for zizmor by an inline ignore"
    ),
    ("zizmor", "dangerous-trigger-checkout", "actions-labeler.yml"): (
        "zizmor flags every pull_request_target trigger; kubeward only a checkout or fetch of "
        "the untrusted head, which this labeler workflow does not do"
    ),
}
GENERIC = {
    ("zizmor", "dangerous-trigger-checkout", "peer-only"): (
        "zizmor flags any pull_request_target/workflow_run trigger; kubeward needs a checkout or "
        "fetch of the untrusted head"
    ),
    ("zizmor", "template-injection", "peer-only"): (
        "zizmor also reports inputs.*, steps.*.outputs, matrix and env contexts whose taint it "
        "cannot rule out; kubeward reports only the attacker-controllable github.* contexts"
    ),
    ("zizmor", "missing-token-permissions|excessive-permissions", "peer-only"): (
        "zizmor reports workflow-level write scopes in multi-job workflows; kubeward reports "
        "write-all and id-token/packages writes in jobs that cannot use them"
    ),
    ("zizmor", "persisted-checkout-credentials", "peer-only"): (
        "zizmor flags every checkout without persist-credentials: false; kubeward only where the "
        "job uploads artifacts (the ArtiPACKED leak path)"
    ),
    ("zizmor", "action-not-pinned-to-sha", "ours-only"): (
        "zizmor's default policy accepts tag pins for actions/* and github/* owners (its "
        "unpinned-uses config); kubeward wants a SHA everywhere"
    ),
    ("zizmor", "self-hosted-runner-on-pr", "peer-only"): (
        "zizmor reports self-hosted runners on any trigger (auditor persona); kubeward only on "
        "pull-request triggers, where outsiders choose the code that runs"
    ),
    ("checkov", "missing-token-permissions|excessive-permissions", "peer-only"): (
        "every job declares its own permissions: (the token is bounded), but Checkov looks at "
        "the top level only"
    ),
    ("checkov", "template-injection", "peer-only"): (
        "Checkov's CKV_GHA_2 matches ${{ github.event.* }} by pattern, including fields no "
        "outsider controls"
    ),
}


@dataclass
class RuleAgreement:
    peer: str
    rule: str
    peer_id: str
    files: int = 0
    agree: int = 0
    ours: int = 0  # files where kubeward reports the rule
    theirs: int = 0  # files where the peer reports its check
    both: int = 0
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)  # (file, side, why)

    @property
    def rate(self) -> float:
        return self.agree / self.files if self.files else 1.0


def _our_rules(table: dict[str, str]) -> list[str]:
    return sorted({r for k in table for r in k.split("|")})


def corpus_files() -> list[Path]:
    """zizmor's workflows and action files (the `invalid/` inputs excluded)."""
    out = []
    for p in sorted(ZIZMOR_DATA.rglob("*")):
        if p.suffix not in (".yml", ".yaml") or "invalid" in p.parts:
            continue
        if "configs" in p.parts or p.name in ("zizmor.yml", "dependabot.yml"):
            continue
        if ".github" in p.parts and "workflows" not in p.parts:
            continue
        out.append(p)
    return out


def lay_out(files: list[Path], dst: Path) -> dict[str, Path]:
    """Copy each file where kubeward reads it as a workflow or action; rel path -> original."""
    mapping: dict[str, Path] = {}
    for i, p in enumerate(files):
        if p.name in ("action.yml", "action.yaml"):
            rel = f"actions/{i:04d}/{p.name}"
        else:
            rel = f".github/workflows/{i:04d}-{p.name}"
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst / rel)
        mapping[rel] = p
    return mapping


def ours(root: Path, rules: list[str]) -> dict[str, set[str]]:
    report = scan([root], ScanOptions(config=Config(), only_rules=rules, jobs=1))
    prefix = root.as_posix().rstrip("/") + "/"
    got: dict[str, set[str]] = defaultdict(set)
    for r in report.results:
        got[r.span.path.removeprefix(prefix)].add(r.rule.id)
    return got


def _peer(name: str) -> str | None:
    local = REPO / ".peers-venv" / "bin" / name
    return str(local) if local.exists() else shutil.which(name)


# zizmor reports these audits only under its auditor persona.
AUDITOR_ONLY = frozenset({"self-hosted-runner"})


def zizmor_audits(exe: str, path: Path) -> set[str]:
    """zizmor's audits on one file: its default (regular) persona, plus the audits it only
    reports to auditors."""
    got = _zizmor(exe, path, "regular")
    if any(a in path.read_text(encoding="utf-8", errors="replace") for a in ("runs-on",)):
        got |= _zizmor(exe, path, "auditor") & AUDITOR_ONLY
    return got


def _peer_json(
    argv: list[str], empty: str, *, timeout: int, env: dict[str, str] | None = None
) -> Any:
    """What a peer prints as JSON; output that is empty or not JSON reads as `empty`."""
    proc = subprocess.run(
        argv, capture_output=True, text=True, check=False, env=env, timeout=timeout
    )
    try:
        return json.loads(proc.stdout or empty)
    except json.JSONDecodeError:
        return json.loads(empty)


def _zizmor(exe: str, path: Path, persona: str) -> set[str]:
    data = _peer_json(
        [exe, "--offline", "--no-progress", "--persona", persona, "--format", "json", str(path)],
        "[]",
        timeout=120,
    )
    return {f.get("ident", "") for f in data if isinstance(f, dict)}


def checkov_checks(exe: str, root: Path) -> dict[str, set[str]]:
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    data = _peer_json(
        [
            exe,
            "-d",
            str(root),
            "--framework",
            "github_actions",
            "--skip-download",
            "-o",
            "json",
            "--quiet",
        ],
        "{}",
        env=env,
        timeout=900,
    )
    runs = data if isinstance(data, list) else [data]
    out: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        for c in run.get("results", {}).get("failed_checks", []):
            out[c["file_path"].lstrip("/")].add(c["check_id"])
    return out


def _reason(peer: str, rule: str, name: str, side: str) -> str:
    return REASONS.get((peer, rule, name)) or GENERIC.get((peer, rule, side), "not yet reviewed")


def compare(
    peer: str,
    table: dict[str, str],
    files: list[str],
    our: dict[str, set[str]],
    theirs: dict[str, set[str]],
    names: dict[str, str],
) -> list[RuleAgreement]:
    out = []
    for rule, pid in table.items():
        a = RuleAgreement(peer, rule, pid)
        for f in files:
            mine = any(r in our.get(f, set()) for r in rule.split("|"))
            peer_hit = pid in theirs.get(f, set())
            a.files += 1
            a.ours += mine
            a.theirs += peer_hit
            a.both += mine and peer_hit
            if mine == peer_hit:
                a.agree += 1
            else:
                side = "ours-only" if mine else "peer-only"
                a.disagreements.append(
                    (names[f], side, _reason(peer, rule, Path(names[f]).name, side))
                )
        out.append(a)
    return out


def run_zizmor() -> list[RuleAgreement] | None:
    exe = _peer("zizmor")
    if exe is None or not ZIZMOR_DATA.is_dir():
        return None
    files = corpus_files()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mapping = lay_out(files, root)
        our = ours(root, _our_rules(ZIZMOR))
    theirs = {rel: zizmor_audits(exe, orig) for rel, orig in mapping.items()}
    names = {rel: orig.relative_to(ZIZMOR_DATA).as_posix() for rel, orig in mapping.items()}
    return compare("zizmor", ZIZMOR, sorted(mapping), our, theirs, names)


def run_checkov() -> list[RuleAgreement] | None:
    exe = _peer("checkov")
    if exe is None or not CHECKOV_GHA.is_dir():
        return None
    our = ours(CHECKOV_GHA, _our_rules(CHECKOV))
    theirs_raw = checkov_checks(exe, CHECKOV_GHA)
    files = sorted(
        p.relative_to(CHECKOV_GHA).as_posix()
        for p in CHECKOV_GHA.rglob("*.y*ml")
        if "workflows" in p.parts
    )
    theirs = {}
    for f in files:
        theirs[f] = (
            set().union(*(v for k, v in theirs_raw.items() if k.endswith(f)))
            if theirs_raw
            else set()
        )
    return compare("checkov", CHECKOV, files, our, theirs, {f: f for f in files})


def _table(rows: list[RuleAgreement]) -> list[str]:
    lines = [
        "| kubeward rule | peer check | files | kubeward hits | peer hits | both | agree "
        "| rate | both / either |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a in rows:
        name = a.rule.replace("|", "` or `")
        either = a.ours + a.theirs - a.both
        pos = f"{a.both / either:.0%}" if either else "n/a"
        lines.append(
            f"| `{name}` | `{a.peer_id}` | {a.files} | {a.ours} | {a.theirs} | {a.both} "
            f"| {a.agree} | {a.rate:.0%} | {pos} |"
        )
    lines += [
        "",
        "*rate*: files on which both agree (both report, or neither does); *both / either*: of "
        "the files at least one tool reports, the share both report.",
        "",
    ]
    for a in rows:
        if not a.disagreements:
            continue
        name = a.rule.replace("|", "` or `")
        lines.append(f"**`{name}` vs `{a.peer_id}`**: {len(a.disagreements)} disagreement(s)")
        lines.append("")
        for f, side, why in a.disagreements[:25]:
            who = "kubeward only" if side == "ours-only" else f"{a.peer} only"
            lines.append(f"- `{f}` ({who}): {why}")
        if len(a.disagreements) > 25:
            lines.append(f"- ... and {len(a.disagreements) - 25} more")
        lines.append("")
    return lines


def markdown() -> str:
    lines = [
        "## CI/CD (GitHub Actions)",
        "",
        "Command: `make agreement` (zizmor and Checkov from `.peers-venv`, run offline on their "
        "own fixtures; kubeward scans copies laid out as `.github/workflows/*`). Agreement is "
        "per file: both report the rule's counterpart, or neither does.",
        "",
    ]
    z = run_zizmor()
    lines += ["### zizmor", ""]
    lines += _table(z) if z is not None else ["zizmor not installed: skipped.", ""]
    c = run_checkov()
    lines += ["### Checkov", ""]
    lines += _table(c) if c is not None else ["Checkov not installed: skipped.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
