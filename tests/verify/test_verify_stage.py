"""`scan --verify-images` is a stage of the one engine, not a second pass after it.

Its findings are judged like every other rule's: config severity and on/off, inline and
annotation suppressions (used and unused), the baseline, the order of findings, parallel
workers; a stage that breaks is a scan error, not a lost scan. Images are pushed to the real
registry on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.config import load_config
from kubeward.engine import ScanOptions, scan
from kubeward.registry import Severity
from kubeward.scan_context import ScanContext
from kubeward.source import ScanError
from kubeward.verify import (
    ImageRef,
    KeyPolicy,
    PolicySet,
    RegistryClient,
    RegistryOptions,
    Trust,
    load_public_key_pem,
)
from kubeward.verify.cli import main
from kubeward.verify.rules import NETWORK_RULES, VerifiedImage
from kubeward.verify.scan_hook import VerifyImagesStage
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import pusher

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stage
spec:
  template:
    spec:
      containers:
        - name: unsigned
          image: {host}/stage/unsigned:1.0
        - name: signed
          image: {host}/stage/signed:1.0  # kubeward: ignore[image-signature-unverified]
"""
UNSIGNED_LINE, SIGNED_LINE = 10, 12


@dataclass(frozen=True)
class Stage:
    registry: Registry
    root: Path
    key_file: Path
    trusted_root: Path


@pytest.fixture(scope="module")
def staged(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Stage:
    client = pusher(registry)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    signed = ImageRef(registry.host, "stage/signed", "1.0")
    _sign_image(client, log, signed, _push_image(client, signed, "stage-signed"), key)
    _push_image(client, ImageRef(registry.host, "stage/unsigned", "1.0"), "stage-unsigned")
    work = tmp_path_factory.mktemp("stage")
    key_file = work / "cosign.pub"
    key_file.write_bytes(_pem_public(key))
    root = work / "repo"
    root.mkdir()
    (root / "deploy.yaml").write_text(DEPLOYMENT.format(host=registry.host))
    return Stage(registry, root, key_file, log.trusted_root(work / "trusted_root.json"))


def _stage(staged: Stage) -> VerifyImagesStage:
    key = load_public_key_pem(staged.key_file.read_bytes(), source=str(staged.key_file))
    return VerifyImagesStage(
        policy=PolicySet.for_signer(KeyPolicy(keys=(key,), name=str(staged.key_file))),
        trust=Trust.from_file(staged.trusted_root),
        client=RegistryClient(
            RegistryOptions(
                ca_file=staged.registry.ca_file,
                credentials=(staged.registry.user, staged.registry.password),
            )
        ),
    )


def _rules_at(results: Sequence[object]) -> list[tuple[str, int]]:
    return [(r.rule.id, r.span.start.line) for r in results]  # type: ignore[attr-defined]


def test_findings_are_judged_and_ordered_with_the_others(staged: Stage, tmp_path: Path) -> None:
    config_file = tmp_path / "kubeward.yaml"
    config_file.write_text("rules:\n  image-signature-unverified:\n    severity: low\n")
    rules = ["image-not-pinned-by-digest", *sorted(NETWORK_RULES)]
    report = scan(
        [staged.root],
        ScanOptions(
            config=load_config(config_file), only_rules=rules, jobs=1, stages=[_stage(staged)]
        ),
    )
    # One list in the engine's order: by line, then rule id, static and network alike.
    assert _rules_at(report.results) == [
        ("image-not-pinned-by-digest", UNSIGNED_LINE),
        ("image-signature-unverified", UNSIGNED_LINE),
        ("image-not-pinned-by-digest", SIGNED_LINE),
    ]
    network = report.results[1]
    assert network.severity is Severity.LOW  # the config's severity, as for every rule
    assert network.span.start.col == 18
    # The suppression on the signed image suppressed nothing: the rule ran there and passed.
    assert [(u.span.start.line, u.rule_ids) for u in report.unused_suppressions] == [
        (SIGNED_LINE, ("image-signature-unverified",))
    ]
    assert {r.id for r in report.rules} == set(rules)
    assert report.errors == []


def test_a_suppression_of_a_rule_that_did_not_run_is_not_unused(staged: Stage) -> None:
    report = scan([staged.root], ScanOptions(only_rules=["image-not-pinned-by-digest"], jobs=1))
    assert report.unused_suppressions == []
    assert _rules_at(report.results) == [
        ("image-not-pinned-by-digest", UNSIGNED_LINE),
        ("image-not-pinned-by-digest", SIGNED_LINE),
    ]


def _refused_host() -> str:
    with socket.socket() as sock:  # a port nobody listens on: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("how", ["config-off", "rule-filter"])
def test_no_registry_is_asked_when_no_verification_rule_runs(tmp_path: Path, how: str) -> None:
    host = _refused_host()
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: c\n      image: {host}/down/app:1\n"
    )
    stage = VerifyImagesStage(
        policy=PolicySet.for_signer(
            KeyPolicy(keys=(ec.generate_private_key(ec.SECP256R1()).public_key(),))
        ),
        trust=Trust.production(),
        client=RegistryClient(RegistryOptions(timeout=5)),
    )
    if how == "config-off":
        config_file = tmp_path / "kubeward.yaml"
        config_file.write_text(
            "rules:\n  image-signature-unverified: off\n  image-tag-digest-drift: off\n"
        )
        options = ScanOptions(config=load_config(config_file), jobs=1, stages=[stage])
    else:
        options = ScanOptions(only_rules=["image-not-pinned-by-digest"], jobs=1, stages=[stage])
    report = scan([tmp_path], options)
    assert report.errors == []
    assert not {r.id for r in report.rules} & NETWORK_RULES
    assert not {r.rule.id for r in report.results} & NETWORK_RULES
    assert ("image-not-pinned-by-digest", 8) in _rules_at(report.results)

    # The same scan with the rules on does ask, and says the registry is down.
    asked = scan([tmp_path], ScanOptions(only_rules=sorted(NETWORK_RULES), jobs=1, stages=[stage]))
    assert [(e.line, "registry unreachable" in e.reason) for e in asked.errors] == [(8, True)]


