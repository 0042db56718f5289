"""Runtime pack (layer 6): what a cluster snapshot shows runs, against what was written,
admitted and signed (`scan --cluster`, docs/cluster.md)."""

from kubeward.rules.runtime import ephemeral_container_running as ephemeral_container_running
from kubeward.rules.runtime import pod_without_controller as pod_without_controller
from kubeward.rules.runtime import posture as posture
from kubeward.rules.runtime import (
    running_digest_differs_from_spec as running_digest_differs_from_spec,
)
from kubeward.rules.runtime import running_digest_not_admitted as running_digest_not_admitted
from kubeward.rules.runtime import running_image_side_loaded as running_image_side_loaded
from kubeward.rules.runtime import running_image_unverified as running_image_unverified
from kubeward.rules.runtime import running_tag_moved as running_tag_moved
from kubeward.rules.runtime import static_pod_running as static_pod_running
