"""docs/gate.md's apiserver side is what kubeward's own scan asks for: its
`AdmissionConfiguration` passes `image-policy-webhook-default-allow`, and the same document
with `defaultAllow: true` fails it; the kubeconfig it shows is the shape the plugin reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from kubeward.cli import main
from tests.conftest import REPO

DOC = REPO / "docs" / "gate.md"
RULE = "image-policy-webhook-default-allow"


def _blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def _scan(tmp_path: Path, text: str) -> list[str]:
    target = tmp_path / "tree"
    target.mkdir(exist_ok=True)
    (target / "admission.yaml").write_text(text)
    report = tmp_path / "report.json"
    main(["scan", str(target), "--rule", RULE, "--fail-on", "never", "-f", f"json={report}"])
    return [f["rule"] for f in json.loads(report.read_text())["findings"]]


def test_the_documented_admission_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config,) = [b for b in _blocks() if "kind: AdmissionConfiguration" in b]
    policy = yaml.safe_load(config)["plugins"][0]
    assert policy["name"] == "ImagePolicyWebhook"
    assert set(policy["configuration"]["imagePolicy"]) == {
        "kubeConfigFile",
        "allowTTL",
        "denyTTL",
        "retryBackoff",
        "defaultAllow",
    }
    assert _scan(tmp_path, config) == []
    assert _scan(tmp_path, config.replace("defaultAllow: false", "defaultAllow: true")) == [RULE]
    capsys.readouterr()


def test_the_documented_kubeconfig() -> None:
    (kubeconfig,) = [yaml.safe_load(b) for b in _blocks() if "kind: Config" in b]
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")  # the plugin requires TLS
    assert cluster["cluster"]["server"].endswith("/imagereview")
    assert kubeconfig["current-context"] == kubeconfig["contexts"][0]["name"]
