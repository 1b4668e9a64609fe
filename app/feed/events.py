"""Event kinds and how strongly each one says "more like this" (used by the engine and the API)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    impression = "impression"
    view_progress = "view_progress"
    complete = "complete"
    replay = "replay"
    skip = "skip"
    like = "like"
    unlike = "unlike"
    share = "share"
    follow = "follow"
    unfollow = "unfollow"
    product_tap = "product_tap"
    add_to_cart = "add_to_cart"
    purchase = "purchase"
    comment = "comment"  # written by the service when a comment is posted (or shown again)
    uncomment = "uncomment"  # ... and when it is deleted or hidden


# Interest-weight signal per event. Positive signals also make the clip part of the viewer's
# engaged history (co-engagement neighbours, trending). A skip pulls the clip's interests down.
SIGNAL: dict[EventType, float] = {
    EventType.impression: 0.0,
    EventType.complete: 1.0,
    EventType.replay: 1.5,
    EventType.skip: -0.3,
    EventType.like: 2.0,
    EventType.unlike: -2.0,
    EventType.share: 2.5,
    EventType.product_tap: 1.5,
    EventType.add_to_cart: 2.5,
    EventType.purchase: 4.0,
    EventType.follow: 0.0,
    EventType.unfollow: 0.0,
}

# A view shorter than this fraction of the clip counts as neither engagement nor skip.
VIEW_ENGAGED_FRACTION = 0.3

CLIP_EVENTS = frozenset(EventType) - {EventType.follow, EventType.unfollow}
# Kinds only the service writes (``feed_service.record_server_event``): refused from clients.
SERVER_ONLY = frozenset({EventType.comment, EventType.uncomment})


def signal_for(kind: EventType, progress: float = 0.0) -> float:
    if kind is EventType.view_progress:
        return 0.6 * progress if progress >= VIEW_ENGAGED_FRACTION else 0.0
    return SIGNAL.get(kind, 0.0)
