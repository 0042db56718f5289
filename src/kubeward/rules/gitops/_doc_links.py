"""Links to the admission controllers' docs that several rules cite."""

from __future__ import annotations

_PC_DOCS = "https://docs.sigstore.dev/policy-controller/overview/"

_IPW_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#imagepolicywebhook"
