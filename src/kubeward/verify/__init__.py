"""Cryptographic verification of images, signatures, attestations and provenance.

The public, typed API (documented in docs/api.md) is what this package exports; `kubeward
verify`, `kubeward scan --verify-images` and the admission gate all call it. Every other module
of the package is an implementation detail.

```python
from kubeward.verify import Deadline, PolicySet, RegistryClient, Trust, verify_image

verdict = verify_image(
    "ghcr.io/acme/api:1.2",
    PolicySet.from_file(Path("policies.yaml")),
    client=RegistryClient(),
    trust=Trust.production(),
    deadline=Deadline.after(8),
)
```

Names are loaded on first use: the scan imports this package for its rules, and need not pay
for the cryptography behind verification unless it verifies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubeward.model.image import ImageRef, parse_image
    from kubeward.verify._crypto import load_public_key_pem
    from kubeward.verify._errors import DeadlineExceeded, InputError, VerificationError
    from kubeward.verify._inputs import Deadline, PolicySet, Trust
    from kubeward.verify._model import IdentityPolicy, KeyPolicy, SignerPolicy
    from kubeward.verify.image import (
        AttachedSbom,
        ImageVerdict,
        PolicyOutcome,
        Verdict,
        VerificationReport,
        Verified,
        verify_image,
    )
    from kubeward.verify.policy import (
        AttestationRequirement,
        Authority,
        ImagePolicy,
        SlsaConditions,
        predicate_type_uri,
    )
    from kubeward.verify.registry import RegistryClient, RegistryError, RegistryOptions

_EXPORTS = {
    "ImageRef": "kubeward.model.image",
    "parse_image": "kubeward.model.image",
    "load_public_key_pem": "kubeward.verify._crypto",
    "DeadlineExceeded": "kubeward.verify._errors",
    "InputError": "kubeward.verify._errors",
    "VerificationError": "kubeward.verify._errors",
    "Deadline": "kubeward.verify._inputs",
    "PolicySet": "kubeward.verify._inputs",
    "Trust": "kubeward.verify._inputs",
    "IdentityPolicy": "kubeward.verify._model",
    "KeyPolicy": "kubeward.verify._model",
    "SignerPolicy": "kubeward.verify._model",
    "AttachedSbom": "kubeward.verify.image",
    "ImageVerdict": "kubeward.verify.image",
    "PolicyOutcome": "kubeward.verify.image",
    "Verdict": "kubeward.verify.image",
    "VerificationReport": "kubeward.verify.image",
    "Verified": "kubeward.verify.image",
    "verify_image": "kubeward.verify.image",
    "AttestationRequirement": "kubeward.verify.policy",
    "Authority": "kubeward.verify.policy",
    "ImagePolicy": "kubeward.verify.policy",
    "SlsaConditions": "kubeward.verify.policy",
    "predicate_type_uri": "kubeward.verify.policy",
    "RegistryClient": "kubeward.verify.registry",
    "RegistryError": "kubeward.verify.registry",
    "RegistryOptions": "kubeward.verify.registry",
}

__all__ = [
    "AttachedSbom",
    "AttestationRequirement",
    "Authority",
    "Deadline",
    "DeadlineExceeded",
    "IdentityPolicy",
    "ImagePolicy",
    "ImageRef",
    "ImageVerdict",
    "InputError",
    "KeyPolicy",
    "PolicyOutcome",
    "PolicySet",
    "RegistryClient",
    "RegistryError",
    "RegistryOptions",
    "SignerPolicy",
    "SlsaConditions",
    "Trust",
    "Verdict",
    "VerificationError",
    "VerificationReport",
    "Verified",
    "load_public_key_pem",
    "parse_image",
    "predicate_type_uri",
    "verify_image",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
