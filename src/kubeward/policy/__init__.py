"""Admission policies: which policy selects an image, and whose signature satisfies it.

One package for the scan (`kubeward scan`'s coverage rule, through `kubeward.model.policy`) and
for `kubeward verify --policy`, so that the two never disagree about which policy applies to an
image or which signer identity it accepts:

- `policy_controller`: Sigstore policy-controller's `ClusterImagePolicy` image globs.
- `kyverno`: Kyverno's image-reference matching (`verifyImages` wildcards and the gobwas globs
  of `ImageValidatingPolicy`).
- `identity`: keyless identity regular expressions, with cosign's semantics (Go RE2,
  unanchored `MatchString`).

OPA Gatekeeper has no image patterns of its own to match here: a `RatifyVerification`
constraint verifies every image of the objects it matches (by namespace and labels, which
`kubeward.model.policy` evaluates), and `K8sAllowedRepos` restricts where images come from by
plain prefix (`startswith`) without verifying any signature.
"""
