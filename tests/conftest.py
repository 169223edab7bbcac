"""Shared by all unit tests: puts this folder on ``sys.path`` so that test
modules in every sub-folder can import :mod:`builders`."""
import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
