"""`scan --verify-images`: findings at the manifest lines for what the real registry serves.

A manifest tree names images pushed into the test registry: signed with our key, unsigned, a
tag moved after the pin was written, a pin to a platform manifest of a multi-platform tag, a
tag that was deleted, an image that does not exist. The expectations are written in the
manifest (`# expect:` / `# ok:`), as in the rule fixtures.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.engine import ScanOptions, scan
from kubeward.results import Report
from kubeward.verify._cli_image import (
    VerifyImagesUsageError,
    add_scan_arguments,
    scan_stage_from_args,
)
from kubeward.verify.registry import ImageRef, RegistryClient, sha256_digest
from kubeward.verify.rules import NETWORK_RULES
from tests.expectations import hits, read_expectations
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import DOCKER_MANIFEST, OCI_INDEX, pusher

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: signed
          # ok: image-signature-unverified, image-tag-digest-drift
          image: {host}/scan/signed:1.0
        - name: signed-pinned
          # ok: image-signature-unverified, image-tag-digest-drift
          image: {host}/scan/signed:1.0@{signed}
        - name: unsigned
          # expect: image-signature-unverified
          # ok: image-tag-digest-drift
          image: {host}/scan/unsigned:1.0
        - name: moved
          # expect: image-tag-digest-drift
          # ok: image-signature-unverified
          image: {host}/scan/moved:1.0@{moved_old}
        - name: platform
          # ok: image-signature-unverified, image-tag-digest-drift
          image: {host}/scan/multi:1.0@{platform}
        - name: deleted-tag
          # expect: image-tag-digest-drift
          # ok: image-signature-unverified
          image: {host}/scan/signed:gone@{signed}
        - name: suppressed
          # ok: image-signature-unverified
          image: {host}/scan/unsigned:1.0  # kubeward: ignore[image-signature-unverified]
        - name: missing
          # ok: image-signature-unverified, image-tag-digest-drift
          image: {host}/scan/nothere:1.0
---
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  annotations:
    kubeward.dev/ignore: image-tag-digest-drift
spec:
  containers:
        - name: annotated
          # ok: image-tag-digest-drift, image-signature-unverified
          image: {host}/scan/moved:1.0@{moved_old}
"""


@dataclass(frozen=True)
class Tree:
    root: Path
    key_file: Path
    trusted_root: Path
    registry: Registry


def _push_index(client: RegistryClient, ref: ImageRef, tag: str, platform: str) -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": DOCKER_MANIFEST,
                "digest": platform,
                "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
    data = json.dumps(index).encode()
    client.put_manifest(ref, tag, data, OCI_INDEX)
    assert sha256_digest(data) != platform


@pytest.fixture(scope="module")
def tree(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Tree:
    client = pusher(registry)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    host = registry.host

    signed_ref = ImageRef(host, "scan/signed", "1.0")
    signed = _push_image(client, signed_ref, "signed")
    _sign_image(client, log, signed_ref, signed, key)

    _push_image(client, ImageRef(host, "scan/unsigned", "1.0"), "unsigned")

    moved_ref = ImageRef(host, "scan/moved", "1.0")
    moved_old = _push_image(client, moved_ref, "moved-old")
    _sign_image(client, log, moved_ref, moved_old, key)
    moved_new = _push_image(client, moved_ref, "moved-new")
    assert moved_new != moved_old

    multi_ref = ImageRef(host, "scan/multi", "platform-amd64")
    platform = _push_image(client, multi_ref, "multi-amd64")
    _sign_image(client, log, multi_ref, platform, key)
    _push_index(client, multi_ref, "1.0", platform)

    work = tmp_path_factory.mktemp("scan-verify")
    root = work / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "shop.yaml").write_text(
        MANIFEST.format(host=host, signed=signed, moved_old=moved_old, platform=platform)
    )
    key_file = work / "cosign.pub"
    key_file.write_bytes(_pem_public(key))
    return Tree(root, key_file, log.trusted_root(work / "trusted_root.json"), registry)


def _line(container: str) -> int:
    """The line of the `image:` of a container of MANIFEST."""
    lines = MANIFEST.split("\n")
    start = lines.index(f"        - name: {container}")
    return next(i for i in range(start, len(lines)) if "image:" in lines[i]) + 1


def _parser() -> argparse.ArgumentParser:
    """The parts of the `scan` parser the stage's options need, with those options."""
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--rule", action="append", default=None)
    parser.add_argument("--baseline", type=Path)
    add_scan_arguments(parser)
    return parser


