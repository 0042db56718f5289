"""The kube-apiserver static Pod does not enable the ImagePolicyWebhook admission plugin."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import Container
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._doc_links import _IPW_DOCS


def _flags(c: Container) -> list[tuple[str, str, object]]:
    """(`--flag`, value, node) for each `--flag=value` in a container's command and args."""
    out: list[tuple[str, str, object]] = []
    for key in ("command", "args"):
        node = c.node.get(key)
        for item in node.seq() if node is not None else []:
            text = item.text or ""
            if text.startswith("--"):
                flag, _, value = text.partition("=")
                out.append((flag, value, item))
    return out


@rule(
    id="kube-apiserver-image-policy-webhook-missing",
    layer=Layer.ADMISSION,
    severity=Severity.LOW,
    cis=("5.5.1",),
    references=(
        _IPW_DOCS,
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
    ),
)
def kube_apiserver_image_policy_webhook_missing(c: Container) -> Iterator[Finding]:
    """The kube-apiserver static Pod does not enable the ImagePolicyWebhook admission plugin.

    CIS Kubernetes Benchmark 5.5.1 asks for image provenance through the ImagePolicyWebhook
    admission controller: `--enable-admission-plugins` must list `ImagePolicyWebhook`, and
    `--admission-control-config-file` must point at its configuration, or the plugin has no
    backend to ask. The control is manual and Level 2 in the benchmark, and clusters that
    verify images with a webhook policy engine instead (Kyverno, policy-controller, Ratify)
    meet its aim another way, hence the low severity; disable the rule there.

    ## Why it matters
    Without an image admission check in the API server, nothing at the control plane stops
    an image that no one reviewed.

    ## Remediation
    Enable the plugin with its configuration:

        - --enable-admission-plugins=NodeRestriction,ImagePolicyWebhook
        - --admission-control-config-file=/etc/kubernetes/admission/admission-config.yaml
    """
    if c.workload.kind != "Pod":
        return
    command = c.node.get("command")
    texts = [i.text or "" for i in (command.seq() if command is not None else [])]
    if not any(t.rsplit("/", 1)[-1] == "kube-apiserver" for t in texts):
        return
    flags = _flags(c)
    plugins = [(v, n) for f, v, n in flags if f == "--enable-admission-plugins"]
    config = [n for f, _, n in flags if f == "--admission-control-config-file"]
    anchor = command.span if command is not None else c.node.span
    if not plugins or not any("ImagePolicyWebhook" in v.split(",") for v, _ in plugins):
        span = plugins[0][1].span if plugins else anchor  # type: ignore[attr-defined]
        yield Finding(
            span, "kube-apiserver does not enable the ImagePolicyWebhook admission plugin"
        )
        return
    if not config:
        yield Finding(
            plugins[0][1].span,  # type: ignore[attr-defined]
            "ImagePolicyWebhook is enabled but --admission-control-config-file is missing",
        )
