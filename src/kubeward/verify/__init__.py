"""Cryptographic verification of signatures, attestations and provenance (`kubeward verify`).

Public API: `kubeward.verify.bundle.verify_bundle`, `kubeward.verify.provenance`,
`kubeward.verify.image.verify_images` and the CLI wiring in `kubeward.verify.cli`.
"""
