"""How the scan grows along each input axis: sizes N, 2N, 4N, 8N and the log-log slope.

    python bench/scaling.py [--axis NAME ...] [--scale K] [--large] [--doc] [--json PATH]

Each axis generates its input into a temporary directory, scans it in this process with one
job and measures the CPU time of the scan (`time.process_time`, the better of two runs) and a
deterministic work count: the number of Python function calls of the scan, counted by
cProfile in another run (not timed; `--large` runs count no calls). The slope is the
least-squares slope of log(cost) over log(size); 1.0 is linear, 2.0 quadratic.
`docs/benchmarks.md` ("Scaling") has the table.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kubeward.engine import ScanOptions, scan

Generator = Callable[[Path, int], None]
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
MARKERS = ("<!-- scaling:begin -->", "<!-- scaling:end -->")


def _deployment(i: int, image: str, *, sa: str | None = None, ns: str = "apps") -> str:
    account = f"      serviceAccountName: {sa}\n" if sa else ""
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata:\n  name: app{i}\n  namespace: {ns}\n"
        "spec:\n  template:\n    spec:\n"
        f"{account}"
        f"      containers:\n        - name: c\n          image: {image}\n"
    )


def gen_policies(root: Path, n: int) -> None:
    """n workloads and n Kyverno verifyImages policies; a tenth of the images is uncovered."""
    docs = []
    for i in range(n):
        image = f"ghcr.io/team{i}/app:1.0" if i % 10 else f"quay.io/other{i}/app:1.0"
        docs.append(_deployment(i, image))
    (root / "workloads.yaml").write_text("---\n".join(docs))
    pols = [
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
        f"metadata:\n  name: verify{i}\n"
        "spec:\n  rules:\n    - name: v\n      match:\n        any:\n"
        "          - resources:\n              kinds: [Pod]\n"
        "      verifyImages:\n"
        f"        - imageReferences: ['ghcr.io/team{i}/*']\n"
        "          failureAction: Enforce\n"
        "          attestors:\n            - entries:\n                - keyless:\n"
        "                    subject: 'https://github.com/acme/x/.github/workflows/r.yml@refs/heads/main'\n"
        "                    issuer: https://token.actions.githubusercontent.com\n"
        for i in range(n)
    ]
    (root / "policies.yaml").write_text("---\n".join(pols))


def gen_bindings(root: Path, n: int) -> None:
    """n workloads, each with its own service account, and n RoleBindings of a secrets reader."""
    docs = [_deployment(i, f"ghcr.io/acme/app{i}:1", sa=f"sa{i}") for i in range(n)]
    (root / "workloads.yaml").write_text("---\n".join(docs))
    role = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
        "metadata:\n  name: reader\n  namespace: apps\n"
        "rules:\n  - apiGroups: ['']\n    resources: [configmaps]\n    verbs: [get]\n"
    )
    binds = [
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        f"metadata:\n  name: b{i}\n  namespace: apps\n"
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: reader\n"
        f"subjects:\n  - kind: ServiceAccount\n    name: sa{i}\n"
        for i in range(n)
    ]
    (root / "rbac.yaml").write_text("---\n".join([role, *binds]))


def _workflow(name: str, body: str) -> str:
    return f"name: {name}\non: [push]\npermissions:\n  contents: read\njobs:\n{body}"


def gen_callers(root: Path, n: int) -> None:
    """One local reusable workflow and n workflows calling it, each signing an image."""
    wf = root / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "build.yml").write_text(
        "name: build\non:\n  workflow_call: {}\npermissions:\n  contents: read\n"
        "jobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11\n"
        "      - run: docker build -t ghcr.io/acme/app:1 . && docker push ghcr.io/acme/app:1\n"
    )
    for i in range(n):
        (wf / f"c{i}.yml").write_text(
            _workflow(
                f"c{i}",
                "  call:\n    uses: ./.github/workflows/build.yml\n"
                "  sign:\n    needs: call\n    runs-on: ubuntu-latest\n"
                "    permissions:\n      id-token: write\n    steps:\n"
                f"      - run: cosign sign --yes ghcr.io/acme/app{i % 2 or ''}:1\n",
            )
        )


def gen_workflows(root: Path, n: int) -> None:
    """n independent workflows of three steps."""
    wf = root / ".github" / "workflows"
    wf.mkdir(parents=True)
    for i in range(n):
        (wf / f"w{i}.yml").write_text(
            _workflow(
                f"w{i}",
                "  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n"
                f"      - run: echo ${{{{ github.event.issue.title }}}} {i}\n"
                "      - uses: actions/setup-go@0c52d547c9bc32b1aa3301fd7a9cb496313a4491\n",
            )
        )


def gen_files(root: Path, n: int) -> None:
    """n small manifest files, ten to a directory."""
    for i in range(n):
        d = root / f"d{i // 10}"
        d.mkdir(exist_ok=True)
        (d / f"m{i}.yaml").write_text(_deployment(i, f"ghcr.io/acme/app{i}:1"))


def gen_big_file(root: Path, n: int) -> None:
    """One file of n Deployments, written as a stream."""
    with (root / "big.yaml").open("w") as out:
        for i in range(n):
            out.write("---\n")
            out.write(_deployment(i, f"ghcr.io/acme/app{i % 100}:1"))


def gen_diamonds(root: Path, n: int) -> None:
    """A chain of n kustomizations, each including the next one twice (through two overlay
    directories that both include it): 2^n paths to the base without memoisation."""
    base = root / "k0"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (base / "deploy.yaml").write_text(_deployment(0, "ghcr.io/acme/app:1"))
    for i in range(1, n + 1):
        for side in ("a", "b"):
            d = root / f"k{i}{side}"
            d.mkdir()
            below = ["../k0"] if i == 1 else [f"../k{i - 1}a", f"../k{i - 1}b"]
            ns = f"namespace: ns{i}\n" if i == n else ""
            (d / "kustomization.yaml").write_text(f"{ns}resources: [{', '.join(below)}]\n")


@dataclass(frozen=True)
class Axis:
    name: str
    unit: str
    generate: Generator
    sizes: tuple[int, ...]
    rules: tuple[str, ...] | None = None  # None: every rule
    large: bool = False  # only with --large (minutes, and memory near 20x the input)


AXES = (
    Axis(
        "workloads x policies",
        "workloads and policies",
        gen_policies,
        (100, 200, 400, 800),
        ("image-not-covered-by-verification-policy",),
    ),
    Axis(
        "workloads x bindings",
        "workloads and bindings",
        gen_bindings,
        (250, 500, 1000, 2000),
        ("workload-service-account-privileged",),
    ),
    Axis("callers of one workflow", "callers", gen_callers, (200, 400, 800, 1600)),
    Axis("workflows", "workflows", gen_workflows, (50, 100, 200, 400)),
    Axis("files", "files", gen_files, (250, 500, 1000, 2000)),
    Axis("one big file", "Deployments", gen_big_file, (1000, 2000, 4000, 8000)),
    Axis(
        "one big file (large)",
        "Deployments",
        gen_big_file,
        (8_000, 16_000, 32_000, 64_000),
        large=True,
    ),
    Axis("overlay depth (diamonds)", "levels", gen_diamonds, (4, 8, 16, 32)),
)


def _options(axis: Axis) -> ScanOptions:
    return ScanOptions(
        jobs=1,
        only_rules=list(axis.rules) if axis.rules else None,
        max_file_size=2 * 1024 * 1024 * 1024,  # the big file is the point, not the 10 MB cap
    )


def measure(axis: Axis, size: int, *, calls: bool = True) -> tuple[float, int, int, float]:
    """CPU seconds of one scan, Python function calls of a profiled scan, input bytes, and
    the peak resident memory of this process so far (MB; the sizes grow, so it is the peak of
    the largest scan yet)."""
    with tempfile.TemporaryDirectory(prefix="kubeward-scaling-") as tmp:
        root = Path(tmp)
        axis.generate(root, size)
        nbytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        cpu = math.inf
        for _ in range(1 if axis.large else 2):  # the better of two: the machine is shared
            t0 = time.process_time()
            scan([root], _options(axis))
            cpu = min(cpu, time.process_time() - t0)
        if not calls:
            return cpu, 0, nbytes, _peak_mb()
        prof = cProfile.Profile()
        prof.enable()
        scan([root], _options(axis))
        prof.disable()
        calls = int(pstats.Stats(prof).total_calls)  # type: ignore[attr-defined]
    return cpu, calls, nbytes, _peak_mb()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den


def run(axes: Sequence[Axis], scale: float) -> Iterator[dict[str, object]]:
    for axis in axes:
        sizes = [max(1, round(s * scale)) for s in axis.sizes]
        measure(axis, sizes[0], calls=False)  # warm up: imports, compiled patterns
        rows = [measure(axis, s, calls=not axis.large) for s in sizes]
        cpu = [r[0] for r in rows]
        calls = [r[1] for r in rows]
        out = {
            "axis": axis.name,
            "unit": axis.unit,
            "sizes": sizes,
            "bytes": [r[2] for r in rows],
            "cpu_s": [round(c, 3) for c in cpu],
            "peak_mb": [round(r[3]) for r in rows],
            "calls": calls,
            "slope_cpu": round(slope(sizes, cpu), 2),
            "slope_calls": round(slope(sizes, calls), 2) if all(calls) else None,
        }
        print(
            f"{axis.name:28} {' '.join(str(s) for s in sizes):22} "
            f"cpu {' '.join(f'{c:.2f}' for c in cpu):28} slope {out['slope_cpu']:.2f}  "
            f"calls slope {out['slope_calls']}  MB {' '.join(f'{r[2] / 1e6:.1f}' for r in rows)}",
            flush=True,
        )
        yield out


def markdown(results: Sequence[dict[str, object]]) -> str:
    lines = [
        "| axis | sizes | input MB | CPU s | slope (CPU) | slope (calls) |",
        "|---|---|---|---|---:|---:|",
    ]
    for r in results:
        sizes = ", ".join(str(x) for x in r["sizes"])  # type: ignore[attr-defined]
        mb = ", ".join(f"{x / 1e6:.1f}" for x in r["bytes"])  # type: ignore[attr-defined]
        cpu = ", ".join(f"{x:.2f}" for x in r["cpu_s"])  # type: ignore[attr-defined]
        calls = "" if r["slope_calls"] is None else f"{r['slope_calls']:.2f}"
        lines.append(
            f"| {r['axis']} ({r['unit']}) | {sizes} | {mb} | {cpu} | "
            f"{r['slope_cpu']:.2f} | {calls} |"
        )
    return "\n".join(lines)


def write_doc(results: Sequence[dict[str, object]]) -> None:
    """Put the table between the scaling markers of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8")
    begin, end = MARKERS
    if begin not in text or end not in text:
        sys.exit(f"{DOC}: no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{markdown(results)}\n{end}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axis", action="append", help="only this axis (a substring of its name)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    ap.add_argument("--large", action="store_true", help="also the big file to ~13 MB")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args(argv)
    axes = [
        a
        for a in AXES
        if (args.large or not a.large) and (not args.axis or any(s in a.name for s in args.axis))
    ]
    results = list(run(axes, args.scale))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.doc:
        write_doc(results)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
