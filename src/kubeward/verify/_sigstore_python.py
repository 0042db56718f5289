"""The sigstore-python route: used for the bundles it supports, as the reference engine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from kubeward.verify._errors import VerificationError
from kubeward.verify._model import ArtifactRef, Evidence, IdentityPolicy, SignerPolicy

_SUPPORTED_ENTRIES = frozenset(
    {("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2"), ("dsse", "0.0.1")}
)


def supports(ev: Evidence, policy: SignerPolicy) -> bool:
    """Can sigstore-python verify this material under this policy?

    Not: key-based material, identity regular expressions, several accepted identities or
    extra extension checks, Rekor `intoto` entries, anything without exactly one log entry.
    """
    return (
        ev.certificate is not None
        and isinstance(policy, IdentityPolicy)
        and policy.identity is not None
        and policy.issuer is not None
        and policy.identity_regexp is None
        and policy.issuer_regexp is None
        and not policy.extensions
        and not policy.alternatives
        and len(ev.tlog_entries) == 1
        and all((e.kind, e.version) in _SUPPORTED_ENTRIES for e in ev.tlog_entries)
    )


def _closed_intervals(root_json: bytes) -> bytes:
    """Trusted-root validity periods are closed; sigstore-python treats a TSA's end as open.

    Moving each TSA `end` forward by one microsecond (the resolution of the times it
    compares) turns the closed interval into the half-open one it checks, exactly.
    """
    doc = json.loads(root_json)
    for authority in doc.get("timestampAuthorities") or []:
        valid = authority.get("validFor") or {}
        end = valid.get("end")
        if isinstance(end, str):
            when = datetime.fromisoformat(end.replace("Z", "+00:00")) + timedelta(microseconds=1)
            valid["end"] = when.isoformat().replace("+00:00", "Z")
    return json.dumps(doc).encode()


def verify(
    *,
    bundle_json: bytes,
    root_json: bytes,
    policy: IdentityPolicy,
    artifact: ArtifactRef,
) -> tuple[str, bytes] | None:
    """Verify with sigstore-python; returns the DSSE (type, payload) for envelopes."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity
    from sigstore_models.common.v1 import HashAlgorithm
    from sigstore_models.trustroot import v1 as trustroot_v1

    assert policy.identity is not None and policy.issuer is not None
    try:
        root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(_closed_intervals(root_json)))
        bundle = Bundle.from_json(bundle_json)
        verifier = Verifier(trusted_root=root)
        identity = Identity(identity=policy.identity, issuer=policy.issuer)
        if bundle._dsse_envelope is not None:
            payload_type, payload = verifier.verify_dsse(bundle, identity)
            return str(payload_type), bytes(payload)
        input_: Any = (
            artifact.data
            if artifact.data is not None
            else Hashed(algorithm=HashAlgorithm.SHA2_256, digest=artifact.sha256)
        )
        verifier.verify_artifact(input_, bundle, identity)
        return None
    except SigstoreError as exc:
        raise VerificationError(f"sigstore-python: {_one_line(exc)}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise VerificationError(f"sigstore-python rejected the bundle: {_one_line(exc)}") from exc


def _one_line(exc: Exception) -> str:
    """sigstore-python's (pydantic's) messages span lines; a reason is one line."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())[:300]
