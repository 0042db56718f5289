"""Coverage across documents: which workload images no enforcing verification policy covers."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from kubeward.model.images import ImageUse
from kubeward.model.policy import (
    POLICY_CONTROLLER,
    PolicyCoverage,
    Target,
    VerificationPolicy,
)
from kubeward.policy import policy_controller
from kubeward.policy.kyverno import kyverno_forms
from kubeward.registry import Finding, Layer, Related, Severity, report_section, rule
from kubeward.results import Section
from kubeward.scan_context import ScanContext


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _nearest(policies: tuple[VerificationPolicy, ...], use: ImageUse) -> VerificationPolicy | None:
    """The policy closest to an image: the pattern sharing the longest prefix with the image's
    name, then the same file, then the deepest shared directory."""
    if not policies:
        return None
    return min(policies, key=_score(use))


def _names(use: ImageUse) -> tuple[str, ...]:
    return (*kyverno_forms(use.ref), policy_controller.reference_name(use.ref))


def _score(use: ImageUse) -> Callable[[VerificationPolicy], tuple[int, int, int, str, int]]:
    names = _names(use)
    image_dir = use.span.path.rsplit("/", 1)[0].split("/")

    def score(p: VerificationPolicy) -> tuple[int, int, int, str, int]:
        prefix = max((_common_prefix(pat.text, n) for pat in p.patterns for n in names), default=0)
        pdir = p.span.path.rsplit("/", 1)[0].split("/")
        shared = _common_prefix(image_dir, pdir)  # type: ignore[arg-type]
        same = p.span.path == use.span.path
        return (-prefix, -int(same), -shared, p.span.path, p.span.start.line)

    return score


class _NearestIndex:
    """`_nearest` over one set of policies without scoring each one for each image.

    The longest prefix a pattern shares with a name is found beside the name in the sorted
    patterns (bisect); only the policies reaching it are scored. When no pattern shares a
    character, every policy ties on it, and the rest of the score depends on the policy's file
    only: the first policy at the lowest line of each file stands for that file, and the
    answer is kept per image file. The result is `_nearest`'s (tests/test_scaling.py)."""

    def __init__(self, policies: tuple[VerificationPolicy, ...]) -> None:
        self.policies = policies
        pairs = sorted((pat.text, i) for i, p in enumerate(policies) for pat in p.patterns)
        self.texts = [t for t, _ in pairs]
        self.owners = [i for _, i in pairs]
        first_per_file: dict[str, int] = {}
        for i, p in enumerate(policies):
            j = first_per_file.get(p.span.path)
            if j is None or p.span.start.line < policies[j].span.start.line:
                first_per_file[p.span.path] = i
        self.per_file = tuple(policies[i] for i in sorted(first_per_file.values()))
        self.no_prefix: dict[str, VerificationPolicy | None] = {}

    def nearest(self, use: ImageUse) -> VerificationPolicy | None:
        if not self.policies:
            return None
        names = _names(use)
        best = 0
        for n in names:
            i = bisect_left(self.texts, n)
            for j in (i - 1, i):
                if 0 <= j < len(self.texts):
                    best = max(best, _common_prefix(self.texts[j], n))
        if best == 0:
            path = use.span.path
            if path not in self.no_prefix:
                self.no_prefix[path] = _nearest(self.per_file, use)
            return self.no_prefix[path]
        tied: set[int] = set()
        for n in names:
            head = n[:best]
            if len(head) < best:
                continue
            j = bisect_left(self.texts, head)
            while j < len(self.texts) and self.texts[j].startswith(head):
                tied.add(self.owners[j])
                j += 1
        return _nearest(tuple(self.policies[i] for i in sorted(tied)), use)


def _glob_hint(p: VerificationPolicy, use: ImageUse) -> str:
    """policy-controller's `*` stops at `/`: say so when `**` would have matched."""
    if p.engine != POLICY_CONTROLLER or p.covering(use.ref) is not None:
        return ""  # the glob matches: something else (its `spec.match`) left the image out
    for pat in p.patterns:
        if "*" in pat.text and "**" not in pat.text:
            wider = pat.text.replace("*", "**")
            if policy_controller.selects(wider, use.ref):
                return f" (its glob {pat.text} stops at '/'; {wider} would match)"
    return ""


