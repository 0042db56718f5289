"""Registry & artifacts (layer 4): image references that can change under the cluster."""

from kubeward.model import compose as compose_model  # noqa: F401  (Compose services' images)
from kubeward.rules.registry import image_deprecated_registry as image_deprecated_registry
from kubeward.rules.registry import image_mutable_tag as image_mutable_tag
from kubeward.rules.registry import image_not_pinned_by_digest as image_not_pinned_by_digest
from kubeward.rules.registry import image_registry_not_allowed as image_registry_not_allowed
from kubeward.rules.registry import image_typosquat as image_typosquat
from kubeward.rules.registry import image_unresolved as image_unresolved