def _scan_and_verify(tree: Tree, *extra: str, baseline: set[str] | None = None) -> Report:
    """What `kubeward scan` does with --verify-images: the stage runs inside the engine."""
    args = _parser().parse_args(
        [
            str(tree.root),
            "--verify-images",
            "--key",
            str(tree.key_file),
            "--trusted-root",
            str(tree.trusted_root),
            "--registry-ca",
            str(tree.registry.ca_file),
            *extra,
        ]
    )
    stage = scan_stage_from_args(args)
    assert stage is not None
    rules = args.rule or ["image-not-pinned-by-digest", *sorted(NETWORK_RULES)]
    options = ScanOptions(only_rules=rules, jobs=1, baseline=baseline, stages=[stage])
    return scan(args.paths, options)


@pytest.mark.parametrize("rule_id", sorted(NETWORK_RULES))
def test_findings_at_the_manifest_lines(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, rule_id: str
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tree.registry.docker_config))
    report = _scan_and_verify(tree)
    expected = read_expectations(tree.root, rule_id)
    got = hits(report, tree.root, rule_id)
    assert expected.expect and expected.ok
    assert got == expected.expect
    assert not got & expected.ok
    # The static rule still reports, beside the verification findings.
    assert {r.rule.id for r in report.results} >= {"image-not-pinned-by-digest", rule_id}


def test_messages_errors_and_suppressions(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tree.registry.docker_config))
    report = _scan_and_verify(tree)
    host = tree.registry.host
    by_rule = {
        (r.rule.id, r.span.start.line): r for r in report.results if r.rule.id in NETWORK_RULES
    }

    unsigned = by_rule[("image-signature-unverified", _line("unsigned"))]
    assert unsigned.message.startswith(f"{host}/scan/unsigned:1.0 (sha256:")
    assert "no signature found" in unsigned.message
    assert unsigned.span.start.col == 18  # the image value, not the line
    assert unsigned.finding.properties["verdict"] == "fail"

    moved = by_rule[("image-tag-digest-drift", _line("moved"))]
    assert "now resolves to sha256:" in moved.message
    assert moved.finding.properties["resolved"] != moved.finding.properties["pinned"]
    gone = by_rule[("image-tag-digest-drift", _line("deleted-tag"))]
    assert "tag gone of " in gone.message and "no longer exists" in gone.message

    suppressed = {
        (r.rule.id, r.span.start.line, r.suppressed_by)
        for r in report.suppressed
        if r.rule.id in NETWORK_RULES
    }
    assert suppressed == {
        ("image-signature-unverified", _line("suppressed"), "inline"),
        ("image-tag-digest-drift", _line("annotated"), "annotation"),
    }
    # Judged with the other rules' findings: these suppressions are used, not unused.
    assert [
        (u.span.start.line, u.rule_ids)
        for u in report.unused_suppressions
        if set(u.rule_ids) & NETWORK_RULES
    ] == []

    errors = [e for e in report.errors if "scan/nothere" in e.reason]
    assert [(e.path.endswith("deploy/shop.yaml"), e.line) for e in errors] == [
        (True, _line("missing"))
    ]
    assert "manifest not found" in errors[0].reason
    assert {r.id for r in report.rules} >= NETWORK_RULES


def test_baseline(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tree.registry.docker_config))
    first = _scan_and_verify(tree)
    known = {r.fingerprint for r in first.results if r.rule.id == "image-tag-digest-drift"}
    assert len(known) == 2
    again = _scan_and_verify(tree, baseline=known)
    assert not [r for r in again.results if r.rule.id == "image-tag-digest-drift"]
    assert {
        (r.span.start.line, r.suppressed_by)
        for r in again.suppressed
        if r.rule.id == "image-tag-digest-drift"
    } == {
        (_line("moved"), "baseline"),
        (_line("deleted-tag"), "baseline"),
        (_line("annotated"), "annotation"),
    }
    assert [
        r.span.start.line for r in again.results if r.rule.id == "image-signature-unverified"
    ] == [_line("unsigned")]