@rule(
    id="image-not-covered-by-verification-policy",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    cross_file=True,
    references=(
        "https://kyverno.io/docs/writing-policies/verify-images/",
        "https://docs.sigstore.dev/policy-controller/overview/",
        "https://ratify.dev/docs/quickstarts/quickstart-manifests",
    ),
)
def image_not_covered_by_verification_policy(cov: PolicyCoverage) -> Iterator[Finding]:
    """A workload runs an image that no enforcing signature-verification policy covers.

    kubeward collects every image the workloads of the scan run and every image pattern that
    an enforcing verification policy of the scan covers: Kyverno `verifyImages`
    `imageReferences` (where `*` also matches `/`), Kyverno `ImageValidatingPolicy`
    `matchImageReferences` globs (gobwas globs: `*` also matches `/`, `{a,b}` and `[...]`
    work; an empty list matches every image) when its `validationActions` include `Deny` or
    are left to their default, Sigstore policy-controller
    `ClusterImagePolicy` `images[].glob` (where `*` stops at `/` and `**` does not), and
    Gatekeeper `RatifyVerification` constraints. Each image that no enforcing policy matches
    is reported at the image, with the nearest policy as a related location: an audit-only
    or warn-mode policy is named as such. One finding per image and verdict: further uses of
    the same image (other workloads, other files) are listed in the message and as related
    locations rather than reported again. When workloads exist but the scan holds no
    verification policy at all, this is said once. Namespaces named by a policy (a namespaced
    Kyverno `Policy`, `namespaces` in its match and exclude blocks, Gatekeeper
    `match.namespaces` and `excludedNamespaces`) count when the workload states its namespace,
    and so does policy-controller's opt-in: a `Namespace` of the scan without the label
    `policy.sigstore.dev/include: "true"` is not checked by it (when the scan holds
    policy-controller's ValidatingWebhookConfiguration, its `namespaceSelector` decides
    instead: an opt-out selector, for instance). A policy-controller `spec.match` limits the
    policy to what its entries name (`group`, `version` or `*`, `resource`), as its webhook
    compares them: the workload object (with its own labels), the ReplicaSet of a Deployment
    or the Job of a CronJob, and the pods (with the pod template's labels); an entry's
    `selector` must match that object's labels, and a policy whose entries name only other
    resources (`configmaps`, say) covers nothing. Kyverno label conditions are
    evaluated: `selector` against the workload's and its pod template's labels, and
    `namespaceSelector` against the labels of the `Namespace` when the scan declares it (else
    it is taken to match), in `match` (`any`/`all`) and `exclude` blocks, and likewise a
    Gatekeeper constraint's `match.labelSelector` and `match.namespaceSelector`; a
    `validationFailureActionOverrides` entry with action `Audit` for the namespace (by name or
    `namespaceSelector`) makes the policy not enforcing there. The namespace is the one the
    workload is deployed to, a Kustomize `namespace:` included. An ImageValidatingPolicy's
    `matchConstraints` `namespaceSelector` and `objectSelector` are evaluated the same way, and
    one whose `resourceRules` name no pods or workloads covers nothing; its CEL `expression`
    entries cannot be evaluated statically, so they cover nothing for certain, and the
    related location says so when that policy is the nearest.

    ## Why it matters
    This is the question an attacker answers first: *which image would an unsigned copy get
    through the gate for?* A policy for `ghcr.io/acme/*` does not protect
    `docker.io/acme/worker`, and a policy-controller glob `ghcr.io/acme/*` does not match
    `ghcr.io/acme/team/api`.

    ## Remediation
    Extend an enforcing policy to the image, or add one:

        verifyImages:
          - imageReferences: ["ghcr.io/acme/*", "docker.io/acme/*"]
            failureAction: Enforce
    """
    if not cov.images:
        return
    if not cov.policies:
        first = min(cov.images, key=lambda u: (u.span.path, u.span.start.line))
        n_files = len({u.span.path for u in cov.images})
        yield Finding(
            first.span,
            f"{len(cov.images)} workload images in {n_files} files and no image signature "
            "verification policy (Kyverno verifyImages, policy-controller ClusterImagePolicy, "
            "Ratify) anywhere in the scan: any unsigned image is admitted",
        )
        return
    # One finding per image and verdict: the same unsigned image in a hundred pods is one gap
    # to close in a policy. It sits at the first use; the other uses are related locations.
    groups: dict[tuple[str, str], list[tuple[ImageUse, Finding]]] = {}
    enforcing = tuple(p for p in cov.policies if p.enforcing)
    near = _NearestIndex(enforcing or cov.policies)
    for use in cov.images:
        for target in cov.targets_of(use):
            where = use.where + (f" (namespace {target.namespace})" if _moved(use, target) else "")
            found = _uncovered(cov, use, target, where, near)
            if found is not None:
                key = (use.ref.text, found.message.replace(f" in {where} ", " ", 1))
                groups.setdefault(key, []).append((use, found))
                break  # one verdict per image use: the first namespace it is not gated in
    for members in groups.values():
        yield _grouped(members)


_MAX_OTHER_USES = 5


