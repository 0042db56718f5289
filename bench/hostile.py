"""Issue 11's large hostile inputs, built in a temporary directory and scanned one by one.

Not part of `make bench` and not a test: a figure to look at when touching the parser, the
engine or a provider. Each input is scanned by the real CLI as a child process (`--jobs 1`,
JSON to a file); the table gives wall time, peak RSS, exit code and the error entries.
With `--scale`, each input is also built at a quarter of its size, and the ratio of CPU times
is shown (about 4 when the work is linear, 16 when it is quadratic).

Usage: `python bench/hostile.py [--only NAME,...] [--scale]`
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DIGEST = "sha256:" + "a" * 64


def pod_list(n: int) -> dict[str, str]:
    """A `kind: List` of `n` Pods (100,000 is about 10 MB and 2.5 million nodes, no alias)."""
    pods = "".join(
        f"- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}}}, "
        f"spec: {{containers: [{{name: c, image: 'r.io/a@{DIGEST}', args: [a, b, c]}}]}}}}\n"
        for i in range(n)
    )
    return {"list.yaml": "apiVersion: v1\nkind: List\nitems:\n" + pods}


def tiny_documents(n: int) -> dict[str, str]:
    """`n` documents of one key (200,000 is the issue's 1.8 MB file)."""
    return {"many.yaml": "---\na: 1\n" * n}


def from_stages(n: int) -> dict[str, str]:
    """A Dockerfile of `n` stages, each copying from the one before and piping curl to sh."""
    stages = "".join(
        f"FROM alpine:3 AS s{i}\nCOPY --from=s{max(i - 1, 0)} /a /a\n"
        f"RUN curl -fsSL https://example.com/{i}.sh | sh\n"
        for i in range(n)
    )
    return {"Dockerfile": stages}


def merge_keys(n: int) -> dict[str, str]:
    """A Pod of `n` containers, each merging one anchored mapping."""
    base = f"x-base: &base {{image: 'r.io/a@{DIGEST}', imagePullPolicy: Always}}\n"
    containers = "".join(f"    - {{<<: *base, name: c{i}}}\n" for i in range(n))
    return {
        "pod.yaml": base
        + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        + containers
    }


def policy_pairs(n: int) -> dict[str, str]:
    """`n` Pods and `n` Kyverno `verifyImages` policies, none covering any image. Coverage is
    judged image by policy: this one is still quadratic (2,000 of each: 42 s of CPU)."""
    pods = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n"
        f"spec: {{containers: [{{name: c, image: 'r{i}.io/app:1'}}]}}\n"
        for i in range(n)
    )
    policies = "".join(
        f"---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: k{i}}}\n"
        "spec:\n  validationFailureAction: Enforce\n  rules:\n  - name: v\n"
        "    match: {any: [{resources: {kinds: [Pod]}}]}\n    verifyImages:\n"
        f"    - imageReferences: ['q{i}.io/*']\n"
        "      attestors: [{entries: [{keyless: {subject: x, issuer: y}}]}]\n"
        for i in range(n)
    )
    return {"pods.yaml": pods, "policies.yaml": policies}


INPUTS: dict[str, tuple[Callable[[int], dict[str, str]], int]] = {
    "pod-list": (pod_list, 100_000),
    "tiny-documents": (tiny_documents, 200_000),
    "from-stages": (from_stages, 5_000),
    "merge-keys": (merge_keys, 20_000),
    "policy-pairs": (policy_pairs, 1_000),
}


def run(root: Path) -> tuple[float, float, int, int, list[str]]:
    """(wall s, CPU s, peak RSS MiB, exit code, error reasons) of one scan of `root`."""
    out = root.parent / (root.name + ".json")
    err = root.parent / (root.name + ".stderr")
    cmd = [sys.executable, "-m", "kubeward", "scan", str(root), "-j", "1", "--no-progress"]
    cmd += ["--max-file-size", str(64 << 20), "-f", f"json={out}", "--fail-on", "never"]
    started = time.monotonic()
    with err.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time and peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    errors = []
    if out.exists():
        errors = [e["reason"] for e in json.loads(out.read_text())["errors"]]
    elif err.read_text().strip():
        errors = [err.read_text().strip().splitlines()[-1]]
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss // 1024, proc.returncode, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated input names")
    ap.add_argument("--scale", action="store_true", help="also run at a quarter of the size")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(INPUTS)
    print(f"{'input':<16} {'n':>8} {'wall s':>7} {'cpu s':>7} {'RSS MiB':>8} exit  errors")
    with tempfile.TemporaryDirectory(prefix="kw-hostile-") as tmp:
        for name in names:
            build, n = INPUTS[name]
            cpus = []
            for size in ([n // 4] if args.scale else []) + [n]:
                root = Path(tmp) / f"{name}-{size}"
                root.mkdir()
                for rel, text in build(size).items():
                    (root / rel).write_text(text)
                wall, cpu, rss, code, errors = run(root)
                cpus.append(cpu)
                shown = "; ".join(errors)[:60] or "-"
                print(f"{name:<16} {size:>8} {wall:>7.1f} {cpu:>7.1f} {rss:>8} {code:>4}  {shown}")
            if len(cpus) == 2 and cpus[0] > 0:
                print(f"{'':<16} 4x the input: {cpus[1] / cpus[0]:.1f}x the CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
