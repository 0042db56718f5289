"""`gate.yaml`: what the gate enforces and how it is served.

```yaml
policies: [/etc/kubeward/policies/policies.yaml]   # ClusterImagePolicy documents
trustedRoot: /etc/kubeward/trust/trusted_root.json # default: sigstore production (offline)
registry: {ca: /etc/kubeward/registry-ca.pem, timeoutSeconds: 3, retries: 1, insecure: []}
tls: {certFile: /etc/kubeward/tls/tls.crt, keyFile: /etc/kubeward/tls/tls.key}
listen: {host: 0.0.0.0, port: 8443}
timeoutSeconds: 10         # the webhooks' timeoutSeconds
deadlineMarginSeconds: 1.5 # every answer leaves this much of it
gateNamespace: kubeward-gate
excludeNamespaces: []      # besides kube-system and gateNamespace, always excluded
noMatchPolicy: deny        # deny or warn, for images no policy selects
breakGlass: false          # honour <prefix>.image-policy.k8s.io/break-glass: "true"
cache: {allowTTLSeconds: 300, denyTTLSeconds: 30, maxEntries: 10000, redis: null}
ledger: {file: /var/log/kubeward/ledger.jsonl}     # or {redis: URL, stream: NAME}
reloadSeconds: 5           # check the policy and trust files for changes (0: never)
```

Registry credentials come from the Docker config `registry.config` names (a `config.json`, or
a directory holding one; relative to this file), else from the one `DOCKER_CONFIG` points to (the
chart mounts a `kubernetes.io/dockerconfigjson` secret there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ALWAYS_EXCLUDED = ("kube-system",)


class ConfigError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class GateConfig:
    policies: tuple[Path, ...]
    trusted_root: Path | None = None
    registry_ca: Path | None = None
    registry_config: Path | None = None  # Docker config (file or directory) for registry logins
    registry_timeout: float = 3.0
    registry_retries: int = 1
    insecure_registries: frozenset[str] = frozenset()
    cert_file: Path | None = None
    key_file: Path | None = None
    host: str = "0.0.0.0"
    port: int = 8443
    timeout_seconds: float = 10.0
    deadline_margin: float = 1.5
    gate_namespace: str = "kubeward-gate"
    exclude_namespaces: frozenset[str] = frozenset()
    no_match_policy: str = "deny"
    break_glass: bool = False
    allow_ttl: float = 300.0
    deny_ttl: float = 30.0
    max_entries: int = 10000
    redis_url: str | None = None
    ledger_file: Path | None = None
    ledger_redis: str | None = None
    ledger_stream: str = "kubeward:ledger"
    verify_threads: int = 16
    reload_seconds: float = 5.0
    """How often the policy and trust files are checked for changes (0: never)."""

    @property
    def budget(self) -> float:
        """Seconds a decision may take: the webhook's timeout minus the margin."""
        return self.timeout_seconds - self.deadline_margin

    def excluded(self, namespace: str) -> bool:
        return (
            namespace in ALWAYS_EXCLUDED
            or namespace == self.gate_namespace
            or namespace in self.exclude_namespaces
        )


def _section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping")
    return value


def _path(value: Any, base: Path, what: str) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a path")
    return base / value


def _number(value: Any, what: str, default: float, *, positive: bool = True) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number")
    if (positive and value <= 0) or value < 0:
        raise ConfigError(f"{what} must be {'positive' if positive else 'zero or more'}")
    return float(value)


def parse_config(doc: Any, *, base: Path) -> GateConfig:
    """The configuration in `doc`; relative paths are taken from `base`."""
    if not isinstance(doc, dict):
        raise ConfigError("the configuration is not a mapping")
    raw_policies = doc.get("policies")
    if isinstance(raw_policies, str):
        raw_policies = [raw_policies]
    if not isinstance(raw_policies, list) or not raw_policies:
        raise ConfigError("policies must list at least one ClusterImagePolicy file")
    policies = tuple(_path(p, base, "policies entry") or base for p in raw_policies)
    registry, tls, listen = (_section(doc, k) for k in ("registry", "tls", "listen"))
    cache, ledger = _section(doc, "cache"), _section(doc, "ledger")
    insecure = registry.get("insecure") or []
    excluded = doc.get("excludeNamespaces") or []
    if not isinstance(insecure, list) or not isinstance(excluded, list):
        raise ConfigError("registry.insecure and excludeNamespaces must be lists")
    no_match = doc.get("noMatchPolicy", "deny")
    if no_match not in ("deny", "warn"):
        raise ConfigError("noMatchPolicy must be deny or warn")
    timeout = _number(doc.get("timeoutSeconds"), "timeoutSeconds", 10.0)
    if timeout > 30:
        raise ConfigError("timeoutSeconds must be at most 30 (the apiserver's limit)")
    margin = _number(doc.get("deadlineMarginSeconds"), "deadlineMarginSeconds", 1.5)
    if margin >= timeout:
        raise ConfigError("deadlineMarginSeconds must be less than timeoutSeconds")
    port = listen.get("port", 8443)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError("listen.port must be a port number")
    if ledger.get("file") and ledger.get("redis"):
        raise ConfigError("ledger takes either file or redis, not both")
    return GateConfig(
        policies=policies,
        trusted_root=_path(doc.get("trustedRoot"), base, "trustedRoot"),
        registry_ca=_path(registry.get("ca"), base, "registry.ca"),
        registry_config=_path(registry.get("config"), base, "registry.config"),
        registry_timeout=_number(registry.get("timeoutSeconds"), "registry.timeoutSeconds", 3.0),
        registry_retries=int(
            _number(registry.get("retries"), "registry.retries", 1, positive=False)
        ),
        insecure_registries=frozenset(str(i) for i in insecure),
        cert_file=_path(tls.get("certFile"), base, "tls.certFile"),
        key_file=_path(tls.get("keyFile"), base, "tls.keyFile"),
        host=str(listen.get("host", "0.0.0.0")),
        port=port,
        timeout_seconds=timeout,
        deadline_margin=margin,
        gate_namespace=str(doc.get("gateNamespace", "kubeward-gate")),
        exclude_namespaces=frozenset(str(n) for n in excluded),
        no_match_policy=no_match,
        break_glass=doc.get("breakGlass") is True,
        allow_ttl=_number(
            cache.get("allowTTLSeconds"), "cache.allowTTLSeconds", 300, positive=False
        ),
        deny_ttl=_number(cache.get("denyTTLSeconds"), "cache.denyTTLSeconds", 30, positive=False),
        max_entries=int(_number(cache.get("maxEntries"), "cache.maxEntries", 10000)),
        redis_url=str(cache["redis"]) if cache.get("redis") else None,
        ledger_file=_path(ledger.get("file"), base, "ledger.file"),
        ledger_redis=str(ledger["redis"]) if ledger.get("redis") else None,
        ledger_stream=str(ledger.get("stream", "kubeward:ledger")),
        verify_threads=int(_number(doc.get("verifyThreads"), "verifyThreads", 16)),
        reload_seconds=_number(doc.get("reloadSeconds"), "reloadSeconds", 5, positive=False),
    )


def load_config(path: Path) -> GateConfig:
    """Read `path`; raises `ConfigError` naming the file and the reason."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not YAML: {exc}") from exc
    try:
        return parse_config(doc, base=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.reason}") from exc
