"""GitOps, admission control, runtime and source history, with policy coverage (issue 6)."""

from kubeward.rules.gitops import admission as admission
from kubeward.rules.gitops import coverage as coverage
from kubeward.rules.gitops import flux_argo as flux_argo
from kubeward.rules.gitops import kyverno as kyverno
from kubeward.rules.gitops import runtime as runtime
from kubeward.rules.gitops import source as source
