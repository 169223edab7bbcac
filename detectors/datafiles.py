"""The rule files a risk team edits: shipped in ``detectors/data/``, or another
file that the configuration names instead."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def read_data_file(name: str, override: str = "") -> bytes:
    """The bytes of the file ``override`` when one is given, else of
    ``detectors/data/<name>`` as shipped. ``OSError`` if it cannot be read."""
    if override:
        return Path(override).read_bytes()
    return resources.files("detectors").joinpath(f"data/{name}").read_bytes()
