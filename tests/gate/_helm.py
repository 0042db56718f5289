"""The gate's chart rendered by the real Helm engine (helm-python-sdk, Helm v4's Go SDK), as
`kubeward scan` renders charts: packed in memory from the chart's files and rendered in the
sandboxed worker (kubeward.render). No `helm` binary is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubeward.render.archive import pack_chart
from kubeward.render.sandbox import Renderer as Sandbox


class Renderer:
    """One chart with one values set, rendered as `helm template NAME CHART -n NAMESPACE`."""

    def __init__(self, chart: Path, values: dict[str, Any], *, name: str, namespace: str):
        self.chart = chart
        self.values = values
        self.name = name
        self.namespace = namespace

    def render_templates(self) -> dict[str, str]:
        """Template name (as Helm gives it: `CHART/templates/x.yaml`) -> rendered text."""
        archive = pack_chart(
            str(self.chart), self.chart.name, root=str(self.chart.parent), charts_by_name={}
        )
        with Sandbox() as helm:
            return helm.render(archive.data, self.values, name=self.name, namespace=self.namespace)

    def render_chart(self) -> list[dict[str, Any]]:
        """Every document of every template, parsed."""
        docs = []
        for _, text in sorted(self.render_templates().items()):
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict):
                    docs.append(doc)
        return docs
