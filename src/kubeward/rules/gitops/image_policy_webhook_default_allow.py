"""ImagePolicyWebhook admits every image when its backend cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import ImagePolicyConfig
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._doc_links import _IPW_DOCS


@rule(
    id="image-policy-webhook-default-allow",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_IPW_DOCS,),
)
def image_policy_webhook_default_allow(conf: ImagePolicyConfig) -> Iterator[Finding]:
    """ImagePolicyWebhook admits every image when its backend cannot be reached.

    `defaultAllow: true` makes the API server admit a Pod when the image-review backend
    times out or fails.

    ## Why it matters
    An attacker who can slow down or break the image-review service (or who deploys while it
    restarts) gets any image admitted: the gate fails open.

    ## Remediation
    Fail closed:

        imagePolicy:
          kubeConfigFile: /etc/kubernetes/image-policy/kubeconfig
          defaultAllow: false
    """
    value = conf.node.get("defaultAllow")
    if value is not None and value.bool is True:
        yield Finding(
            value.span,
            f"defaultAllow: true in the {conf.where}: images are admitted when the backend fails",
        )
