"""`kubeward gate`: the admission gate.

An ImagePolicyWebhook backend (`ImageReview`), a validating and a digest-mutating admission
webhook (`AdmissionReview` v1), a decision cache keyed by digest (in-process or Redis), an
admission ledger and Prometheus metrics, served over TLS by uvicorn.

The request handling (`review`) and the decisions (`decide`) depend only on the small
`ImageVerifier` protocol in `model`; `_verifier` is the one module that calls the
verification core.
"""
