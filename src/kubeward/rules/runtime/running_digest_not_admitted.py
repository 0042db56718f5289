"""The `running-digest-not-admitted` rule: what runs is not what admission let in."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.cluster.ledger import AdmissionRecord
from kubeward.model.runtime import RunningContainer
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.runtime._multiarch import UNDECIDED, related
from kubeward.source import shorten


def _seen(records: list[AdmissionRecord]) -> str:
    r = records[-1]
    return f"{r.path}:{r.line}, {shorten(r.verdict)} at {shorten(r.time) or 'an unknown time'}"


@rule(
    id="running-digest-not-admitted",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    references=("https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/",),
)
def running_digest_not_admitted(c: RunningContainer, ctx: RuleContext) -> Iterator[Finding]:
    """Running image digest has no admitting decision in the admission ledger.

    With `--admission-ledger FILE` (the JSON lines `kubeward gate` appends), each running
    digest (`imageID`, in the repository the spec names) must have a record that admitted it
    (`allow`, `warn`, `break-glass` or a mutating `pin`). The finding points at the `imageID`
    and says which case it is: the ledger only denied or skipped that digest; the namespace's
    admitted digest for that repository is another one; or no decision names the digest at
    all. An admitted index digest and a running platform digest are reported, at medium
    severity, as undecided unless a known index (`--image-index`, `--verify-images`) settles
    it. Side-loaded images (no repo digest) are `running-image-side-loaded`'s.

    ## Why it matters
    Admission judges a digest once, when the Pod is created. A digest that runs without a
    record got in another way: created before the gate was installed, through a namespace
    or an API server the webhook does not cover, while the webhook failed open, or by a
    runtime that resolved the name to other content after admission. A running digest the
    gate denied means the gate was bypassed outright.

    ## Remediation
    Find how the Pod was created (`kubectl get pod -o yaml` `metadata.managedFields`, the API
    server's audit log). Make the webhook fail closed (`failurePolicy: Fail`) and cover every
    namespace that runs workloads; pin images by digest (the gate's mutating webhook does) so
    the kubelet pulls what was admitted; then restart the workload so it passes the gate.
    """
    view = ctx.scan.cluster
    run = c.running_ref
    if view is None or view.ledger is None or run is None or run.digest is None:
        return
    ledger = view.ledger
    names = {run.name} | ({c.image_id.repo.name} if c.image_id and c.image_id.repo else set())
    records = [r for name in sorted(names) for r in ledger.for_digest(name, run.digest)]
    if any(r.admitted for r in records):
        return
    if records:
        verdicts = ", ".join(sorted({shorten(r.verdict) for r in records}))
        yield Finding(
            c.span,
            f"{c.display} runs {run.digest}, which the admission ledger records only as "
            f"{verdicts}, never admitted (last: {_seen(records)})",
        )
        return
    admitted = list(ledger.admitted(run.name, c.pod.namespace).values())
    links = {related(ctx, r.digest, run.digest) for r in admitted if r.digest}
    if True in links:
        return
    if admitted:
        other = admitted[-1]
        msg = (
            f"{c.display} runs {run.digest}, but admission admitted {other.digest} for "
            f"{shorten(run.name)} in namespace {shorten(c.pod.namespace)} ({_seen([other])})"
        )
        if None in links:
            yield Finding(c.span, f"{msg}; {UNDECIDED}", severity=Severity.MEDIUM)
        else:
            yield Finding(c.span, msg)
        return
    where = (Related(c.spec.image_span, "the image in the spec"),) if c.spec else ()
    yield Finding(
        c.span,
        f"{c.display} runs {run.digest}, which no admission decision in the ledger names "
        "(admitted before the gate, through another path, or bypassed)",
        related=where,
    )
