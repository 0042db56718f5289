"""The render worker: a child process that renders charts with Helm's engine, one at a time.

It is started by `kubeward.render.sandbox` with an address-space limit it sets on itself
before Helm's Go runtime is loaded, and is killed by its parent when a render overruns its time
budget. Requests and answers are one JSON object per line on stdin and stdout:

    {"archive": "<base64 .tgz>", "values": {...}, "set": ["a=b"], "name": "r", "namespace": "n"}
    {"manifests": {"chart/templates/x.yaml": "..."}}  or  {"error": "...", "kind": "..."}

Nothing here reads a file or the network: the chart arrives as archive bytes (so `.Files` holds
only what the parent put in it), and Helm's offline render makes `lookup` return nothing.
Runs only as `python -m kubeward.render._worker`.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import sys
from typing import Any


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values: maps merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _answer(obj: dict[str, Any], limit: int) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    if len(text) > limit:
        text = json.dumps(
            {"error": f"rendered output is over {limit} bytes; not read", "kind": "limit"}
        )
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    limit_as = int(os.environ.get("KUBEWARD_RENDER_AS", "0"))
    out_limit = int(os.environ.get("KUBEWARD_RENDER_OUT", str(32 << 20)))
    if limit_as > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        import helm_python as helm  # loaded only under the limit
    except Exception as e:  # the parent reports it once
        _answer({"error": f"helm-python-sdk cannot be loaded: {e}", "kind": "missing"}, out_limit)
        return 0
    helm.disable_logging()
    _answer({"ready": helm.helm_sdk_version()}, out_limit)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            values: dict[str, Any] = req.get("values") or {}
            for expr in req.get("set") or []:
                values = _merge(values, helm.parse_set_string(expr))
            with helm.Chart.load_archive(base64.b64decode(req["archive"])) as chart:
                manifests = chart.render(
                    values, name=req.get("name"), namespace=req.get("namespace"), is_install=True
                )
            _answer({"manifests": manifests}, out_limit)
        except helm.HelmError as e:
            _answer({"error": str(e), "kind": type(e).__name__}, out_limit)
        except Exception as e:  # a bad request is answered, never a crash of the worker
            _answer({"error": f"{type(e).__name__}: {e}", "kind": "internal"}, out_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
