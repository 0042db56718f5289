"""Kept only for `kubeward.rules.cicd.ci_env_tls_verification_disabled`, which imports
`tls_env_note` from here: the package-trust rules now live one per module
(`dockerfile_*.py`). Delete this module once that import reads
`from kubeward.rules.dockerfile._tls import tls_env_note`."""

from kubeward.rules.dockerfile._tls import tls_env_note as tls_env_note
