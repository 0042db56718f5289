"""Every rule pack, imported by name: importing a pack registers its rules and providers."""

from kubeward.rules import registry as registry  # layer 4: registry & artifacts
