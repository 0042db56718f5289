"""The user the final image runs as."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

from kubeward.model.dockerfile import Dockerfile, Stage, substitute
from kubeward.model.image import ImageRef
from kubeward.parse.dockerfile import Instruction
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, Severity, rule

_ROOT = frozenset({"root", "0", "containeradministrator"})
_NONROOT_BASE_RE = re.compile(r"(?i)nonroot|non-root|rootless")


@lru_cache(maxsize=1)
def _base_users() -> dict[str, dict[str, str]]:
    f = resources.files("kubeward").joinpath("data", "base_image_users.json")
    entries: list[dict[str, str]] = json.loads(f.read_text("utf-8"))["images"]
    return {e["name"]: e for e in entries}


def base_user(ref: ImageRef) -> dict[str, str] | None:
    """The checked default user of a well-known base image (`user`, `source`), else None."""
    if not ref.is_resolved:
        return None
    return _base_users().get(f"{ref.registry.lower()}/{ref.repository}")


def _last_user(df: Dockerfile, stage: Stage) -> tuple[Stage, Instruction] | None:
    """The last USER in effect for a stage, following `FROM <earlier stage>`."""
    seen: set[int] = set()
    st: Stage | None = stage
    while st is not None and st.index not in seen:
        seen.add(st.index)
        users = [i for i in st.instructions if i.cmd == "USER" and i.value]
        if users:
            return st, users[-1]
        st = df.stages[st.base_stage] if st.base_stage is not None else None
    return None


def _root_stage_base(df: Dockerfile, stage: Stage) -> Stage:
    st = stage
    seen: set[int] = set()
    while st.base_stage is not None and st.index not in seen:
        seen.add(st.index)
        st = df.stages[st.base_stage]
    return st


@rule(
    id="dockerfile-final-stage-root",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://docs.docker.com/build/building/best-practices/#user",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
    ),
)
def final_stage_root(df: Dockerfile) -> Iterator[Finding]:
    """The image's final stage runs as root: no `USER`, or `USER root`/`0`/`0:0`.

    Follows `FROM <earlier stage>` to the `USER` that stage inherits. With no `USER` at all,
    the container runs as the base image's user, which the Dockerfile does not show: base
    images whose tag or name says they run unprivileged (`distroless/static:nonroot`) are
    trusted to set a user, and a small table shipped with kubeward
    (`data/base_image_users.json`) gives the default user of well-known bases, each entry with
    the place in the image's official repository it was read from (`haproxy`,
    `nginxinc/nginx-unprivileged` and `bitnami/nginx` set a non-root user and pass; `alpine`,
    `debian`, `busybox`, `python`, `php`, `ruby` run as root). For any other base the finding
    says the container runs as root *unless* the base sets a user. `USER` with a variable
    that has no literal default is not judged.

    ## Why it matters
    A process running as root in the container turns any code-execution bug, or a compromised
    dependency, into root on the container's filesystem and one kernel bug away from the
    node. Kubernetes' `runAsNonRoot: true` (required by the Restricted Pod Security Standard)
    refuses to start an image whose user is root or unset by name.

    ## Remediation
    Create an unprivileged user and switch to it (numerically, so `runAsNonRoot` can check):

        RUN useradd --uid 10001 --no-create-home app
        USER 10001:10001

    ## Example
        # bad
        USER root
        # good
        USER 10001:10001
    """
    final = df.final
    if final is None:
        return
    f = df.file
    found = _last_user(df, final)
    if found is None:
        base = _root_stage_base(df, final)
        if base.base_kind == "templated" or _NONROOT_BASE_RE.search(base.base_text):
            return
        if base.base_image is not None and _NONROOT_BASE_RE.search(base.base_image.text):
            return
        known = base_user(base.base_image) if base.base_image is not None else None
        if known is not None and known["user"] not in _ROOT:
            return  # the base sets an unprivileged user, which the stage keeps
        if base.base_kind == "scratch":
            why = "and scratch has no user, so the container runs as root (uid 0)"
        elif known is not None:
            why = f"and {base.base_text} runs as {known['user']}, so the container runs as root"
        else:
            why = f"so the container runs as root unless {base.base_text} sets a non-root user"
        yield Finding(
            f.find_span(final.base_text, first_line=final.from_instr.start_line),
            f"the final stage (FROM {final.base_text}) sets no USER, {why}",
            properties={"base_user_source": known["source"]} if known is not None else {},
        )
        return
    _, ins = found
    raw = ins.value[0]
    args = {a.name: a.default for a in df.args()}
    value = substitute(raw, args) if "$" in raw else raw
    if value is None or is_templated(value):
        return
    user = value.split(":", 1)[0].strip().lower()
    if user in _ROOT:
        yield Finding(
            f.find_span(raw, first_line=ins.start_line, last_line=ins.end_line),
            f"the final stage (FROM {final.base_text}) runs as {value}",
        )
