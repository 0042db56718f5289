"""Admission control beyond Kyverno: policy-controller, Gatekeeper, ImagePolicyWebhook, webhooks."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import Container, KubeObject, Workload
from kubeward.model.kustomize import deployed_namespaces
from kubeward.model.labels import LabelSelector, labels_of, parse_selector
from kubeward.model.policy import (
    GATEKEEPER_IMAGE_KINDS,
    ImagePolicyConfig,
    PolicyWebhook,
    gatekeeper_action,
    gatekeeper_denies,
    is_catch_all_regexp,
    is_cluster_image_policy,
    is_gatekeeper_constraint,
    static_pass,
)
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.scan_context import ScanContext

_PC_DOCS = "https://docs.sigstore.dev/policy-controller/overview/"
_IPW_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#imagepolicywebhook"


@rule(
    id="policy-controller-policy-weak",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(_PC_DOCS,),
)
def policy_controller_policy_weak(obj: KubeObject) -> Iterator[Finding]:
    """A Sigstore policy-controller `ClusterImagePolicy` admits images it does not verify.

    `mode: warn` turns a failed verification into a warning; a policy without `authorities`
    verifies nothing; an authority `static: {action: pass}` admits every matching image;
    a keyless identity whose `subjectRegExp` or `issuerRegExp` matches anything (`.*`)
    accepts a signature from anyone Fulcio issued a certificate to.

    ## Why it matters
    policy-controller admits an image when any authority of each matching policy is
    satisfied. One permissive authority or a warn-mode policy is a way through for an
    unsigned or attacker-signed image.

    ## Remediation
    Enforce, and pin the signer:

        spec:
          mode: enforce
          authorities:
            - keyless:
                identities:
                  - issuer: https://token.actions.githubusercontent.com
                    subject: https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main
    """
    if not is_cluster_image_policy(obj):
        return
    spec = obj.node.get("spec")
    if spec is None or not spec.is_map:
        return
    mode = spec.get("mode")
    if mode is not None and (mode.text or "").lower() == "warn":
        yield Finding(mode.span, f"{obj.display} is in warn mode: unverified images are admitted")
    authorities = spec.get("authorities")
    if authorities is None or not authorities.seq():
        where = authorities or spec.key_node("images") or obj.node.get("kind") or spec
        yield Finding(where.span, f"{obj.display} has no authorities: it verifies nothing")
        return
    for auth in authorities.seq():
        passing = static_pass(auth)
        if passing is not None:
            yield Finding(
                passing.span,
                f"{obj.display} has a static pass authority: every matching image is admitted",
            )
        identities = auth.dig("keyless", "identities")
        for ident in identities.seq() if identities is not None else []:
            for key in ("subjectRegExp", "issuerRegExp"):
                rx = ident.get(key)
                if rx is not None and rx.text is not None and is_catch_all_regexp(rx.text):
                    yield Finding(
                        rx.span, f"{key} {rx.text!r} in {obj.display} matches any identity"
                    )


@rule(
    id="policy-controller-no-match-allows",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(_PC_DOCS,),
)
def policy_controller_no_match_allows(obj: KubeObject) -> Iterator[Finding]:
    """policy-controller admits images that no `ClusterImagePolicy` matches.

    The `config-policy-controller` ConfigMap's `no-match-policy` decides what happens to an
    image in an opted-in namespace that no policy's glob matches: `deny` (the default)
    rejects it, `warn` and `allow` admit it.

    ## Why it matters
    With `warn` or `allow`, every image outside the globs you thought of (a new registry, a
    typo, a second repository) runs unverified.

    ## Remediation
    Keep the default:

        data:
          no-match-policy: deny
    """
    if obj.kind != "ConfigMap" or obj.name != "config-policy-controller":
        return
    value = obj.node.dig("data", "no-match-policy")
    if value is not None and (value.text or "").lower() in ("warn", "allow"):
        yield Finding(
            value.span,
            f"no-match-policy: {value.text}: images no ClusterImagePolicy matches are admitted",
        )


@rule(
    id="gatekeeper-image-constraint-not-enforced",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    references=("https://open-policy-agent.github.io/gatekeeper/website/docs/violations/",),
)
def gatekeeper_image_constraint_not_enforced(obj: KubeObject) -> Iterator[Finding]:
    """A Gatekeeper image constraint only reports violations (`dryrun` or `warn`).

    Image constraints (`K8sAllowedRepos`, `K8sAllowedReposv2`, `K8sImageDigests`,
    `K8sDisallowedTags`, Ratify's `RatifyVerification`) deny a request only with
    `enforcementAction: deny` (the default), or `scoped` with a `deny` entry in
    `scopedEnforcementActions` at the `validation.gatekeeper.sh` enforcement point. `dryrun`
    records the violation in the audit results; `warn` returns a warning to the client; both
    admit the Pod.

    ## Why it matters
    A constraint in dryrun looks like a gate in the repository and stops nothing in the
    cluster.

    ## Remediation
    Enforce once the audit results are clean:

        spec:
          enforcementAction: deny
    """
    if not is_gatekeeper_constraint(obj) or obj.kind not in GATEKEEPER_IMAGE_KINDS:
        return
    action = gatekeeper_action(obj)
    if action is None or gatekeeper_denies(obj):
        return
    yield Finding(
        action.span,
        f"{obj.display} has enforcementAction: {action.text} with no deny at admission: "
        "violating images are admitted",
    )


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


# Webhook timeouts (seconds) beyond which a policy engine slows every admission noticeably.
_LONG_TIMEOUT = 15


_NAME_LABEL = "kubernetes.io/metadata.name"


def _workload_namespaces(scan: ScanContext) -> dict[str, dict[str, str]]:
    """The namespaces the scan's workloads are deployed to (as stated, or set by Kustomize),
    with what is known of their labels: the automatic name label, and the labels of a
    `Namespace` object of the scan (None-valued keys unknown otherwise)."""
    declared = {
        str(o.name): labels_of(o.node.dig("metadata", "labels"))
        for o in scan.instances(KubeObject)
        if o.kind == "Namespace" and o.group == "" and o.name
    }
    out: dict[str, dict[str, str]] = {}
    for w in scan.instances(Workload):
        for ns in deployed_namespaces(scan, w.obj.file.rel, w.obj.namespace):
            if ns is not None and ns not in out:
                out[ns] = {**declared.get(ns, {}), _NAME_LABEL: ns}
    return out


def _selects_none(
    selector: LabelSelector, namespaces: dict[str, dict[str, str]], declared: set[str]
) -> bool:
    """Whether the selector selects none of the namespaces. For a namespace the scan does not
    declare only the name label is known: a requirement on any other key counts as met."""
    for ns, labels in namespaces.items():
        if ns in declared:
            if selector.matches(labels):
                return False
            continue
        if all(r.matches(labels) for r in selector.requirements if r.key == _NAME_LABEL):
            return False
    return True


def _selects_no_workload_namespace(
    hook: PolicyWebhook, where: str, scan: ScanContext
) -> Iterator[Finding]:
    sel_node = hook.node.get("namespaceSelector")
    selector = parse_selector(sel_node)
    if sel_node is None or selector is None or selector.templated or selector.is_empty:
        return
    namespaces = _workload_namespaces(scan)
    declared = {str(o.name) for o in scan.instances(KubeObject) if o.kind == "Namespace"}
    if not namespaces or not _selects_none(selector, namespaces, declared):
        return
    listed = ", ".join(sorted(namespaces)[:6]) + (
        f" and {len(namespaces) - 6} more" if len(namespaces) > 6 else ""
    )
    # Point at the list that excludes them when there is one (a NotIn on the name label).
    span = sel_node.span
    exprs = sel_node.get("matchExpressions")
    for expr in exprs.seq() if exprs is not None else []:
        values = expr.get("values")
        if expr.get_str("operator") == "NotIn" and values is not None:
            span = values.span
            break
    yield Finding(
        span,
        f"namespaceSelector of {where} ({selector.describe()}) selects none of the namespaces "
        f"the scan deploys workloads to ({listed}): the webhook checks none of them",
    )


@rule(
    id="policy-webhook-fails-open",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cross_file=True,
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy",
    ),
)
def policy_webhook_fails_open(hook: PolicyWebhook, ctx: RuleContext) -> Iterator[Finding]:
    """A policy engine's admission webhook fails open or exempts every namespace.

    For the webhooks of Kyverno, Gatekeeper, Sigstore policy-controller, Ratify and
    kubeward: `failurePolicy: Ignore` admits every request while the engine is down or slow;
    a `namespaceSelector` that requires `kubernetes.io/metadata.name` to not exist (every
    namespace has that label) matches no namespace, and so does one that, evaluated over the
    namespaces the scan's workloads are deployed to (a `NotIn` list of every one of them, say),
    selects none of them; a `timeoutSeconds` above 15 slows every admission and, with
    `Ignore`, widens the window in which requests are admitted unchecked.

    ## Why it matters
    An attacker who can overload or crash the policy engine (or who deploys while it
    restarts) gets anything admitted when the webhook fails open.

    ## Remediation
    Fail closed and keep the timeout short:

        webhooks:
          - name: validate.kyverno.svc-fail
            failurePolicy: Fail
            timeoutSeconds: 10
    """
    node = hook.node
    where = f"webhook {hook.name} of {hook.obj.display}"
    fp = node.get("failurePolicy")
    if fp is not None and (fp.text or "") == "Ignore":
        yield Finding(
            fp.span,
            f"{where} has failurePolicy: Ignore: requests are admitted when {hook.engine} fails",
        )
    matches_nothing = False
    for key in ("namespaceSelector", "objectSelector"):
        exprs = node.dig(key, "matchExpressions")
        for expr in exprs.seq() if exprs is not None else []:
            if expr.get_str("key") == _NAME_LABEL and expr.get_str("operator") == "DoesNotExist":
                matches_nothing = True
                yield Finding(
                    expr.span, f"{key} of {where} matches no namespace: the webhook checks nothing"
                )
    if not matches_nothing:
        yield from _selects_no_workload_namespace(hook, where, ctx.scan)
    timeout = node.get("timeoutSeconds")
    if timeout is not None and timeout.int is not None and timeout.int > _LONG_TIMEOUT:
        yield Finding(
            timeout.span,
            f"{where} waits up to {timeout.int}s per request",
            severity=Severity.LOW,
            related=(
                (Related(fp.span, "and then fails open"),)
                if fp is not None and fp.text == "Ignore"
                else ()
            ),
        )