@dataclass(frozen=True)
class _BrokenStage:
    """A stage with a bug: the scan must report it and go on."""

    @property
    def target(self) -> type[VerifiedImage]:
        return VerifiedImage

    def build(
        self, ctx: ScanContext, rule_ids: frozenset[str]
    ) -> tuple[list[VerifiedImage], list[ScanError]]:
        raise RuntimeError("registry answer misread")


def test_a_broken_stage_is_a_scan_error_not_a_lost_scan(staged: Stage) -> None:
    rules = ["image-not-pinned-by-digest", *sorted(NETWORK_RULES)]
    report = scan([staged.root], ScanOptions(only_rules=rules, jobs=1, stages=[_BrokenStage()]))
    assert [(e.path, e.reason) for e in report.errors] == [
        ("<scan>", "internal error building VerifiedImage: RuntimeError: registry answer misread")
    ]
    assert _rules_at(report.results) == [
        ("image-not-pinned-by-digest", UNSIGNED_LINE),
        ("image-not-pinned-by-digest", SIGNED_LINE),
    ]


def test_parallel_workers_see_the_stage(staged: Stage, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    (root / "deploy.yaml").write_text(DEPLOYMENT.format(host=staged.registry.host))
    for i in range(70):  # enough files for worker processes (engine.PARALLEL_MIN_FILES)
        (root / f"cm{i:02}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata: {{}}\n"
        )
    options = ScanOptions(only_rules=sorted(NETWORK_RULES), jobs=2, stages=[_stage(staged)])
    report = scan([root], options)
    assert [(r.rule.id, Path(r.span.path).name, r.span.start.line) for r in report.results] == [
        ("image-signature-unverified", "deploy.yaml", UNSIGNED_LINE)
    ]
    assert report.files_scanned == 71


def test_cli_baseline_covers_verification_findings(
    staged: Stage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kubeward.cli import main as kubeward

    monkeypatch.setenv("DOCKER_CONFIG", str(staged.registry.docker_config))
    baseline = tmp_path / "baseline.json"
    common = [
        "scan",
        str(staged.root),
        "--verify-images",
        "--key",
        str(staged.key_file),
        "--trusted-root",
        str(staged.trusted_root),
        "--registry-ca",
        str(staged.registry.ca_file),
        "--rule",
        "image-signature-unverified",
        "-f",
        "json",
        "--no-progress",
    ]
    assert kubeward([*common, "--write-baseline", str(baseline)]) == 1
    first = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["location"]["start"]["line"]) for f in first["findings"]] == [
        ("image-signature-unverified", UNSIGNED_LINE)
    ]
    recorded = json.loads(baseline.read_text())["findings"]
    assert [e["rule"] for e in recorded] == ["image-signature-unverified"]

    assert kubeward([*common, "--baseline", str(baseline)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["findings"] == []
    assert [(f["rule"], f["suppressed_by"]) for f in again["suppressed"]] == [
        ("image-signature-unverified", "baseline")
    ]


def test_verify_cli_is_unchanged_by_the_stage(
    staged: Stage, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kubeward verify` and the stage judge an image the same way (one core)."""
    monkeypatch.setenv("DOCKER_CONFIG", str(staged.registry.docker_config))
    image = f"{staged.registry.host}/stage/unsigned:1.0"
    rc = main(
        [
            "verify",
            image,
            "--key",
            str(staged.key_file),
            "--trusted-root",
            str(staged.trusted_root),
            "--registry-ca",
            str(staged.registry.ca_file),
            "--format",
            "json",
        ]
    )
    [result] = json.loads(capsys.readouterr().out)["results"]
    report = scan(
        [staged.root],
        ScanOptions(only_rules=["image-signature-unverified"], jobs=1, stages=[_stage(staged)]),
    )
    [finding] = report.results
    assert rc == 1
    assert finding.finding.properties["reasons"] == result["reasons"]
