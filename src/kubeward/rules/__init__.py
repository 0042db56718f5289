"""Every rule pack, imported by name: importing a pack registers its rules and providers."""

from kubeward.rules import cicd as cicd  # layers 2-3: pipelines and the evidence they leave
from kubeward.rules import dockerfile as dockerfile  # layers 2-4: build files
from kubeward.rules import gitops as gitops  # layers 1, 5, 6: GitOps, admission, runtime, git
from kubeward.rules import helm as helm  # layers 1, 4: charts and overlays
from kubeward.rules import kubernetes as kubernetes  # layers 4-5: images and RBAC
from kubeward.rules import registry as registry  # layer 4: image references everywhere
from kubeward.rules import runtime as runtime  # layer 6: what a cluster snapshot runs

# layers 3-4: what registries serve (scan --verify-images)
from kubeward.verify import rules as rules
