"""Registry & artifacts (layer 4): image references that can change under the cluster."""

from kubeward.rules.registry import image_mutable_tag as image_mutable_tag
from kubeward.rules.registry import image_not_pinned_by_digest as image_not_pinned_by_digest
