"""Emergency-response runbooks: one per typology in ``deploy/runbooks/<typology>.md``.

Every alert carries its runbook's link (``runbook_url``), and the Alertmanager
push sets it as the ``runbook_url`` annotation, so on-call staff open the
right page from the page they were sent. ``tests/alerts/test_runbooks.py``
checks that every registered typology has its runbook.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: The runbooks in a source checkout.
RUNBOOK_DIR = Path(__file__).resolve().parents[1] / "deploy" / "runbooks"


def runbook_url(base_url: str, typology: str) -> str:
    """The link to ``typology``'s runbook under ``base_url`` (where ``deploy/runbooks`` is published)."""
    return f"{base_url.rstrip('/')}/{typology}.md"


def runbook_links(base_url: str | None) -> Callable[[str], str | None]:
    """Typology -> link, for :class:`alerts.book.AlertBook`; no base URL, no links."""
    if not base_url:
        return lambda typology: None
    return lambda typology: runbook_url(base_url, typology)
