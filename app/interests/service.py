from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.interests.models import Interest, UserInterest

# Called (after commit) with the id of a viewer whose picks changed: readers that cache picks
# (the feed) subscribe here rather than this domain knowing about them.
_picks_listeners: list[Callable[[uuid.UUID], None]] = []


def on_picks_changed(listener: Callable[[uuid.UUID], None]) -> Callable[[uuid.UUID], None]:
    _picks_listeners.append(listener)
    return listener


def picks_changed(user_id: uuid.UUID) -> None:
    for listener in _picks_listeners:
        listener(user_id)


def list_interests(session: Session, *, include_inactive: bool = False) -> list[Interest]:
    query = select(Interest).order_by(Interest.position, Interest.id)
    if not include_inactive:
        query = query.where(Interest.is_active.is_(True))
    return list(session.scalars(query))


def resolve_slugs(session: Session, slugs: list[str]) -> list[Interest]:
    """Interests for ``slugs`` in the given order; unknown or inactive slugs are an error."""
    wanted = list(dict.fromkeys(slug.strip().lower() for slug in slugs))
    if not wanted:
        return []
    found = {
        i.slug: i
        for i in session.scalars(
            select(Interest).where(Interest.slug.in_(wanted), Interest.is_active.is_(True))
        )
    }
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        raise Unprocessable(
            f"Unknown interests: {', '.join(unknown)}",
            code="unknown_interest",
            errors=[
                {"field": "slugs", "message": f"unknown interest {slug!r}", "type": "unknown_interest"}
                for slug in unknown
            ],
        )
    return [found[slug] for slug in wanted]


def get_user_interests(session: Session, user_id: uuid.UUID) -> list[tuple[Interest, UserInterest]]:
    rows = session.execute(
        select(Interest, UserInterest)
        .join(UserInterest, UserInterest.interest_id == Interest.id)
        .where(UserInterest.user_id == user_id)
        .order_by(UserInterest.weight.desc(), Interest.position)
    )
    return [(row[0], row[1]) for row in rows]


def set_user_interests(session: Session, user_id: uuid.UUID, slugs: list[str]) -> None:
    """Onboarding choice: the picked interests get full weight; interests learned from events but
    not picked keep their learned weight and are no longer marked selected."""
    interests = resolve_slugs(session, slugs)
    picked = {i.id for i in interests}
    existing = {
        ui.interest_id: ui
        for ui in session.scalars(select(UserInterest).where(UserInterest.user_id == user_id))
    }
    now = utcnow()
    for interest_id, current in existing.items():
        if interest_id not in picked:
            if current.selected and current.weight >= 1.0:
                session.delete(current)
            else:
                current.selected = False
    for interest_id in picked:
        row = existing.get(interest_id)
        if row is None:
            session.add(UserInterest(user_id=user_id, interest_id=interest_id, weight=1.0, selected=True))
        else:
            row.selected = True
            row.weight = max(row.weight, 1.0)
            row.updated_at = now
    session.flush()


def create_interest(session: Session, slug: str, name: str) -> Interest:
    if session.scalar(select(Interest.id).where(Interest.slug == slug)):
        raise Conflict(f"Interest {slug!r} exists", code="interest_exists")
    parent_id = None
    if "." in slug:
        parent_slug = slug.split(".", 1)[0]
        parent_id = session.scalar(select(Interest.id).where(Interest.slug == parent_slug))
        if parent_id is None:
            raise Unprocessable(f"Parent interest {parent_slug!r} does not exist", code="unknown_interest")
    interest = Interest(slug=slug, name=name, parent_id=parent_id, position=1000)
    session.add(interest)
    session.flush()
    return interest


def get_interest(session: Session, slug: str) -> Interest:
    interest = session.scalar(select(Interest).where(Interest.slug == slug))
    if interest is None:
        raise NotFound(f"No interest {slug!r}")
    return interest


def delete_user_interests(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(UserInterest).where(UserInterest.user_id == user_id))


def interest_weights_for_users(
    session: Session, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, float]]:
    """Each user's interests (slug -> weight; picks and learned weights alike), in bulk."""
    out: dict[uuid.UUID, dict[str, float]] = {}
    for start in range(0, len(user_ids), 5000):
        chunk = user_ids[start : start + 5000]
        for user_id, slug, weight in session.execute(
            select(UserInterest.user_id, Interest.slug, UserInterest.weight)
            .join(Interest, Interest.id == UserInterest.interest_id)
            .where(UserInterest.user_id.in_(chunk))
        ):
            out.setdefault(user_id, {})[slug] = float(weight or 0.0)
    return out
