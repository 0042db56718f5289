"""A Gatekeeper `K8sAllowedRepos` prefix admits lookalike registries and repositories."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_gatekeeper_constraint
from kubeward.registry import Finding, Layer, Severity, rule


def _lookalike(prefix: str) -> str | None:
    """A host or repository that `startswith(image, prefix)` admits but the author did not mean."""
    if not prefix or prefix[-1] in "/:@" or "*" in prefix:
        return None
    last = prefix.rsplit("/", 1)[-1]
    if "/" not in prefix and ":" in prefix:
        hostname, _, port = prefix.partition(":")
        if port.isdigit() and ("." in hostname or hostname == "localhost"):
            return f"{prefix}0/app"  # another port of the host
    if ":" in last or "@" in last:
        return None  # a tag prefix: `nginx:1.2` admitting `nginx:1.25` is a lesser matter
    if "/" not in prefix:
        is_host = "." in prefix or ":" in prefix or prefix == "localhost"
        return f"{prefix}.evil.example/app" if is_host else f"{prefix}-evil/app"
    return f"{prefix}-evil/app"


@rule(
    id="gatekeeper-allowed-repo-lookalike",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(
        "https://open-policy-agent.github.io/gatekeeper-library/website/validation/allowedrepos",
    ),
)
def gatekeeper_allowed_repo_lookalike(obj: KubeObject) -> Iterator[Finding]:
    """A Gatekeeper `K8sAllowedRepos` prefix admits lookalike registries and repositories.

    `K8sAllowedRepos` admits an image when it *starts with* one of `parameters.repos`. A
    prefix that does not end in `/` admits any host or repository that extends it:
    `registry.example.com` admits `registry.example.com.evil.io/app`, and `acme` admits
    `acme-evil/app` on Docker Hub.

    ## Why it matters
    Registering a lookalike domain or Docker Hub namespace is cheap; the allowlist then
    admits the attacker's images as if they came from your registry.

    ## Remediation
    End every prefix with `/`:

        parameters:
          repos: ["registry.example.com/", "ghcr.io/acme/"]
    """
    if not is_gatekeeper_constraint(obj) or obj.kind != "K8sAllowedRepos":
        return
    repos = obj.node.dig("spec", "parameters", "repos")
    for item in repos.seq() if repos is not None else []:
        text = item.text
        if text is None or item.is_templated:
            continue
        example = _lookalike(text)
        if example is not None:
            yield Finding(
                item.span,
                f"allowed prefix {text!r} of {obj.display} also admits {example}; end it with '/'",
            )
