"""The growth axes of bench/scaling.py, pinned by counting work (never by timing).

Each test scans a generated input at N and 4N and counts the calls of the function doing the
per-pair work (cProfile's call counts are exact): linear growth is 4x, quadratic 16x. The
coverage index is also compared with a brute-force reference: every policy asked for every
image, as before the index.
"""

from __future__ import annotations

import cProfile
import pstats
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.model.policy import PolicyCoverage, VerificationPolicy
from kubeward.policy.prefix import PrefixIndex, literal_prefix
from kubeward.results import Report
from kubeward.rules.gitops import coverage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import scaling

COVERAGE = "image-not-covered-by-verification-policy"
FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _calls(run: Callable[[], object], func: str, file_suffix: str) -> int:
    """How many times `run` calls the function `func` defined in a file ending so."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        run()
    finally:
        prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    return sum(
        v[1] for (f, _, name), v in stats.items() if name == func and f.endswith(file_suffix)
    )


def _scan_calls(
    tmp: Path, gen: scaling.Generator, n: int, rules: list[str] | None, func: str, suffix: str
) -> int:
    root = tmp / f"n{n}"
    root.mkdir()
    gen(root, n)
    return _calls(lambda: scan([root], ScanOptions(jobs=1, only_rules=rules)), func, suffix)


def test_policy_matches_grow_linearly(tmp_path: Path) -> None:
    small = _scan_calls(
        tmp_path, scaling.gen_policies, 40, [COVERAGE], "covering", "kubeward/model/policy.py"
    )
    big = _scan_calls(
        tmp_path, scaling.gen_policies, 160, [COVERAGE], "covering", "kubeward/model/policy.py"
    )
    assert small > 0
    assert big <= 4.5 * small, (small, big)


def test_binding_comparisons_grow_linearly(tmp_path: Path) -> None:
    rule = ["workload-service-account-privileged"]
    suffix = "rules/kubernetes/blast_radius.py"
    small = _scan_calls(tmp_path, scaling.gen_bindings, 50, rule, "_binds", suffix)
    big = _scan_calls(tmp_path, scaling.gen_bindings, 200, rule, "_binds", suffix)
    assert small > 0
    assert big <= 4.5 * small, (small, big)


def test_callers_of_one_workflow_compare_evidence_linearly(tmp_path: Path) -> None:
    """Dataclass `__eq__` (generated code, file `<string>`) was called for each pair of
    evidence pieces of the callers (`e not in mine`): 59,900 times for 400 callers."""
    small = _scan_calls(tmp_path, scaling.gen_callers, 50, None, "__eq__", "<string>")
    big = _scan_calls(tmp_path, scaling.gen_callers, 200, None, "__eq__", "<string>")
    assert big <= 4.5 * small, (small, big)


def test_callers_share_the_called_workflows_evidence(tmp_path: Path) -> None:
    """The counting test above needs the callers' evidence to reach the called workflow."""
    scaling.gen_callers(tmp_path, 4)
    report = scan([tmp_path], ScanOptions(jobs=1))
    pushed = [r for r in report.results if r.finding.span.path.endswith("build.yml")]
    assert not any(r.rule.id == "image-push-unsigned" for r in pushed)


# --- the coverage index against the brute-force reference ---------------------------------


def test_literal_prefix() -> None:
    assert literal_prefix("ghcr.io/acme/*") == "ghcr.io/acme/"
    assert literal_prefix("ghcr.io/{a,b}/x") == "ghcr.io/"
    assert literal_prefix("a?c") == "a"
    assert literal_prefix("x[0-9]") == "x"
    assert literal_prefix(r"a\*b") == "a"
    assert literal_prefix("plain") == "plain"
    idx = PrefixIndex()
    idx.add("ghcr.io/acme/*", 1)
    idx.add("*", 2)
    idx.add("quay.io/x", 3)
    assert idx.candidates(["ghcr.io/acme/api:1"]) == {1, 2}
    assert idx.candidates(["quay.io/x", "ghcr.io/other"]) == {2, 3}


_REGISTRIES = ("ghcr.io/acme", "ghcr.io/acme/team", "docker.io/library", "quay.io/x", "nginx")


def _random_patterns(rnd: random.Random) -> Iterator[str]:
    for reg in _REGISTRIES:
        yield f"{reg}/*"
        yield f"{reg}/**"
        yield f"{reg}/ap?"
        yield f"{reg}/app*:1.*"
    yield "ghcr.io/{acme,other}/*"
    yield "ghcr.io/acme/[ab]pp:*"
    yield f"index.docker.io/library/ngin{rnd.choice('xy')}:*"


