"""Commission cost, read from the creator programme when this service has one.

The creator programme (``app.creators``) keeps the commission ledger. Analytics reads it only
here, through ``app.creators.service.commission_totals(session, *, entity_kind, entity_ids,
start, end)`` -> ``{entity_id: {currency: commission in minor units}}`` (commission booked for
sales paid in [start, end), net of reversals). Without that module or function, commission is
unknown: ``commission_minor`` gives ``None``, the reports show a commission of ``null`` and an ROI
of ``null``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def _programme() -> Any:
    try:
        from app.creators import service as creators_service  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return getattr(creators_service, "commission_totals", None)


def commission_minor(
    session: Session, entity_kind: str, entity_ids: list[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, dict[str, int]] | None:
    """Commission per entity and currency for sales paid in [start, end), or ``None``: unknown."""
    totals = _programme()
    if totals is None:
        return None
    return dict(totals(session, entity_kind=entity_kind, entity_ids=entity_ids, start=start, end=end))
