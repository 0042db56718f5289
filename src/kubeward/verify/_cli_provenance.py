"""`verify-provenance` (filled in below)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("verify-provenance", help="verify SLSA provenance for an artifact")
    p.set_defaults(func=lambda args: 2)
