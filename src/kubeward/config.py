"""`.kubeward.yaml`: the per-repository configuration.

    rules:
      image-mutable-tag: off                 # disable a rule
      image-not-pinned-by-digest:
        severity: medium                     # change its severity
      some-rule:
        params: {threshold: 3}               # rule parameters
    ignore-paths: ["vendor/**", "*.generated.yaml"]
    allowed-registries: [ghcr.io/acme, registry.example.com]
    fail-on: high
    max-file-size: 10485760

Unknown keys and rule ids are configuration errors (exit code 2): a typo must not silently
switch a check off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeward.registry import Severity, load_rules

CONFIG_NAMES = (".kubeward.yaml", ".kubeward.yml")

# Top-level keys every rule may read as a parameter (via RuleContext.param), with defaults.
GLOBAL_PARAMS: dict[str, Any] = {
    "allowed-registries": None,
    "slsa-target-level": 3,
    "git-depth": 50,
    "git-allowed-signers": None,  # ssh allowed-signers file for commit signatures
    "git-gnupghome": None,  # GnuPG home whose keyring verifies commit signatures
}
_KNOWN_KEYS = {"rules", "ignore-paths", "exclude", "fail-on", "max-file-size", *GLOBAL_PARAMS}


class ConfigError(ValueError):
    """An invalid configuration (exit code 2)."""


@dataclass(frozen=True)
class RuleConfig:
    enabled: bool = True
    severity: Severity | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


_DEFAULT_RULE = RuleConfig()


@dataclass(frozen=True)
class Config:
    path: str | None = None
    rules: Mapping[str, RuleConfig] = field(default_factory=dict)
    ignore_paths: tuple[str, ...] = ()
    fail_on: Severity | None = None
    max_file_size: int | None = None
    globals: Mapping[str, Any] = field(default_factory=dict)

    def rule(self, rule_id: str) -> RuleConfig:
        return self.rules.get(rule_id, _DEFAULT_RULE)

    def params_for(self, rule_id: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {**GLOBAL_PARAMS, **defaults, **self.globals}
        merged.update(self.rule(rule_id).params)
        return merged


def find_config(start: Path) -> Path | None:
    """The nearest `.kubeward.yaml`: in `start` (a directory, or a file's directory) or one of
    its parents, stopping at the top of the git repository that holds it."""
    d = (start if start.is_dir() else start.parent).resolve()
    for folder in (d, *d.parents):
        for name in CONFIG_NAMES:
            p = folder / name
            if p.is_file():
                return p
        if (folder / ".git").exists():
            return None
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: malformed YAML: {e}") from None
    return parse_config(data if data is not None else {}, str(path))


def parse_config(data: object, where: str) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the configuration must be a mapping")
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(sorted(_KNOWN_KEYS))})"
        )
    rules: dict[str, RuleConfig] = {}
    known = load_rules()
    raw_rules = data.get("rules") or {}
    if not isinstance(raw_rules, dict):
        raise ConfigError(f"{where}: rules must be a mapping of rule id to setting")
    for rid, value in raw_rules.items():
        if rid not in known:
            raise ConfigError(f"{where}: rules: unknown rule id {rid!r} (see `kubeward rules`)")
        rules[rid] = _rule_config(rid, value, where)
    ignore = data.get("ignore-paths") or data.get("exclude") or []
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        raise ConfigError(f"{where}: ignore-paths must be a list of glob strings")
    fail_on = None
    if data.get("fail-on") is not None:
        try:
            fail_on = Severity.parse(str(data["fail-on"]))
        except ValueError as e:
            raise ConfigError(f"{where}: fail-on: {e}") from None
    size = data.get("max-file-size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ConfigError(f"{where}: max-file-size must be a positive number of bytes")
    globals_ = {k: data[k] for k in GLOBAL_PARAMS if k in data}
    allowed = globals_.get("allowed-registries")
    if allowed is not None and (
        not isinstance(allowed, list) or not all(isinstance(x, str) for x in allowed)
    ):
        raise ConfigError(f"{where}: allowed-registries must be a list of strings")
    return Config(
        path=where,
        rules=rules,
        ignore_paths=tuple(ignore),
        fail_on=fail_on,
        max_file_size=size,
        globals=globals_,
    )


def _rule_config(rid: str, value: object, where: str) -> RuleConfig:
    if value in (False, "off", "disabled"):
        return RuleConfig(enabled=False)
    if value in (True, "on", "enabled", None):
        return RuleConfig()
    if isinstance(value, str):
        try:
            return RuleConfig(severity=Severity.parse(value))
        except ValueError as e:
            raise ConfigError(f"{where}: rules.{rid}: {e}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: rules.{rid}: expected off, a severity, or a mapping")
    extra = set(value) - {"enabled", "severity", "params"}
    if extra:
        raise ConfigError(f"{where}: rules.{rid}: unknown key(s) {', '.join(sorted(extra))}")
    severity = None
    if value.get("severity") is not None:
        try:
            severity = Severity.parse(str(value["severity"]))
        except ValueError as e:
            raise ConfigError(f"{where}: rules.{rid}.severity: {e}") from None
    params = value.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: rules.{rid}.params must be a mapping")
    return RuleConfig(
        enabled=value.get("enabled", True) is not False, severity=severity, params=params
    )