def test_rule_filter_and_wrong_policy(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tree.registry.docker_config))
    report = _scan_and_verify(tree, "--rule", "image-tag-digest-drift")
    assert {r.rule.id for r in report.results if r.rule.id in NETWORK_RULES} == {
        "image-tag-digest-drift"
    }

    other = tree.root.parent / "other.pub"
    other.write_bytes(_pem_public(ec.generate_private_key(ec.SECP256R1())))
    report = _scan_and_verify(tree, "--key", str(other))
    failing = {
        r.span.start.line for r in report.results if r.rule.id == "image-signature-unverified"
    }
    # Every image, signed by our key or not: the other key signed none of them.
    names = ["signed", "signed-pinned", "unsigned", "moved", "platform", "deleted-tag", "annotated"]
    assert failing == {_line(n) for n in names}
    reasons = {
        r.finding.properties["reasons"][0]
        for r in report.results
        if r.span.start.line == _line("signed") and r.rule.id == "image-signature-unverified"
    }
    assert any("was not made by public key" in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--verify-images"], "no signer policy"),
        (["--key", "k.pub"], "--key only applies with --verify-images"),
        (["--verify-images", "--key", "/nonexistent.pub"], "cannot read key"),
        (["--registry-config", "c.json"], "--registry-config only applies with --verify-images"),
    ],
)
def test_usage_errors(argv: list[str], message: str) -> None:
    args = _parser().parse_args([".", *argv])
    with pytest.raises(VerifyImagesUsageError, match=message):
        scan_stage_from_args(args)


def test_unreachable_registry_is_tried_once(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    (tmp_path / "pods.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        + "".join(f"    - name: c{i}\n      image: {host}/down/app{i}:1\n" for i in range(3))
        + "    - name: templated\n      image: '{{ .Values.image }}'\n"
    )
    key = tmp_path / "cosign.pub"
    key.write_bytes(_pem_public(ec.generate_private_key(ec.SECP256R1())))
    args = _parser().parse_args(
        [str(tmp_path), "--verify-images", "--key", str(key), "--registry-timeout", "2"]
    )
    stage = scan_stage_from_args(args)
    assert stage is not None
    report = scan(args.paths, ScanOptions(only_rules=sorted(NETWORK_RULES), stages=[stage]))
    assert not report.results
    first, *others = report.errors
    assert (first.line, first.reason.startswith(f"cannot verify {host}/down/app0:1: ")) == (8, True)
    assert "registry unreachable" in first.reason
    skipped = f"not checked: {host} failed before (https://{host}/v2/down/app0/manifests/1"
    assert [e.line for e in others] == [10, 12]
    for i, error in enumerate(others, start=1):
        assert error.reason.startswith(f"cannot verify {host}/down/app{i}:1: {skipped}"), error


def test_options_do_not_clash_with_the_scan_parser() -> None:
    from kubeward.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    scan_parser = sub.choices["scan"]
    if any("--verify-images" in a.option_strings for a in scan_parser._actions):
        return  # already wired by the CLI
    add_scan_arguments(scan_parser)  # argparse raises on a conflicting option string
    args = parser.parse_args(
        ["scan", ".", "--verify-images", "--key", "k.pub", "-f", "sarif", "--rule", "x"]
    )
    assert (args.verify_images, args.key, args.format, args.rule) == (
        True,
        Path("k.pub"),
        ["sarif"],
        ["x"],
    )


@pytest.mark.parametrize("login", ["DOCKER_CONFIG", "--registry-config"])
def test_kubeward_scan_cli(
    tree: Tree,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    login: str,
) -> None:
    """The whole command, once `kubeward scan` carries the hook (the CLI wires it), with the
    registry login from the environment or from `--registry-config`."""
    from kubeward.cli import build_parser, main

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if not any("--verify-images" in a.option_strings for a in sub.choices["scan"]._actions):
        pytest.skip("kubeward scan has no --verify-images yet: src/kubeward/cli.py wiring pending")
    extra = []
    if login == "DOCKER_CONFIG":
        monkeypatch.setenv("DOCKER_CONFIG", str(tree.registry.docker_config))
    else:
        monkeypatch.delenv("DOCKER_CONFIG", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.docker/config.json to fall back on
        extra = ["--registry-config", str(tree.registry.docker_config / "config.json")]
    rc = main(
        [
            "scan",
            str(tree.root),
            "--verify-images",
            "--key",
            str(tree.key_file),
            "--trusted-root",
            str(tree.trusted_root),
            "--registry-ca",
            str(tree.registry.ca_file),
            "--rule",
            "image-signature-unverified",
            "--rule",
            "image-tag-digest-drift",
            "-f",
            "json",
            "--no-progress",
            "-j",
            "1",
            *extra,
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    got = {(f["rule"], f["location"]["start"]["line"]) for f in doc["findings"]}
    assert got == {
        ("image-signature-unverified", _line("unsigned")),
        ("image-tag-digest-drift", _line("moved")),
        ("image-tag-digest-drift", _line("deleted-tag")),
    }
    assert [e["line"] for e in doc["errors"]] == [_line("missing")]
