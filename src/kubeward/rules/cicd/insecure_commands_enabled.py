"""insecure-commands-enabled: `ACTIONS_ALLOW_UNSECURE_COMMANDS` re-enables `set-env`/`add-path`."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.workflow import Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Severity, rule


def _truthy(n: YNode) -> bool:
    return n.bool is True or (n.text or "").strip().lower() in ("true", "1", "yes")


@rule(
    id="insecure-commands-enabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
    ),
)
def insecure_commands_enabled(wf: Workflow) -> Iterator[Finding]:
    """`ACTIONS_ALLOW_UNSECURE_COMMANDS` re-enables `set-env` and `add-path`.

    The deprecated workflow commands let any text a step prints to its log set environment
    variables and `PATH` for later steps. Anything that ends up in the log (a PR title, a
    dependency's output) can then inject `LD_PRELOAD`, `NODE_OPTIONS` or a path to a hostile
    binary.

    ## Why it matters
    GitHub disabled these commands in 2020 because of this injection (CVE-2020-15228).

    ## Remediation
    Remove the variable and write to `$GITHUB_ENV` and `$GITHUB_PATH` files instead:

        run: echo "DIR=$PWD/bin" >> "$GITHUB_ENV"
    """
    envs: list[YNode] = [e for e in (wf.env, *(j.env for j in wf.jobs)) if e is not None]
    envs += [s.env for j in wf.jobs for s in j.steps if s.env is not None]
    for env in envs:
        for k, v in env.items():
            if k.is_scalar and k.value == "ACTIONS_ALLOW_UNSECURE_COMMANDS" and _truthy(v):
                yield Finding(
                    k.span, "ACTIONS_ALLOW_UNSECURE_COMMANDS re-enables set-env and add-path"
                )
