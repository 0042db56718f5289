"""Admission policies: which policy selects an image, and whose signature satisfies it.

One package for the scan (`kubeward scan`'s coverage rule, through `kubeward.model.policy`) and
for `kubeward verify --policy`, so that the two never disagree about which policy applies to an
image or which signer identity it accepts:

- `policy_controller`: Sigstore policy-controller's `ClusterImagePolicy` image globs.
- `kyverno`: Kyverno's image-reference matching (`verifyImages` wildcards and the gobwas globs
  of `ImageValidatingPolicy`) and its namespace wildcards.
- `gatekeeper`: OPA Gatekeeper's namespace wildcards (`match.namespaces`). Gatekeeper has no
  image patterns of its own: a `RatifyVerification` constraint verifies every image of the
  objects it matches, and `K8sAllowedRepos` compares images by plain prefix.
- `identity`: keyless identity regular expressions, with cosign's semantics (Go RE2,
  unanchored `MatchString`).
"""
