"""A live read of a cluster through a kubeconfig, into the same dump files a snapshot gives.

Uses the `kubernetes` client (the `cluster` extra) for what it does well and what is easy to
get wrong: the kubeconfig (contexts, CA data, client certificates, tokens, exec and auth-
provider plugins) and TLS. Each kind is listed with `GET` on its collection across all
namespaces, a page at a time (`limit`, then `continue` until the server returns none), read as
raw JSON: no model classes, so custom resources (Kyverno, policy-controller, Flux, Argo CD)
keep every field. An API server omits `apiVersion` and `kind` in list items; they are set
from the list as `kubectl get -o json` does, and each kind is written as one `kind: List`
JSON file, then scanned exactly like a snapshot (the findings' lines are in those files).

A kind the server does not serve (a CRD that is not installed: 404) is skipped; one the
credentials may not list (403) or that fails is an error entry, and the read goes on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeward.discover import Discovered
from kubeward.source import FileKind, ScanError


@dataclass(frozen=True, slots=True)
class Resource:
    group_version: str
    plural: str
    namespaced: bool = True

    @property
    def path(self) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        return f"{base}/{self.plural}"

    @property
    def file_name(self) -> str:
        group = self.group_version.rpartition("/")[0] or "core"
        return f"{group}/{self.plural}.json"


RESOURCES = (
    Resource("v1", "namespaces", False),
    Resource("v1", "nodes", False),
    Resource("v1", "pods"),
    Resource("v1", "serviceaccounts"),
    Resource("v1", "configmaps"),
    Resource("apps/v1", "deployments"),
    Resource("apps/v1", "replicasets"),
    Resource("apps/v1", "statefulsets"),
    Resource("apps/v1", "daemonsets"),
    Resource("batch/v1", "jobs"),
    Resource("batch/v1", "cronjobs"),
    Resource("rbac.authorization.k8s.io/v1", "roles"),
    Resource("rbac.authorization.k8s.io/v1", "rolebindings"),
    Resource("rbac.authorization.k8s.io/v1", "clusterroles", False),
    Resource("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    Resource("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", False),
    Resource("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", False),
    Resource("kyverno.io/v1", "clusterpolicies", False),
    Resource("kyverno.io/v1", "policies"),
    Resource("policy.sigstore.dev/v1beta1", "clusterimagepolicies", False),
    Resource("source.toolkit.fluxcd.io/v1", "gitrepositories"),
    Resource("source.toolkit.fluxcd.io/v1beta2", "ocirepositories"),
    Resource("argoproj.io/v1alpha1", "applications"),
    Resource("argoproj.io/v1alpha1", "appprojects"),
)
"""What a live read lists: the kinds the rules read (Secrets never)."""

PAGE_LIMIT = 500
MAX_PAGES = 10_000
MAX_RESOURCE_BYTES = 256 * 1024 * 1024
"""A kind larger than this is cut (an error entry says so): the read stays bounded."""

UNREACHABLE = "API server not usable"
"""A problem that every further request would meet too: the read stops there."""

Getter = Callable[[str, dict[str, str]], tuple[int, bytes]]
"""GET a path with query parameters: (HTTP status, body)."""


class LiveReadError(ValueError):
    """The kubeconfig cannot be used (missing, no such context, the client not installed)."""


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:100] or "cluster"


def client_getter(kubeconfig: Path | None, context: str | None) -> tuple[Getter, str]:
    """A GET function through the kubeconfig's credentials, and the context's name."""
    try:
        from kubernetes import config as kconfig
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise LiveReadError(
            "--kubeconfig needs the kubernetes client: pip install 'kubeward[cluster]'"
        ) from None
    path = str(kubeconfig) if kubeconfig is not None else None
    if path is not None and not os.path.isfile(path):
        raise LiveReadError(f"{path}: no such kubeconfig file")
    try:
        contexts, active = kconfig.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        chosen = context or (active or {}).get("name")
        if context is not None and context not in {c.get("name") for c in contexts or []}:
            raise LiveReadError(f"{path or 'kubeconfig'}: no context named {context!r}")
        api = kconfig.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, persist_config=False
        )
    except ConfigException as e:
        raise LiveReadError(f"{path or 'kubeconfig'}: {e}") from None

    def get(resource_path: str, query: dict[str, str]) -> tuple[int, bytes]:
        method, url, headers, _body, _post = api.param_serialize(
            method="GET",
            resource_path=resource_path,
            query_params=list(query.items()),
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            resp = api.call_api(method, url, header_params=headers, _request_timeout=(10, 60))
            data = resp.read()
            return resp.status, data if isinstance(data, bytes) else bytes(data or b"")
        except ApiException as e:
            return int(e.status or 0), (e.body or "").encode() if isinstance(e.body, str) else b""

    return get, str(chosen or "cluster")


def _list_all(get: Getter, res: Resource) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Every item of a kind (apiVersion and kind set), the list's kind, and a problem."""
    items: list[dict[str, Any]] = []
    token = ""
    size = 0
    list_kind = None
    for _ in range(MAX_PAGES):
        query = {"limit": str(PAGE_LIMIT)}
        if token:
            query["continue"] = token
        try:
            status, body = get(res.path, query)
        except Exception as e:  # connection refused, TLS, timeouts: one line, the read goes on
            return items, list_kind, f"{UNREACHABLE}: {type(e).__name__}: {e}"
        if status == 404 and not items:
            return [], None, None  # not served here (a CRD that is not installed)
        if status != 200:
            if status == 401:
                return items, list_kind, f"{UNREACHABLE}: 401 unauthorized (check the credentials)"
            why = {403: "forbidden"}.get(status, f"HTTP {status}")
            return items, list_kind, f"cannot list: {why}"
        size += len(body)
        if size > MAX_RESOURCE_BYTES:
            return items, list_kind, f"more than {MAX_RESOURCE_BYTES} bytes; the rest not read"
        try:
            page = json.loads(body)
        except (ValueError, RecursionError):
            return items, list_kind, "the server's answer is not JSON"
        if not isinstance(page, dict) or not isinstance(page.get("items", []), list):
            return items, list_kind, "the server's answer is not a list"
        list_kind = str(page.get("kind") or "")
        kind = list_kind.removesuffix("List") or None
        for item in page.get("items") or []:
            if isinstance(item, dict):
                item.setdefault("apiVersion", page.get("apiVersion") or res.group_version)
                if kind:
                    item.setdefault("kind", kind)
                items.append(item)
        meta = page.get("metadata")
        token = str(meta.get("continue") or "") if isinstance(meta, dict) else ""
        if not token:
            return items, list_kind, None
    return items, list_kind, f"more than {MAX_PAGES} pages; the rest not read"


def read_live(
    get: Getter, context: str, out_dir: Path, *, shown_prefix: str | None = None
) -> tuple[list[Discovered], list[ScanError]]:
    """List every kind of `RESOURCES` into `out_dir/<group>/<plural>.json`; the files as scan
    items (shown as `<shown_prefix>/<group>/<plural>.json`) and the problems met."""
    prefix = shown_prefix if shown_prefix is not None else f"cluster/{_safe_name(context)}"
    found: list[Discovered] = []
    errors: list[ScanError] = []
    for res in RESOURCES:
        items, _, problem = _list_all(get, res)
        shown = f"{prefix}/{res.file_name}"
        if problem is not None and problem.startswith(UNREACHABLE):
            errors.append(ScanError(f"{prefix}", f"{context}: {problem}; nothing more read"))
            break
        if problem is not None:
            errors.append(ScanError(shown, f"{context}: {res.path}: {problem}"))
        if not items:
            continue
        target = out_dir / res.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        found.append(
            Discovered(
                shown,
                str(target.resolve()),
                FileKind.YAML,
                target.stat().st_size,
                str(out_dir.resolve()),
            )
        )
    return found, errors
