"""The shared public data sets (``../shared/data`` beside the repository): tests skip when absent."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is not here (the shared data sets sit beside the repository)")
    return path


@pytest.fixture(scope="session")
def nab_dir() -> Path:
    return _dataset("nab")


@pytest.fixture(scope="session")
def amlsim_dir() -> Path:
    return _dataset("amlsim")
