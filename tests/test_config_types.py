"""Configuration values are type-checked when the file is loaded: the wrong type or an absurd
value is exit code 2 with the file and the key named, through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.cli import main
from kubeward.config import load_config

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
    "  containers:\n    - name: a\n      image: nginx:1.27\n"
)

BAD = [
    ("max-file-size: true\n", "max-file-size must be a whole number from 1 to 2147483648, "
     "not a boolean (True)"),
    ("max-file-size: -5\n", "max-file-size must be a whole number from 1 to 2147483648, "
     "not a number (-5)"),
    ("max-file-size: 0\n", "max-file-size must be a whole number from 1"),
    ("max-file-size: 3000000000\n", "not a number (3000000000)"),
    ("max-file-size: 1.5\n", "max-file-size must be a whole number"),
    ("allowed-registries: 5\n", "allowed-registries must be a list of strings, not a number (5)"),
    ("allowed-registries: [ghcr.io, 5]\n", "allowed-registries must be a list of strings"),
    ("git-depth: abc\n", "git-depth must be a whole number from 0 to 10000, not a string ('abc')"),
    ("git-depth: 10001\n", "git-depth must be a whole number from 0 to 10000"),
    ("git-depth: yes\n", "git-depth must be a whole number from 0 to 10000, not a boolean"),
    ("slsa-target-level: high\n", "slsa-target-level must be a whole number from 0 to 3"),
    ('rules:\n  image-mutable-tag:\n    enabled: "no"\n',
     "rules.image-mutable-tag.enabled must be true or false, not a string ('no')"),
    ("rules:\n  image-mutable-tag: 0\n",
     "rules.image-mutable-tag: expected off, on, a severity, or a mapping, not a number (0)"),
    ("rules:\n  image-mutable-tag:\n    severity: [high]\n",
     "rules.image-mutable-tag.severity must be a severity name, not a list"),
    ("rules:\n  image-mutable-tag:\n    params: [1]\n",
     "rules.image-mutable-tag.params must be a mapping, not a list"),
    ("rules:\n  image-mutable-tag:\n    params: {treshold: 1}\n",
     "rules.image-mutable-tag.params.treshold: unknown parameter"),
    ("rules:\n  image-registry-not-allowed:\n    params: {allowed-registries: ghcr.io}\n",
     "rules.image-registry-not-allowed.params.allowed-registries must be a list of strings"),
    ('rules:\n  dockerfile-unpinned-package-install:\n    params: {distro-packages: "yes"}\n',
     "params.distro-packages must be true or false, not a string ('yes')"),
    ("rules: []\n", "rules must be a mapping of rule id to setting, not a list"),
    ("rules:\n  5: off\n", "rules: unknown rule id 5"),
    ("fail-on: 7\n", "fail-on must be a severity name, not a number (7)"),
    ("fail-on: severe\n", "fail-on: unknown severity 'severe'"),
    ("ignore-paths: vendor/**\n", "ignore-paths must be a list of glob strings, not a string"),
    ("ignore-paths: {}\n", "ignore-paths must be a list of glob strings, not a mapping"),
    ("exclude: [1]\n", "exclude must be a list of glob strings"),
    ("- a\n- b\n", "the configuration must be a mapping, not a list"),
    ("a: [\n", "malformed YAML at line 2: while parsing a flow node"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[0].split(":")[0] for b in BAD])
def test_a_bad_value_is_exit_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    cfg = tmp_path / ".kubeward.yaml"
    cfg.write_text(text)
    assert main(["scan", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"kubeward: error: {cfg}: " in err
    assert message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


GOOD = [
    "max-file-size: 2147483648\n",
    "max-file-size: 1\n",
    "git-depth: 0\n",
    "git-depth: 10000\n",
    "allowed-registries: [ghcr.io/acme]\n",
    "rules:\n  image-mutable-tag: off\n",
    "rules:\n  image-mutable-tag: false\n",
    "rules:\n  image-mutable-tag:\n    enabled: false\n    severity: low\n",
    "rules:\n  dockerfile-unpinned-package-install:\n    params: {distro-packages: false}\n",
    "ignore-paths: [vendor/**]\nexclude: ['*.gen.yaml']\n",
    "rules:\n",
]


@pytest.mark.parametrize("text", GOOD)
def test_good_values_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / ".kubeward.yaml").write_text(text)
    assert main(["scan", str(tmp_path), "--no-progress", "--fail-on", "never"]) == 0
    assert "error" not in capsys.readouterr().err


def test_rule_values_that_python_confuses_keep_their_meaning(tmp_path: Path) -> None:
    """0 == False and 1 == True in Python: neither may disable or enable a rule by accident,
    and `enabled: false` disables."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "rules:\n  image-mutable-tag:\n    enabled: false\n  image-not-pinned-by-digest: on\n"
    )
    c = load_config(cfg)
    assert c.rule("image-mutable-tag").enabled is False
    assert c.rule("image-not-pinned-by-digest").enabled is True
    cfg.write_text("ignore-paths: [a]\nexclude: [b]\n")
    assert load_config(cfg).ignore_paths == ("a", "b")  # both lists apply


def test_an_oversized_or_hostile_config_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / ".kubeward.yaml"
    cfg.write_text("# " + "x" * (1024 * 1024) + "\n")
    assert main(["scan", str(tmp_path), "--no-progress"]) == 2
    assert "over the size limit of 1048576 bytes" in capsys.readouterr().err
