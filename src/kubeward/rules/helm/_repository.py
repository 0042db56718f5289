"""The host of a chart repository's URL, which several rules look at."""

from __future__ import annotations

from urllib.parse import urlsplit


def _host(repository: str) -> str:
    return (urlsplit(repository.strip()).hostname or "").lower()