def _gen_mixed(root: Path, seed: int) -> None:
    """Kyverno wildcards, ImageValidatingPolicy globs, policy-controller globs, audit and
    namespaced policies, Ratify, beside workloads in several namespaces."""
    rnd = random.Random(seed)
    pats = list(_random_patterns(rnd))
    docs = []
    for i in range(30):
        kind = i % 4
        p = rnd.choice([*pats, "*", "*/*"] if kind == 1 else pats)  # bare globs: pc only
        if kind == 0:
            action = rnd.choice(["Enforce", "Audit"])
            docs.append(
                "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
                f"metadata:\n  name: k{i}\nspec:\n  rules:\n    - name: v\n      match:\n"
                "        any:\n          - resources:\n              kinds: [Pod]\n"
                + (f"              namespaces: [ns{i % 3}]\n" if i % 5 == 0 else "")
                + f"      verifyImages:\n        - imageReferences: ['{p}']\n"
                f"          failureAction: {action}\n"
            )
        elif kind == 1:
            docs.append(
                "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
                f"metadata:\n  name: pc{i}\nspec:\n  images:\n    - glob: '{p}'\n"
                "  authorities:\n    - keyless:\n        url: https://fulcio.sigstore.dev\n"
            )
        elif kind == 2:
            docs.append(
                "apiVersion: policies.kyverno.io/v1alpha1\nkind: ImageValidatingPolicy\n"
                f"metadata:\n  name: ivp{i}\nspec:\n  matchImageReferences:\n"
                f"    - glob: '{p}'\n  validationActions: [Deny]\n"
            )
        else:
            docs.append(
                "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
                f"metadata:\n  name: s{i}\nspec:\n  rules:\n    - name: v\n      match:\n"
                "        any:\n          - resources:\n              kinds: [Pod]\n"
                f"      verifyImages:\n        - imageReferences: ['{p}']\n"
                f"          skipImageReferences: ['{rnd.choice(pats)}']\n"
            )
    d = root / "policies"
    d.mkdir(parents=True)
    (d / "a.yaml").write_text("---\n".join(docs[:15]))
    (d / "b.yaml").write_text("---\n".join(docs[15:]))
    images = [
        f"{reg}/{name}{tag}"
        for reg in (*_REGISTRIES, "registry.k8s.io", "example.com/z", "ghcr.io/acmex", "quay.io/y")
        for name in ("app", "api", "bpp")
        for tag in (":1.2", "", "@sha256:" + "a" * 64)
    ]
    work = []
    for i in range(60):
        work.append(scaling._deployment(i, rnd.choice(images), ns=f"ns{i % 4}"))
    (root / "apps").mkdir()
    (root / "apps" / "w.yaml").write_text("---\n".join(work))
    (root / "apps" / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n  labels:\n"
        "    policy.sigstore.dev/include: 'true'\n"
    )


def _findings(report: Report) -> list[tuple[object, ...]]:
    return sorted(
        (
            r.rule.id,
            r.finding.span.path,
            r.finding.span.start.line,
            r.finding.span.start.col,
            r.finding.message,
            tuple((x.span.path, x.span.start.line, x.label) for x in r.finding.related),
        )
        for r in report.results
    )


def _brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every policy is a candidate for every image, and the nearest policy is
    scored over all of them."""

    def every_policy(self: PolicyCoverage, ref: object) -> tuple[VerificationPolicy, ...]:
        return self.policies

    def nearest(self: coverage._NearestIndex, use: object) -> VerificationPolicy | None:
        return coverage._nearest(self.policies, use)  # type: ignore[arg-type]

    monkeypatch.setattr(PolicyCoverage, "candidates", every_policy)
    monkeypatch.setattr(coverage._NearestIndex, "nearest", nearest)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_index_matches_brute_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    _gen_mixed(tmp_path, seed)
    opts = ScanOptions(jobs=1, only_rules=[COVERAGE])
    indexed = scan([tmp_path], opts)
    with monkeypatch.context() as m:
        _brute_force(m)
        reference = scan([tmp_path], opts)
    got = _findings(indexed)
    assert got, "the generated input must have findings"
    assert got == _findings(reference)
    assert [s.rows for s in indexed.sections] == [s.rows for s in reference.sections]


def test_coverage_fixtures_match_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = sorted((FIXTURES / COVERAGE / "cases").iterdir())
    assert cases
    opts = ScanOptions(jobs=1, only_rules=[COVERAGE])
    for case in cases:
        indexed = _findings(scan([case], opts))
        with monkeypatch.context() as m:
            _brute_force(m)
            reference = _findings(scan([case], opts))
        assert indexed == reference, case.name
