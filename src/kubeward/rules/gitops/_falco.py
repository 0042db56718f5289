"""The link to Falco's default rules file, which several runtime rules cite."""

from __future__ import annotations

_FALCO_RULES = "https://github.com/falcosecurity/rules/blob/main/rules/falco_rules.yaml"
