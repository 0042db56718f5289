"""`.kubeward.yaml`: the scan's configuration.

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

It is read from the scan root only, never from a parent directory (a `.kubeward.yaml` in a
shared directory such as `/tmp` must not switch rules off), or from the file `--config` names.

Unknown keys and rule ids, and values of the wrong type, are configuration errors (exit code
2) naming the file and the key: a typo must not silently switch a check off.

The scanned repository is attacker-controlled, so its own configuration (the file in the scan
root, or a `--config` file inside a scan root) may not choose the git directory, keyring or
allowed signers that vouch for its commits (`HOST_KEYS`): those come from the command line or
from a `--config` file outside the scanned tree, where relative paths are taken from that
file's directory. Repository configuration that sets one is a configuration error, not a
warning: a setting that silently stops applying is what this module exists to prevent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubeward import safe_read
from kubeward.registry import Severity, load_rules

CONFIG_NAMES = (".kubeward.yaml", ".kubeward.yml")

# Top-level keys every rule may read as a parameter (via RuleContext.param), with defaults.
GLOBAL_PARAMS: dict[str, Any] = {
    "allowed-registries": None,
    "slsa-target-level": 3,
    "git-depth": 50,
    "git-allowed-signers": None,  # ssh allowed-signers file for commit signatures
    "git-gnupghome": None,  # GnuPG home whose keyring verifies commit signatures
    "git-dir": None,  # a git directory (a bare mirror) to check instead of the enclosing one
}
_KNOWN_KEYS = {"rules", "ignore-paths", "exclude", "fail-on", "max-file-size", *GLOBAL_PARAMS}

MAX_CONFIG_SIZE = 1024 * 1024
MAX_FILE_SIZE_LIMIT = 2 * 1024 * 1024 * 1024  # 2 GiB: the largest max-file-size accepted
MAX_GIT_DEPTH = 10_000  # the same cap as kubeward.gitsource.MAX_GIT_DEPTH

# Settings that choose what vouches for the repository's commits, as top-level keys and as
# parameters of git-commit-unsigned: never from repository configuration.
HOST_KEYS = {
    "git-allowed-signers": "the allowed-signers file",
    "git-gnupghome": "the GnuPG keyring",
    "git-dir": "the git directory",
}
_HOST_RULE = "git-commit-unsigned"
_HOST_RULE_PARAMS = {
    "allowed-signers": "git-allowed-signers",
    "gnupghome": "git-gnupghome",
    "git-dir": "git-dir",
}
CLI_OPTIONS = {"git-allowed-signers": "--git-allowed-signers", "git-gnupghome": "--git-gnupghome",
               "git-dir": "--git-dir"}  # fmt: skip


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
    path: str | None = None  # the file read (None: the defaults)
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

    def with_host_paths(self, paths: Mapping[str, Path]) -> Config:
        """The configuration with `HOST_KEYS` given on the command line: they win over the
        same settings in the configuration file (top-level or as rule parameters)."""
        if not paths:
            return self
        given = {k: str(p.expanduser().absolute()) for k, p in paths.items()}
        rules = dict(self.rules)
        rc = rules.get(_HOST_RULE)
        if rc is not None:
            params = {k: v for k, v in rc.params.items() if _HOST_RULE_PARAMS.get(k) not in given}
            rules[_HOST_RULE] = replace(rc, params=params)
        return replace(self, rules=rules, globals={**self.globals, **given})


def find_config(start: Path) -> Path | None:
    """The `.kubeward.yaml` of a scan root: in `start` (a directory, or a file's directory)
    itself, never in a parent. A name that exists but is not a regular file (a FIFO, a link
    out of the root) is returned too, so that reading it is a clear error, not a silent
    fallback to the defaults."""
    d = start if start.is_dir() else start.parent
    for name in CONFIG_NAMES:
        p = d / name
        if os.path.lexists(p):
            return p
    return None


def load_config(path: Path | None, *, trusted: bool = False) -> Config:
    """Read a configuration file. `trusted` is for a file the user chose that is not part of
    the scanned tree (`--config` outside every scan root): only it may set `HOST_KEYS`."""
    if path is None:
        return Config()
    try:
        if trusted:
            with open(path, "rb") as fh:  # the user's own file: a pipe (`<(...)`) is fine
                raw = fh.read(MAX_CONFIG_SIZE + 1)
            if len(raw) > MAX_CONFIG_SIZE:
                raise ConfigError(f"{path}: larger than {MAX_CONFIG_SIZE} bytes")
            text = raw.decode("utf-8-sig")
        else:
            text = safe_read.read_text(str(path), root=str(path.parent), max_size=MAX_CONFIG_SIZE)
    except safe_read.ReadRefused as e:
        raise ConfigError(f"{path}: cannot read the configuration: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or e
        raise ConfigError(f"{path}: cannot read the configuration: {reason}") from None
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as e:  # one line: where, and what
        mark = e.problem_mark or e.context_mark
        at = f" at line {mark.line + 1}" if mark is not None else ""
        reason = ", ".join(str(x) for x in (e.context, e.problem) if x)
        raise ConfigError(f"{path}: malformed YAML{at}: {reason}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nesting too deep") from None
    base = path.absolute().parent if trusted else None
    return parse_config(data if data is not None else {}, str(path), trusted=trusted, base=base)


# --- type checks ---------------------------------------------------------------------------------


def _show(value: object) -> str:
    """A value as a message shows it: its YAML-ish type and a short repr."""
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "empty"}  # fmt: skip
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kinds.get(type(value), type(value).__name__)} ({text})"


def _whole(lo: int, hi: int) -> Callable[[str, object], object]:
    def check(key: str, value: object) -> object:
        # bool is an int in Python: `max-file-size: true` must not mean one byte
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"{key} must be a whole number from {lo} to {hi}, not {_show(value)}")
        return value

    return check


def _strings(key: str, value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ConfigError(f"{key} must be a list of strings, not {_show(value)}")
    return value


def _boolean(key: str, value: object) -> object:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {_show(value)}")
    return value


def _path(key: str, value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a path, not {_show(value)}")
    return value


_PARAM_CHECKS: dict[str, Callable[[str, object], object]] = {
    "allowed-registries": _strings,
    "slsa-target-level": _whole(0, 3),
    "git-depth": _whole(0, MAX_GIT_DEPTH),
    "git-allowed-signers": _path,
    "git-gnupghome": _path,
    "git-dir": _path,
    "allowed-signers": _path,
    "gnupghome": _path,
}


def _check_param(key: str, value: object, default: object) -> object:
    check = _PARAM_CHECKS.get(key.rsplit(".", 1)[-1])
    if check is not None:
        return check(key, value)
    if isinstance(default, bool):
        return _boolean(key, value)
    if isinstance(default, int):
        return _whole(0, 2**31)(key, value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, not {_show(value)}")
    return value


def _host_path(key: str, setting: str, value: object, *, trusted: bool, base: Path | None) -> str:
    """A HOST_KEYS value: refused from repository configuration, made absolute otherwise."""
    if not trusted:
        raise ConfigError(
            f"{key}: repository configuration may not choose {HOST_KEYS[setting]} that "
            f"vouches for its own commits; give it with {CLI_OPTIONS[setting]} or in a "
            "--config file outside the scanned tree"
        )
    p = Path(os.path.expanduser(str(_path(key, value))))
    return str(p if p.is_absolute() or base is None else base / p)


# --- parsing -------------------------------------------------------------------------------------


def parse_config(
    data: object, where: str, *, trusted: bool = False, base: Path | None = None
) -> Config:
    try:
        return _parse(data, where, trusted=trusted, base=base)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def _parse(data: object, where: str, *, trusted: bool, base: Path | None) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"the configuration must be a mapping, not {_show(data)}")
    unknown = [k for k in data if k not in _KNOWN_KEYS]
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(sorted(_KNOWN_KEYS))})"
        )
    rules: dict[str, RuleConfig] = {}
    known = load_rules()
    raw_rules = data.get("rules")
    if raw_rules is not None and not isinstance(raw_rules, dict):
        raise ConfigError(f"rules must be a mapping of rule id to setting, not {_show(raw_rules)}")
    for rid, value in (raw_rules or {}).items():
        if not isinstance(rid, str) or rid not in known:
            raise ConfigError(f"rules: unknown rule id {rid!r} (see `kubeward rules`)")
        rules[rid] = _rule_config(rid, value, known[rid].params, trusted=trusted, base=base)
    ignore: list[str] = []
    for key in ("ignore-paths", "exclude"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ConfigError(f"{key} must be a list of glob strings, not {_show(value)}")
            ignore.extend(value)
    fail_on = None
    if data.get("fail-on") is not None:
        value = data["fail-on"]
        if not isinstance(value, str):
            raise ConfigError(f"fail-on must be a severity name, not {_show(value)}")
        try:
            fail_on = Severity.parse(value)
        except ValueError as e:
            raise ConfigError(f"fail-on: {e}") from None
    size = data.get("max-file-size")
    if size is not None:
        _whole(1, MAX_FILE_SIZE_LIMIT)("max-file-size", size)
    globals_: dict[str, Any] = {}
    for key in GLOBAL_PARAMS:
        if key not in data:
            continue
        if key in HOST_KEYS:
            if data[key] is not None:
                globals_[key] = _host_path(key, key, data[key], trusted=trusted, base=base)
            continue
        globals_[key] = _check_param(key, data[key], GLOBAL_PARAMS[key])
    return Config(
        path=where,
        rules=rules,
        ignore_paths=tuple(ignore),
        fail_on=fail_on,
        max_file_size=size,
        globals=globals_,
    )


def _rule_config(
    rid: str, value: object, defaults: Mapping[str, Any], *, trusted: bool, base: Path | None
) -> RuleConfig:
    # `is` and isinstance, not `in`: 0 == False and 1 == True in Python
    if value is False or (isinstance(value, str) and value in ("off", "disabled")):
        return RuleConfig(enabled=False)
    if value is True or value is None or (isinstance(value, str) and value in ("on", "enabled")):
        return RuleConfig()
    if isinstance(value, str):
        try:
            return RuleConfig(severity=Severity.parse(value))
        except ValueError as e:
            raise ConfigError(f"rules.{rid}: {e}") from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"rules.{rid}: expected off, on, a severity, or a mapping, not {_show(value)}"
        )
    extra = [k for k in value if k not in ("enabled", "severity", "params")]
    if extra:
        raise ConfigError(f"rules.{rid}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    enabled = value.get("enabled", True)
    _boolean(f"rules.{rid}.enabled", enabled)
    severity = None
    if value.get("severity") is not None:
        if not isinstance(value["severity"], str):
            raise ConfigError(
                f"rules.{rid}.severity must be a severity name, not {_show(value['severity'])}"
            )
        try:
            severity = Severity.parse(value["severity"])
        except ValueError as e:
            raise ConfigError(f"rules.{rid}.severity: {e}") from None
    raw = value.get("params")
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"rules.{rid}.params must be a mapping, not {_show(raw)}")
    params: dict[str, Any] = {}
    allowed = {**GLOBAL_PARAMS, **defaults}
    for key, v in (raw or {}).items():
        name = f"rules.{rid}.params.{key}"
        if not isinstance(key, str) or key not in allowed:
            names = ", ".join(sorted(allowed))
            raise ConfigError(f"{name}: unknown parameter (known: {names})")
        setting = _HOST_RULE_PARAMS.get(key) if rid == _HOST_RULE else None
        if setting is None and key in HOST_KEYS:
            setting = key
        if setting is not None:
            if v is not None:
                params[key] = _host_path(name, setting, v, trusted=trusted, base=base)
            continue
        params[key] = _check_param(name, v, allowed[key])
    return RuleConfig(enabled=enabled is True, severity=severity, params=params)
