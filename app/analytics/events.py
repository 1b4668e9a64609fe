"""What analytics does with the event log: folds every aggregation run's slice into the rollups
and runs the authenticity checks on it (``rollups.fold_slice``), inside the feed aggregator's
transaction. The feed imports this module (``app/<domain>/events.py``) before its first run."""

from __future__ import annotations

from app.analytics import rollups
from app.feed import service as feed_service

feed_service.on_aggregate(rollups.fold_slice)
