"""Dockerfile pack: base images, remote code, package trust, secrets (issue 4).

The model module registers the Dockerfile providers and the `FROM` image source, so the
registry pack's image rules judge base images too.
"""

from kubeward.model import dockerfile as dockerfile_model  # noqa: F401  (providers, image source)
from kubeward.rules.dockerfile import dockerfile_add_git_unpinned as dockerfile_add_git_unpinned
from kubeward.rules.dockerfile import (
    dockerfile_add_url_without_checksum as dockerfile_add_url_without_checksum,
)
from kubeward.rules.dockerfile import (
    dockerfile_copies_key_material as dockerfile_copies_key_material,
)
from kubeward.rules.dockerfile import dockerfile_extra_index_url as dockerfile_extra_index_url
from kubeward.rules.dockerfile import (
    dockerfile_package_signature_disabled as dockerfile_package_signature_disabled,
)
from kubeward.rules.dockerfile import dockerfile_plain_http_index as dockerfile_plain_http_index
from kubeward.rules.dockerfile import (
    dockerfile_remote_code_execution as dockerfile_remote_code_execution,
)
from kubeward.rules.dockerfile import dockerfile_secret_in_env as dockerfile_secret_in_env
from kubeward.rules.dockerfile import dockerfile_secret_in_run as dockerfile_secret_in_run
from kubeward.rules.dockerfile import (
    dockerfile_tls_verification_disabled as dockerfile_tls_verification_disabled,
)
from kubeward.rules.dockerfile import (
    dockerfile_unpinned_package_install as dockerfile_unpinned_package_install,
)
from kubeward.rules.dockerfile import user as user
