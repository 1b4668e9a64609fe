"""Commission cost, read from the creator programme when this service has one.

The creator programme (``app.creators``) keeps the commission ledger. Analytics reads it only
here, through ``app.creators.service.line_commissions(session, order_ids)`` -> ``{order line id:
commission in minor units, net of reversals}``. The order sync (``rollups.sync_orders``) rolls it
up with each counted order's units and revenue, into the same rows and buckets (the payment's),
so commission and ROI are read with the sales and reconcile with the ledger the way revenue does
with the orders. Without that module or function, commission is unknown: ``available()`` is
false and the reports show a commission of ``null`` and an ROI of ``null``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session


def _programme() -> Any:
    try:
        from app.creators import service as creators_service  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return getattr(creators_service, "line_commissions", None)


def available() -> bool:
    """Whether this service books commission (reports show ``null`` otherwise)."""
    return _programme() is not None


def line_commissions(session: Session, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Commission per order line of these orders, net of reversals (empty without a programme)."""
    lines = _programme()
    if lines is None or not order_ids:
        return {}
    return dict(lines(session, order_ids))