def _grouped(members: list[tuple[ImageUse, Finding]]) -> Finding:
    members.sort(key=lambda m: (m[0].span.path, m[0].span.start.line))
    use, first = members[0]
    others = members[1:]
    if not others:
        return first
    shown = ", ".join(f"{u.span.path}:{u.span.start.line}" for u, _ in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    related = (
        *first.related,
        *(
            Related(u.span, f"{u.ref.text} also runs here: {u.where}")
            for u, _ in others[:_MAX_OTHER_USES]
        ),
    )
    return Finding(
        first.span,
        f"{first.message} (the same for {len(others)} more use(s) of {use.ref.text}: "
        f"{shown}{more})",
        related=related,
        properties={"uses": len(members)},
    )


def _uncovered(
    cov: PolicyCoverage, use: ImageUse, target: Target, where: str, near_index: _NearestIndex
) -> Finding | None:
    matches = cov.covering(use.ref, target=target)
    if any(p.enforcing for p, _ in matches):
        return None
    name = use.ref.text
    if matches:
        p, pattern = matches[0]
        span = p.mode_span or p.span
        return Finding(
            use.span,
            f"{name} in {where} is covered only by {p.display} ({pattern}), which does "
            f"not enforce ({p.not_enforcing_why}): an unsigned copy is admitted",
            related=(Related(span, f"{p.display}: {p.not_enforcing_why}"),),
        )
    namespace = target.namespace
    opted_out = [  # only the policies that can match the image (`PolicyCoverage.candidates`)
        p
        for p in cov.candidates(use.ref)
        if p.enforcing
        and cov.skipped_by_opt_in(p, namespace)
        and p.covering(use.ref, target=target)
    ]
    if opted_out:
        p = opted_out[0]
        return Finding(
            use.span,
            f"{name} in {where} matches {p.display}, but namespace {namespace} does not "
            f"opt in to policy-controller ({cov.opt_in}): an unsigned copy is admitted",
            related=(
                Related(p.span, f"{p.display} applies only in opted-in namespaces"),
                *(
                    (Related(cov.opt_in_span, "decides which namespaces opt in"),)
                    if cov.opt_in_span is not None
                    else ()
                ),
            ),
        )
    related: list[Related] = []
    near = near_index.nearest(use)
    if near is not None:
        related.append(
            Related(
                near.span,
                f"nearest verification policy {near.display} covers {_scope(near)}"
                + _glob_hint(near, use),
            )
        )
    for c in cov.repo_constraints[:3]:
        related.append(
            Related(c.kind_span, f"{c.display} restricts repositories but verifies no signature")
        )
    return Finding(
        use.span,
        f"{name} in {where} is not covered by any enforcing image verification policy: "
        "an unsigned copy is admitted",
        related=tuple(related),
    )


def _scope(p: VerificationPolicy) -> str:
    """What a policy covers, for a related location's label."""
    pats = ", ".join(x.text for x in p.patterns) or (
        "every image" if p.match_all or not p.expressions else "no image for certain"
    )
    if p.expressions:
        shown = "; ".join(x.text for x in p.expressions[:2])
        pats += f" (CEL matchImageReferences not evaluated statically: {shown})"
    if p.resource_matches:
        pats += f" for {'; '.join(m.describe() for m in p.resource_matches[:3])}"
    if p.namespaces is not None:
        pats += f" in namespaces {', '.join(sorted(p.namespaces))}"
    if p.excluded_namespaces:
        pats += f" except namespaces {', '.join(sorted(p.excluded_namespaces))}"
    conditions = [s for s in (*p.select_any, *p.select_all) if s.constrains]
    for sel in conditions[:2]:
        if sel.selector is not None:
            pats += f" selecting labels {sel.selector.describe()}"
        if sel.namespace_selector is not None:
            pats += f" in namespaces labelled {sel.namespace_selector.describe()}"
    for sel in p.exclude_selections[:2]:
        if sel.selector is not None:
            pats += f" except labels {sel.selector.describe()}"
        if sel.namespace_selector is not None:
            pats += f" except in namespaces labelled {sel.namespace_selector.describe()}"
    return pats


def _moved(use: ImageUse, target: Target) -> bool:
    """Whether the namespace differs from what the manifest says (Kustomize set it)."""
    c = use.container
    return c is not None and target.namespace != c.workload.obj.namespace


@report_section
def coverage_section(ctx: ScanContext) -> Iterator[Section]:
    """One row per workload image: which enforcing policy covers it, or why none does.

    Only when the scan holds a verification policy: without one, the finding says it all."""
    (cov,) = ctx.instances(PolicyCoverage)
    if not cov.policies or not cov.images:
        return
    rows: dict[str, dict[str, object]] = {}
    for use in cov.images:
        key = use.ref.text
        if key in rows:
            rows[key]["uses"] = int(str(rows[key]["uses"])) + 1
            continue
        matches = cov.covering(use.ref, target=cov.targets_of(use)[0])
        enforced = [(p, pat) for p, pat in matches if p.enforcing]
        if enforced:
            p, pat = enforced[0]
            status, policy = "enforced", f"{p.display}: {pat}"
        elif matches:
            p, pat = matches[0]
            status, policy = "not enforced", f"{p.display}: {pat} ({p.not_enforcing_why})"
        else:
            status, policy = "uncovered", ""
        rows[key] = {
            "image": key,
            "status": status,
            "policy": policy,
            "first use": f"{use.span.path}:{use.span.start.line}",
            "uses": 1,
        }
    yield Section(
        "image-verification-coverage",
        "Image signature verification coverage of workload images",
        sorted(rows.values(), key=lambda r: (r["status"] == "enforced", str(r["image"]))),
    )
