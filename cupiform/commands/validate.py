"""``cupiform validate``: the project file and every manifest against the schemas and the
rules; no server. Every problem is reported at once (``ManifestError``)."""

from __future__ import annotations

import os
from pathlib import Path

from cupiform.config import load_config
from cupiform.manifest import load_manifests


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run(directory: Path) -> str:
    """The one-line summary of a valid project in ``directory``."""
    config = load_config(directory, os.environ)
    manifests = load_manifests(config)
    resources = _count(len(manifests.resources), "resource")
    return f"{resources} in {_count(len(manifests.files), 'file')}: valid"
