"""The creator programme (see ``app/creators/README.md`` for the rules with worked examples).

Entry points other domains call, inside their own transaction:

* :func:`order_paid` (commerce, when a payment turns an order ``paid``): attributes each line,
  captures the best applicable rate and writes ``commission`` ledger entries;
* :func:`order_cancelled` / :func:`order_refunded` (commerce): reversal entries, pro rata per line;
  :func:`lines_refunded` takes partial refunds per line.

Services flush, never commit. Ledger writes for one creator and currency take that
``creator_account`` row lock first (PostgreSQL), so a payout run and a refund serialise.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import CreatorProfile, User
from app.catalog import service as catalog_service
from app.clips import service as clips_service
from app.config import DEV_WEBHOOK_SECRET, Environment, get_settings
from app.creators.exceptions import (
    CollaborationEnded,
    CollaborationNotFound,
    IdeaListNotFound,
    InvalidCollaboration,
    InvalidCursor,
    InvalidPayoutWebhook,
    InvalidRates,
    InvitationAlreadyDecided,
    InvitationNotFound,
    NotApplied,
    PayoutAlreadySettled,
    PayoutNotFound,
    PayoutRunNotFound,
    ProductNotFeatured,
    UnknownCategory,
)
from app.creators.models import (
    AdmissionStatus,
    AdmissionThreshold,
    AttributionSource,
    BalanceCheckpoint,
    Collaboration,
    CollaborationInvitation,
    CollaborationKind,
    CommissionEntry,
    CommissionRate,
    CommissionState,
    CreatorAccount,
    CreatorAdmission,
    EntryKind,
    IdeaList,
    IdeaListItem,
    InvitationStatus,
    MerchantProgramme,
    OrderLineCommission,
    Payout,
    PayoutItem,
    PayoutRun,
    PayoutStatus,
    StorefrontProduct,
)
from app.db import as_utc, is_postgres, utcnow
from app.errors import ServiceUnavailable
from app.feed import service as feed_service
from app.interests import service as interests_service
from app.tags import service as tags_service

if TYPE_CHECKING:
    from app.notifications.service import NotificationKind

logger = logging.getLogger("clipshop.creators")

BPS = 10_000


# --- announcements ------------------------------------------------------------------------------


def _announce(
    session: Session, *, user_id: uuid.UUID | None, event_type: str, payload: dict[str, Any]
) -> None:
    """The programme's one way to tell the world: an entry in the creator's inbox and a signed
    outbound webhook to their endpoints (sent after the commit)."""
    from app.notifications import service as notifications_service

    if user_id is None:
        return
    title = INBOX_TITLES.get(event_type)
    if title is not None:
        notifications_service.notify(
            session, user_id=user_id, kind=inbox_kind(event_type), title=title, data=payload
        )
    notifications_service.emit_event(session, user_id=user_id, event_type=event_type, payload=payload)


# The events that also make an inbox entry (the others are webhooks only), with its title.
INBOX_TITLES = {
    "commission.pending": "You earned a commission",
    "commission.payable": "A commission is ready to be paid",
    "collaboration.invited": "A merchant invited you to a collaboration",
    "creator.admission_changed": "Your creator programme status changed",
    "payout.created": "A payout is on its way",
    "payout.paid": "Your payout was paid",
    "payout.failed": "A payout failed; its amount is payable again",
}


def inbox_kind(event_type: str) -> NotificationKind:
    """The inbox kind of a programme event (``commission.pending`` -> ``commission_pending``)."""
    from app.notifications import service as notifications_service

    return notifications_service.NotificationKind(event_type.replace(".", "_"))


# --- cursors ------------------------------------------------------------------------------------


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise InvalidCursor("The cursor is not one this API handed out")


def _offset_cursor(cursor: str | None) -> int:
    value = decode_cursor(cursor)
    if value is None:
        return 0
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("o"), int)
        or not 0 <= value["o"] <= 10_000_000
    ):
        raise InvalidCursor("The cursor is not one this API handed out")
    return int(value["o"])


def page_list(items: Sequence[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = _offset_cursor(cursor)
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return chunk, encode_cursor({"o": start + limit}) if more else None


# --- admission ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One admission criterion. ``measure`` returns the creator's value from the audience numbers
    (``app.feed.service.creator_audience``: followers, clips, impressions, views, completes,
    likes, shares, product_taps) and may read more itself. Register more with
    :func:`register_criterion` (the analytics domain adds ``authenticity`` that way)."""

    name: str
    default_threshold: float
    measure: Callable[[Session, uuid.UUID, dict[str, int]], float]
    # (value, threshold) -> the reason in plain words, and what to improve
    explain: Callable[[float, float], tuple[str, str]]
    is_ratio: bool = False


CRITERIA: dict[str, Criterion] = {}

# A creator whose every missed criterion reaches this share of its threshold is waitlisted.
WAITLIST_FRACTION = 0.5


def register_criterion(criterion: Criterion) -> None:
    CRITERIA[criterion.name] = criterion


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


register_criterion(
    Criterion(
        "followers",
        100,
        lambda _s, _c, a: float(a["followers"]),
        lambda v, t: (
            f"You have {int(v)} followers on ClipShop; this category asks for {int(t)}.",
            "Post regularly and invite your audience from other platforms to follow you here.",
        ),
    )
)
register_criterion(
    Criterion(
        "clips",
        5,
        lambda _s, _c, a: float(a["clips"]),
        lambda v, t: (
            f"You have {int(v)} public clips; this category asks for {int(t)}.",
            f"Publish {max(0, int(t) - int(v))} more public clips.",
        ),
    )
)
register_criterion(
    Criterion(
        "engagement_rate",
        0.03,
        lambda _s, _c, a: _ratio(a["likes"] + a["shares"] + a["product_taps"], a["views"]),
        lambda v, t: (
            f"{_pct(v)} of views of your clips lead to a like, share or product tap; "
            f"this category asks for {_pct(t)}.",
            "Ask viewers a question, show products up close and answer comments.",
        ),
        is_ratio=True,
    )
)
register_criterion(
    Criterion(
        "completion_rate",
        0.2,
        lambda _s, _c, a: _ratio(a["completes"], a["views"]),
        lambda v, t: (
            f"{_pct(v)} of views of your clips are watched to the end; this category asks for {_pct(t)}.",
            "Open with the product in the first seconds and keep clips short.",
        ),
        is_ratio=True,
    )
)


def top_level_categories(session: Session) -> set[str]:
    return {i.slug for i in interests_service.list_interests(session) if "." not in i.slug}


def thresholds_for(session: Session, category: str) -> dict[str, float]:
    """Each criterion's threshold in ``category``: the category's row, else the ``default`` row,
    else the criterion's built-in default."""
    rows = {
        row.category: row.thresholds
        for row in session.scalars(
            select(AdmissionThreshold).where(AdmissionThreshold.category.in_((category, "default")))
        )
    }
    result: dict[str, float] = {}
    for name, criterion in CRITERIA.items():
        for source in (rows.get(category) or {}, rows.get("default") or {}):
            if name in source:
                result[name] = float(source[name])
                break
        else:
            result[name] = criterion.default_threshold
    return result


def list_thresholds(session: Session) -> list[tuple[str, dict[str, float]]]:
    categories = [*sorted(top_level_categories(session)), "default"]
    return [(category, thresholds_for(session, category)) for category in categories]


def set_thresholds(session: Session, category: str, thresholds: dict[str, float]) -> dict[str, float]:
    if category != "default" and category not in top_level_categories(session):
        raise UnknownCategory(f"{category!r} is not a top-level interest category (or 'default')")
    unknown = sorted(set(thresholds) - set(CRITERIA))
    if unknown:
        raise UnknownCategory(f"Unknown criteria: {', '.join(unknown)}; known: {', '.join(sorted(CRITERIA))}")
    row = session.get(AdmissionThreshold, category)
    if row is None:
        row = AdmissionThreshold(category=category, thresholds={})
        session.add(row)
    row.thresholds = {name: float(value) for name, value in thresholds.items()}
    session.flush()
    return thresholds_for(session, category)


def creator_category(session: Session, creator_id: uuid.UUID) -> str:
    """The top-level interest most of the creator's public clips belong to (``default`` if none)."""
    clips = clips_service.public_clips_page(session, creator_id, None, 200)
    counts: Counter[str] = Counter()
    for slugs in clips_service.interest_slugs(session, [c.id for c in clips]).values():
        for top in {slug.split(".", 1)[0] for slug in slugs}:
            counts[top] += 1
    return counts.most_common(1)[0][0] if counts else "default"


def evaluate(
    session: Session, creator_id: uuid.UUID, category: str
) -> tuple[AdmissionStatus, list[dict[str, Any]]]:
    audience = feed_service.creator_audience(session, creator_id)
    thresholds = thresholds_for(session, category)
    results: list[dict[str, Any]] = []
    for name, criterion in CRITERIA.items():
        value = float(criterion.measure(session, creator_id, audience))
        threshold = thresholds[name]
        passed = value >= threshold
        reason, improve = criterion.explain(value, threshold)
        results.append(
            {
                "criterion": name,
                "value": value,
                "threshold": threshold,
                "passed": passed,
                "reason": reason if not passed else f"Meets the bar: {reason}",
                "improve": None if passed else improve,
            }
        )
    failing = [r for r in results if not r["passed"]]
    if not failing:
        status = AdmissionStatus.admitted
    elif all(r["value"] >= WAITLIST_FRACTION * r["threshold"] for r in failing):
        status = AdmissionStatus.waitlisted
    else:
        status = AdmissionStatus.rejected
    return status, results


def get_admission(session: Session, creator_id: uuid.UUID) -> CreatorAdmission:
    admission = session.get(CreatorAdmission, creator_id)
    if admission is None:
        raise NotApplied("You have not applied to the creator programme yet")
    return admission


def _next_evaluation() -> datetime:
    return utcnow() + timedelta(days=get_settings().creator_reevaluation_days)


def apply(
    session: Session, creator_id: uuid.UUID, category: str | None, *, force: bool = False
) -> CreatorAdmission:
    """Apply (or ask again): evaluated at once. An operator's decision or a suspension stands
    (unless ``force``: an operator handing the creator back to the thresholds)."""
    if category is not None and category not in top_level_categories(session):
        raise UnknownCategory(f"{category!r} is not a top-level interest category")
    admission = session.get(CreatorAdmission, creator_id)
    if not force and (
        admission is not None
        and (admission.overridden_by is not None or admission.status is AdmissionStatus.suspended)
    ):
        return admission
    chosen = category or (admission.category if admission is not None and admission.category_chosen else None)
    resolved = chosen or creator_category(session, creator_id)
    status, results = evaluate(session, creator_id, resolved)
    previous = admission.status if admission is not None else None
    if admission is None:
        admission = CreatorAdmission(creator_id=creator_id)
        session.add(admission)
    admission.status = status
    admission.category = resolved
    admission.category_chosen = chosen is not None
    admission.evaluation = results
    admission.evaluated_at = utcnow()
    admission.next_evaluation_at = _next_evaluation()
    session.flush()
    if previous is not status:
        _announce(
            session,
            user_id=creator_id,
            event_type="creator.admission_changed",
            payload={"creator_id": str(creator_id), "status": status.value, "previous": previous},
        )
    return admission


def reevaluate_due(session: Session, limit: int = 500) -> int:
    """Periodic: evaluate again every admission whose time has come (not the ones an operator
    decided, nor suspended creators)."""
    ids = list(
        session.scalars(
            select(CreatorAdmission.creator_id)
            .where(
                CreatorAdmission.next_evaluation_at <= utcnow(),
                CreatorAdmission.overridden_by.is_(None),
                CreatorAdmission.status != AdmissionStatus.suspended,
            )
            .limit(limit)
        )
    )
    for creator_id in ids:
        apply(session, creator_id, None)
    return len(ids)


def override_admission(
    session: Session, creator_id: uuid.UUID, status: str, note: str | None, actor_id: uuid.UUID
) -> CreatorAdmission:
    """Operator decision. ``automatic`` hands the creator back to the thresholds."""
    if accounts_service.get_creator_profile(session, creator_id) is None:
        from app.creators.exceptions import CreatorNotFound

        raise CreatorNotFound("No creator with that id")
    admission = session.get(CreatorAdmission, creator_id)
    if status == "automatic":
        if admission is not None:
            admission.overridden_by = None
            admission.override_note = note
            session.flush()
        return apply(session, creator_id, None, force=True)
    if admission is None:
        admission = apply(session, creator_id, None)
    previous = admission.status
    admission.status = AdmissionStatus(status)
    admission.overridden_by = actor_id
    admission.override_note = note
    admission.next_evaluation_at = None
    session.flush()
    if previous is not admission.status:
        _announce(
            session,
            user_id=creator_id,
            event_type="creator.admission_changed",
            payload={
                "creator_id": str(creator_id),
                "status": status,
                "previous": previous.value,
                "by_operator": True,
            },
        )
    return admission


def is_admitted(session: Session, creator_id: uuid.UUID) -> bool:
    status = session.scalar(select(CreatorAdmission.status).where(CreatorAdmission.creator_id == creator_id))
    return status is AdmissionStatus.admitted


def admission_statuses(
    session: Session, creator_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, AdmissionStatus]:
    ids = list(set(creator_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(CreatorAdmission.creator_id, CreatorAdmission.status).where(
            CreatorAdmission.creator_id.in_(ids)
        )
    )
    return {creator_id: status for creator_id, status in rows}


# --- rates --------------------------------------------------------------------------------------


def _category_key(category: str) -> str:
    return "category:" + category.strip().lower()


def get_rates(
    session: Session, organisation_id: uuid.UUID
) -> tuple[MerchantProgramme | None, list[CommissionRate]]:
    programme = session.get(MerchantProgramme, organisation_id)
    rates = list(
        session.scalars(
            select(CommissionRate)
            .where(CommissionRate.organisation_id == organisation_id)
            .order_by(CommissionRate.scope_key)
        )
    )
    return programme, rates


def set_rates(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    default_rate_bps: int | None,
    return_window_days: int | None,
    category_rates: dict[str, int],
    product_rates: dict[uuid.UUID, int],
) -> tuple[MerchantProgramme | None, list[CommissionRate]]:
    """Replace the merchant's rates. Rates apply to purchases from now on; lines already paid
    keep the rate captured on them."""
    for product_id in product_rates:
        try:
            catalog_service.get_owned_product(session, organisation_id, product_id)
        except Exception as exc:  # the catalog's not-found error, reworded for this document
            raise InvalidRates(f"product_rates: {product_id} is not one of your products") from exc
    keys = [_category_key(c) for c in category_rates]
    if len(set(keys)) != len(keys) or any(not c.strip() or len(c.strip()) > 200 for c in category_rates):
        raise InvalidRates(
            "category_rates: each category once, 1 to 200 characters (matched case-insensitively)"
        )
    programme = session.get(MerchantProgramme, organisation_id)
    if programme is None:
        programme = MerchantProgramme(organisation_id=organisation_id)
        session.add(programme)
    programme.default_rate_bps = default_rate_bps
    programme.return_window_days = return_window_days
    session.execute(delete(CommissionRate).where(CommissionRate.organisation_id == organisation_id))
    for category, rate in category_rates.items():
        session.add(
            CommissionRate(
                organisation_id=organisation_id,
                scope_key=_category_key(category),
                category=category.strip(),
                rate_bps=rate,
            )
        )
    for product_id, rate in product_rates.items():
        session.add(
            CommissionRate(
                organisation_id=organisation_id,
                scope_key=f"product:{product_id}",
                product_id=product_id,
                rate_bps=rate,
            )
        )
    session.flush()
    return get_rates(session, organisation_id)


def _collaboration_live(at: datetime) -> Any:
    return and_(
        Collaboration.created_at <= at,
        or_(Collaboration.ended_at.is_(None), Collaboration.ended_at > at),
        or_(Collaboration.ends_at.is_(None), Collaboration.ends_at > at),
    )


@dataclass(frozen=True)
class AppliedRate:
    rate_bps: int
    source: str  # platform_default | merchant_default | category | product | open_collaboration | targeted_collaboration
    collaboration_id: uuid.UUID | None = None


def standard_rate(
    session: Session, organisation_id: uuid.UUID, product_id: uuid.UUID, category: str | None
) -> AppliedRate:
    """The merchant's standard rate for a product: the product's rate, else its category's, else
    the merchant's default, else the platform default."""
    keys = [f"product:{product_id}"] + ([_category_key(category)] if category else [])
    rates = dict(
        session.execute(
            select(CommissionRate.scope_key, CommissionRate.rate_bps).where(
                CommissionRate.organisation_id == organisation_id, CommissionRate.scope_key.in_(keys)
            )
        ).all()
    )
    if keys[0] in rates:
        return AppliedRate(rates[keys[0]], "product")
    if len(keys) > 1 and keys[1] in rates:
        return AppliedRate(rates[keys[1]], "category")
    programme = session.get(MerchantProgramme, organisation_id)
    if programme is not None and programme.default_rate_bps is not None:
        return AppliedRate(programme.default_rate_bps, "merchant_default")
    return AppliedRate(get_settings().creator_default_rate_bps, "platform_default")


def best_rate(
    session: Session,
    creator_id: uuid.UUID,
    organisation_id: uuid.UUID,
    product_id: uuid.UUID,
    category: str | None,
    at: datetime,
) -> AppliedRate:
    """The best rate that applies to this creator for this product at ``at``: the merchant's
    standard rate, an open collaboration covering the product, or a targeted collaboration the
    creator accepted (live at ``at``), whichever pays most."""
    best = standard_rate(session, organisation_id, product_id, category)
    accepted = (
        select(CollaborationInvitation.collaboration_id)
        .where(
            CollaborationInvitation.creator_id == creator_id,
            CollaborationInvitation.status == InvitationStatus.accepted,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Collaboration.id, Collaboration.kind, Collaboration.rate_bps).where(
            Collaboration.organisation_id == organisation_id,
            or_(Collaboration.product_id.is_(None), Collaboration.product_id == product_id),
            _collaboration_live(at),
            or_(Collaboration.kind == CollaborationKind.open, Collaboration.id.in_(accepted)),
        )
    )
    for collaboration_id, kind, rate in sorted(rows, key=lambda r: (-r[2], str(r[0]))):
        if rate > best.rate_bps:
            best = AppliedRate(rate, f"{kind.value}_collaboration", collaboration_id)
        break
    return best


# --- collaborations -----------------------------------------------------------------------------


def create_collaboration(
    session: Session,
    organisation_id: uuid.UUID,
    actor_id: uuid.UUID,
    *,
    kind: CollaborationKind,
    product_id: uuid.UUID | None,
    rate_bps: int,
    brief: str | None,
    ends_at: datetime | None,
    creator_handles: list[str],
) -> Collaboration:
    if product_id is not None:
        try:
            catalog_service.get_owned_product(session, organisation_id, product_id)
        except Exception as exc:
            raise InvalidCollaboration("product_id is not one of your products") from exc
    if ends_at is not None and as_utc(ends_at) <= utcnow():
        raise InvalidCollaboration("ends_at must be in the future")
    creators: list[CreatorProfile] = []
    if kind is CollaborationKind.targeted:
        if not creator_handles:
            raise InvalidCollaboration(
                "A targeted collaboration invites at least one creator (creator_handles)"
            )
        for handle in dict.fromkeys(h.lower().lstrip("@") for h in creator_handles):
            try:
                creators.append(accounts_service.get_creator_by_handle(session, handle))
            except Exception as exc:
                raise InvalidCollaboration(f"No creator with handle @{handle}") from exc
    elif creator_handles:
        raise InvalidCollaboration(
            "An open collaboration is open to every admitted creator: no creator_handles"
        )
    collaboration = Collaboration(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        kind=kind,
        product_id=product_id,
        rate_bps=rate_bps,
        brief=brief,
        ends_at=ends_at,
        created_by=actor_id,
        created_at=utcnow(),
    )
    session.add(collaboration)
    session.flush()
    for profile in creators:
        session.add(
            CollaborationInvitation(
                collaboration_id=collaboration.id, creator_id=profile.user_id, status=InvitationStatus.invited
            )
        )
        _announce(
            session,
            user_id=profile.user_id,
            event_type="collaboration.invited",
            payload={"collaboration_id": str(collaboration.id), "rate_bps": rate_bps},
        )
    session.flush()
    return collaboration


def collaboration_invitations(
    session: Session, collaboration_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    result: dict[uuid.UUID, list[Any]] = {cid: [] for cid in collaboration_ids}
    if not collaboration_ids:
        return result
    rows = session.execute(
        select(CollaborationInvitation, CreatorProfile.handle)
        .join(CreatorProfile, CreatorProfile.user_id == CollaborationInvitation.creator_id)
        .where(CollaborationInvitation.collaboration_id.in_(collaboration_ids))
        .order_by(CreatorProfile.handle)
    )
    for invitation, handle in rows:
        result[invitation.collaboration_id].append((invitation, handle))
    return result


def list_merchant_collaborations(session: Session, organisation_id: uuid.UUID) -> list[Collaboration]:
    return list(
        session.scalars(
            select(Collaboration)
            .where(Collaboration.organisation_id == organisation_id)
            .order_by(Collaboration.created_at.desc(), Collaboration.id)
        )
    )


def end_collaboration(
    session: Session, organisation_id: uuid.UUID, collaboration_id: uuid.UUID
) -> Collaboration:
    collaboration = session.get(Collaboration, collaboration_id)
    if collaboration is None or collaboration.organisation_id != organisation_id:
        raise CollaborationNotFound("No such collaboration")
    if collaboration.ended_at is None:
        collaboration.ended_at = utcnow()
        session.flush()
    return collaboration


def collaboration_is_live(collaboration: Collaboration, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (collaboration.ended_at is None or as_utc(collaboration.ended_at) > now) and (
        collaboration.ends_at is None or as_utc(collaboration.ends_at) > now
    )


def my_invitations(
    session: Session, creator_id: uuid.UUID
) -> list[tuple[CollaborationInvitation, Collaboration]]:
    rows = session.execute(
        select(CollaborationInvitation, Collaboration)
        .join(Collaboration, Collaboration.id == CollaborationInvitation.collaboration_id)
        .where(CollaborationInvitation.creator_id == creator_id)
        .order_by(Collaboration.created_at.desc(), Collaboration.id)
    )
    return [(invitation, collaboration) for invitation, collaboration in rows]


def decide_invitation(
    session: Session, creator_id: uuid.UUID, collaboration_id: uuid.UUID, accept: bool
) -> tuple[CollaborationInvitation, Collaboration]:
    invitation = session.get(CollaborationInvitation, (collaboration_id, creator_id))
    collaboration = session.get(Collaboration, collaboration_id)
    if invitation is None or collaboration is None:
        raise InvitationNotFound("You have no invitation to that collaboration")
    wanted = InvitationStatus.accepted if accept else InvitationStatus.declined
    if invitation.status is wanted:
        return invitation, collaboration
    if invitation.status is not InvitationStatus.invited:
        raise InvitationAlreadyDecided(f"You already {invitation.status.value} this invitation")
    if accept and not collaboration_is_live(collaboration):
        raise CollaborationEnded("This collaboration has ended")
    invitation.status = wanted
    invitation.decided_at = utcnow()
    session.flush()
    return invitation, collaboration


@dataclass
class OpenProduct:
    card: catalog_service.ProductCard
    rate: AppliedRate
    collaboration_ids: list[uuid.UUID] = field(default_factory=list)


def browse_open_products(
    session: Session,
    creator_id: uuid.UUID,
    *,
    interest: str | None,
    min_rate_bps: int | None,
    min_price_minor: int | None,
    max_price_minor: int | None,
    in_stock: bool | None,
) -> list[OpenProduct]:
    """Products open to collaboration for this creator (open collaborations, and targeted ones
    the creator was invited to and has not declined), with the best rate for them, best first."""
    now = utcnow()
    invited = (
        select(CollaborationInvitation.collaboration_id)
        .where(
            CollaborationInvitation.creator_id == creator_id,
            CollaborationInvitation.status != InvitationStatus.declined,
        )
        .scalar_subquery()
    )
    collaborations = list(
        session.scalars(
            select(Collaboration).where(
                _collaboration_live(now),
                or_(Collaboration.kind == CollaborationKind.open, Collaboration.id.in_(invited)),
            )
        )
    )
    by_product: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    whole = [c for c in collaborations if c.product_id is None]
    for collaboration in collaborations:
        if collaboration.product_id is not None:
            by_product[collaboration.product_id].append(collaboration.id)
    for product_id in catalog_service.active_product_ids(session, {c.organisation_id for c in whole}, 5000):
        by_product.setdefault(product_id, [])
    cards = catalog_service.product_cards(session, by_product)
    for collaboration in whole:
        for card in cards.values():
            if card.organisation_id == collaboration.organisation_id:
                by_product[card.id].append(collaboration.id)
    result = []
    for product_id, card in cards.items():
        if interest and not any(s == interest or s.startswith(interest + ".") for s in card.interests):
            continue
        prices = [sku[2] for sku in card.skus]
        if not prices:
            continue
        if min_price_minor is not None and max(prices) < min_price_minor:
            continue
        if max_price_minor is not None and min(prices) > max_price_minor:
            continue
        if in_stock is not None and any(sku[4] > 0 for sku in card.skus) is not in_stock:
            continue
        rate = best_rate(session, creator_id, card.organisation_id, product_id, card.category, now)
        if min_rate_bps is not None and rate.rate_bps < min_rate_bps:
            continue
        result.append(OpenProduct(card, rate, sorted(by_product[product_id], key=str)))
    result.sort(key=lambda item: (-item.rate.rate_bps, item.card.title.lower(), str(item.card.id)))
    return result


# --- attribution and capture --------------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    creator_id: uuid.UUID
    clip_id: uuid.UUID
    tag_id: uuid.UUID | None
    source: AttributionSource
    touched_at: datetime | None


def attribute_lines(session: Session, order: Any) -> dict[uuid.UUID, Attribution]:
    """Which clip drove each line of an order (see the README's worked examples):

    1. the buy button: the order's clip, for lines whose product is actively tagged on it;
    2. otherwise the last touch within the window before checkout: the buyer's latest product
       tap, or view watched past the threshold, on a clip that tags the line's product.
    """
    settings = get_settings()
    result: dict[uuid.UUID, Attribution] = {}
    lines = list(order.lines)
    if order.clip_id is not None:
        tagged = tags_service.active_tag_products(session, [order.clip_id]).get(order.clip_id)
        if tagged is not None:
            creator_id, products = tagged
            for line in lines:
                if line.product_id in products:
                    tag_id = products[line.product_id]
                    result[line.id] = Attribution(
                        creator_id,
                        order.clip_id,
                        tag_id,
                        AttributionSource.buy_button,
                        as_utc(order.created_at),
                    )
    rest = [line for line in lines if line.id not in result]
    if not rest:
        return result
    checkout_at = as_utc(order.created_at)
    window = timedelta(seconds=settings.creator_attribution_window_seconds)
    touches = feed_service.clip_touches(
        session, order.buyer_id, checkout_at - window, checkout_at, settings.creator_attribution_view_fraction
    )
    if not touches:
        return result
    tagged_clips = tags_service.active_tag_products(session, {t.clip_id for t in touches})
    for line in rest:
        for touch in reversed(touches):  # newest first: the last touch wins
            found = tagged_clips.get(touch.clip_id)
            if found is not None and line.product_id in found[1]:
                source = (
                    AttributionSource.product_tap if touch.kind == "product_tap" else AttributionSource.view
                )
                result[line.id] = Attribution(
                    found[0], touch.clip_id, found[1][line.product_id], source, touch.at
                )
                break
    return result


def _return_window(session: Session, organisation_id: uuid.UUID) -> timedelta:
    programme = session.get(MerchantProgramme, organisation_id)
    days = (
        programme.return_window_days
        if programme is not None and programme.return_window_days is not None
        else None
    )
    return timedelta(days=get_settings().creator_return_window_days if days is None else days)


def lock_account(session: Session, creator_id: uuid.UUID, currency: str) -> None:
    """Serialise ledger writers of one creator and currency (a row lock on PostgreSQL; SQLite has
    one writer anyway)."""
    if session.get(CreatorAccount, (creator_id, currency)) is None:
        try:
            with session.begin_nested():
                session.add(CreatorAccount(creator_id=creator_id, currency=currency))
                session.flush()
        except IntegrityError:
            pass
    if is_postgres(session):
        session.execute(
            select(CreatorAccount.creator_id)
            .where(CreatorAccount.creator_id == creator_id, CreatorAccount.currency == currency)
            .with_for_update()
        )


def _no_commission_reason(
    session: Session, creator_id: uuid.UUID, buyer_id: uuid.UUID, organisation_id: uuid.UUID
) -> str | None:
    if creator_id == buyer_id:
        return "own_purchase"
    if accounts_service.get_merchant_organisation_id(session, buyer_id) == organisation_id:
        return "merchant_account"
    if not is_admitted(session, creator_id):
        return "not_admitted"
    return None


def order_paid(session: Session, order: Any) -> list[OrderLineCommission]:
    """Capture what each attributed line of a just-paid order earns and write its ``commission``
    entry (pending until the merchant's return window is over). Idempotent per line."""
    captured = set(
        session.scalars(
            select(OrderLineCommission.order_line_id).where(OrderLineCommission.order_id == order.id)
        )
    )
    attributions = attribute_lines(session, order)
    paid_at = as_utc(order.paid_at) if order.paid_at else utcnow()
    categories = catalog_service.product_categories(session, [line.product_id for line in order.lines])
    written = []
    for line in order.lines:
        attribution = attributions.get(line.id)
        if attribution is None or line.id in captured:
            continue
        reason = _no_commission_reason(session, attribution.creator_id, order.buyer_id, line.organisation_id)
        if reason is None:
            rate = best_rate(
                session,
                attribution.creator_id,
                line.organisation_id,
                line.product_id,
                categories.get(line.product_id, (None, None))[1],
                paid_at,
            )
        else:
            rate = AppliedRate(0, "none")
        commission = line.line_total_minor * rate.rate_bps // BPS
        record = OrderLineCommission(
            id=uuid.uuid4(),
            order_line_id=line.id,
            order_id=order.id,
            creator_id=attribution.creator_id,
            buyer_id=order.buyer_id,
            organisation_id=line.organisation_id,
            product_id=line.product_id,
            clip_id=attribution.clip_id,
            tag_id=attribution.tag_id,
            source=attribution.source,
            touched_at=attribution.touched_at,
            collaboration_id=rate.collaboration_id,
            rate_source=rate.source,
            rate_bps=rate.rate_bps,
            currency=order.currency,
            quantity=line.quantity,
            base_minor=line.line_total_minor,
            commission_minor=commission,
            no_commission_reason=reason if reason else ("zero_rate" if commission == 0 else None),
            state=CommissionState.pending if commission > 0 else CommissionState.void,
            refunded_minor=0,
            payable_at=paid_at + _return_window(session, line.organisation_id),
            created_at=utcnow(),
        )
        session.add(record)
        session.flush()
        if commission > 0:
            lock_account(session, record.creator_id, record.currency)
            session.add(
                CommissionEntry(
                    creator_id=record.creator_id,
                    currency=record.currency,
                    kind=EntryKind.commission,
                    amount_minor=commission,
                    pending_delta=commission,
                    line_id=record.id,
                    order_id=order.id,
                    clip_id=record.clip_id,
                    organisation_id=record.organisation_id,
                    memo=f"{line.quantity} x {line.title}"[:200],
                )
            )
            session.flush()
            _announce(
                session,
                user_id=record.creator_id,
                event_type="commission.pending",
                payload={
                    "order_id": str(order.id),
                    "clip_id": str(record.clip_id) if record.clip_id else None,
                    "currency": record.currency,
                    "commission_minor": commission,
                    "payable_at": record.payable_at.isoformat(),
                },
            )
        written.append(record)
    return written


def order_cancelled(session: Session, order: Any) -> int:
    """Cancellation: reverse whatever the order's lines earned (nothing for an unpaid order)."""
    return _reverse(session, order.id, None, "cancelled")


def order_refunded(session: Session, order: Any) -> int:
    """Full refund of an order: every line's commission is reversed."""
    return _reverse(session, order.id, None, "refunded")


def lines_refunded(session: Session, order_id: uuid.UUID, amounts: dict[uuid.UUID, int]) -> int:
    """Partial refunds: ``{order_line_id: refunded minor units}`` (added to earlier refunds of the
    same line). Each line's commission is reversed pro rata to the share of it refunded so far."""
    return _reverse(session, order_id, amounts, "partially refunded")


def _reverse(session: Session, order_id: uuid.UUID, amounts: dict[uuid.UUID, int] | None, why: str) -> int:
    records = list(
        session.scalars(
            select(OrderLineCommission)
            .where(OrderLineCommission.order_id == order_id)
            .order_by(OrderLineCommission.order_line_id)
            .execution_options(populate_existing=True)
        )
    )
    written = 0
    for record in records:
        if amounts is not None and record.order_line_id not in amounts:
            continue
        if record.commission_minor > 0:
            # Lock first, then read what was released and reversed (a payout run may have run).
            lock_account(session, record.creator_id, record.currency)
            session.refresh(record)
        extra = record.base_minor if amounts is None else max(0, int(amounts[record.order_line_id]))
        refunded = min(record.base_minor, record.refunded_minor + extra)
        record.refunded_minor = refunded
        if record.commission_minor == 0:
            continue
        if refunded >= record.base_minor:
            target = record.commission_minor
        else:
            target = record.commission_minor * refunded // record.base_minor
        entries = list(
            session.execute(
                select(CommissionEntry.id, CommissionEntry.kind, CommissionEntry.amount_minor).where(
                    CommissionEntry.line_id == record.id
                )
            )
        )
        original = next(e.id for e in entries if e.kind is EntryKind.commission)
        released = any(e.kind is EntryKind.release for e in entries)
        already = -sum(e.amount_minor for e in entries if e.kind is EntryKind.reversal)
        delta = target - already
        if delta <= 0:
            continue
        session.add(
            CommissionEntry(
                creator_id=record.creator_id,
                currency=record.currency,
                kind=EntryKind.reversal,
                amount_minor=-delta,
                pending_delta=0 if released else -delta,
                payable_delta=-delta if released else 0,
                line_id=record.id,
                reverses_id=original,
                order_id=record.order_id,
                clip_id=record.clip_id,
                organisation_id=record.organisation_id,
                memo=f"order {why}",
            )
        )
        if not released and target >= record.commission_minor:
            record.state = CommissionState.void
        written += 1
        session.flush()
        _announce(
            session,
            user_id=record.creator_id,
            event_type="commission.reversed",
            payload={
                "order_id": str(record.order_id),
                "clip_id": str(record.clip_id) if record.clip_id else None,
                "currency": record.currency,
                "amount_minor": -delta,
                "reason": why,
            },
        )
    session.flush()
    return written


def release_due(session: Session, now: datetime | None = None, limit: int = 1000) -> int:
    """Periodic: commissions whose return window is over move from pending to payable."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(OrderLineCommission.id)
            .where(
                OrderLineCommission.state == CommissionState.pending, OrderLineCommission.payable_at <= now
            )
            .order_by(OrderLineCommission.payable_at)
            .limit(limit)
        )
    )
    count = 0
    for record_id in ids:
        record = session.get(OrderLineCommission, record_id)
        assert record is not None
        lock_account(session, record.creator_id, record.currency)
        session.refresh(record)
        if record.state is not CommissionState.pending:
            continue
        remaining = int(
            session.scalar(
                select(func.coalesce(func.sum(CommissionEntry.pending_delta), 0)).where(
                    CommissionEntry.line_id == record.id
                )
            )
            or 0
        )
        if remaining > 0:
            session.add(
                CommissionEntry(
                    creator_id=record.creator_id,
                    currency=record.currency,
                    kind=EntryKind.release,
                    amount_minor=remaining,
                    pending_delta=-remaining,
                    payable_delta=remaining,
                    line_id=record.id,
                    order_id=record.order_id,
                    clip_id=record.clip_id,
                    organisation_id=record.organisation_id,
                    memo="return window over",
                )
            )
            record.state = CommissionState.payable
            count += 1
            session.flush()
            _announce(
                session,
                user_id=record.creator_id,
                event_type="commission.payable",
                payload={
                    "order_id": str(record.order_id),
                    "clip_id": str(record.clip_id) if record.clip_id else None,
                    "currency": record.currency,
                    "amount_minor": remaining,
                },
            )
        else:
            record.state = CommissionState.void
        session.flush()
    return count


# --- payouts ------------------------------------------------------------------------------------


def _unsettled_entries(session: Session, creator_id: uuid.UUID, currency: str) -> list[tuple[int, int]]:
    """``(entry id, payable delta)`` of the payable movements no payout has settled yet."""
    return [
        (row[0], int(row[1]))
        for row in session.execute(
            select(CommissionEntry.id, CommissionEntry.payable_delta)
            .outerjoin(PayoutItem, PayoutItem.entry_id == CommissionEntry.id)
            .where(
                CommissionEntry.creator_id == creator_id,
                CommissionEntry.currency == currency,
                CommissionEntry.payable_delta != 0,
                CommissionEntry.kind != EntryKind.payout,
                PayoutItem.entry_id.is_(None),
            )
            .order_by(CommissionEntry.id)
        )
    ]


def run_payouts(
    session: Session,
    *,
    key: str | None = None,
    threshold_minor: int | None = None,
    actor_id: uuid.UUID | None = None,
) -> tuple[PayoutRun, bool]:
    """One payout per creator and currency whose payable balance reaches the threshold, settling
    every payable movement not yet settled. Rerunning a key returns the first run; and since an
    entry belongs to one payout at most, no run ever pays an entry twice. Returns ``(run, created)``."""
    settings = get_settings()
    key = key or f"run-{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    threshold = settings.creator_payout_threshold_minor if threshold_minor is None else threshold_minor
    threshold = max(1, threshold)
    existing = session.scalar(select(PayoutRun).where(PayoutRun.key == key))
    if existing is not None:
        return existing, False
    run = PayoutRun(
        id=uuid.uuid4(), key=key, threshold_minor=threshold, created_by=actor_id, created_at=utcnow()
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        again = session.scalar(select(PayoutRun).where(PayoutRun.key == key))
        assert again is not None
        return again, False
    candidates = list(
        session.execute(
            select(CommissionEntry.creator_id, CommissionEntry.currency)
            .group_by(CommissionEntry.creator_id, CommissionEntry.currency)
            .having(func.sum(CommissionEntry.payable_delta) >= threshold)
            .order_by(CommissionEntry.creator_id, CommissionEntry.currency)
        )
    )
    for creator_id, currency in candidates:
        lock_account(session, creator_id, currency)
        entries = _unsettled_entries(session, creator_id, currency)
        amount = sum(delta for _, delta in entries)
        if amount < threshold:
            continue  # a refund reversed part of it meanwhile
        payout = Payout(
            id=uuid.uuid4(),
            run_id=run.id,
            creator_id=creator_id,
            currency=currency,
            amount_minor=amount,
            entry_count=len(entries),
            status=PayoutStatus.created,
            created_at=utcnow(),
        )
        session.add(payout)
        session.flush()
        session.add_all(PayoutItem(entry_id=entry_id, payout_id=payout.id) for entry_id, _ in entries)
        session.add(
            CommissionEntry(
                creator_id=creator_id,
                currency=currency,
                kind=EntryKind.payout,
                amount_minor=amount,
                payable_delta=-amount,
                in_payout_delta=amount,
                payout_id=payout.id,
                memo=f"payout run {key}"[:200],
            )
        )
        session.flush()
        _announce(session, user_id=creator_id, event_type="payout.created", payload=payout_payload(payout))
    return run, True


def payout_payload(payout: Payout) -> dict[str, Any]:
    return {
        "payout_id": str(payout.id),
        "run_id": str(payout.run_id),
        "creator_id": str(payout.creator_id),
        "currency": payout.currency,
        "amount_minor": payout.amount_minor,
        "status": payout.status.value,
        "provider_reference": payout.provider_reference,
    }


def get_run(session: Session, run_id: uuid.UUID) -> PayoutRun:
    run = session.get(PayoutRun, run_id)
    if run is None:
        raise PayoutRunNotFound("No such payout run")
    return run


def run_payouts_list(session: Session, run_id: uuid.UUID) -> list[tuple[Payout, str | None]]:
    rows = session.execute(
        select(Payout, CreatorProfile.handle)
        .outerjoin(CreatorProfile, CreatorProfile.user_id == Payout.creator_id)
        .where(Payout.run_id == run_id)
        .order_by(Payout.creator_id, Payout.currency)
    )
    return [(payout, handle) for payout, handle in rows]


def list_runs(session: Session) -> list[PayoutRun]:
    return list(session.scalars(select(PayoutRun).order_by(PayoutRun.created_at.desc(), PayoutRun.id)))


def creator_payouts(session: Session, creator_id: uuid.UUID) -> list[Payout]:
    return list(
        session.scalars(
            select(Payout)
            .where(Payout.creator_id == creator_id)
            .order_by(Payout.created_at.desc(), Payout.id)
        )
    )


def settle_payout(session: Session, payout_id: uuid.UUID, *, paid: bool, reference: str | None) -> Payout:
    """Mark a payout paid (or failed: its money goes back to payable). Repeating the same
    outcome is a no-op; the other outcome after one is a conflict."""
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise PayoutNotFound("No such payout")
    lock_account(session, payout.creator_id, payout.currency)
    session.refresh(payout)
    wanted = PayoutStatus.paid if paid else PayoutStatus.failed
    if payout.status is wanted:
        return payout
    if payout.status is not PayoutStatus.created:
        raise PayoutAlreadySettled(f"This payout is already {payout.status.value}")
    now = utcnow()
    payout.status = wanted
    if reference:
        payout.provider_reference = reference[:255]
    if paid:
        payout.paid_at = now
    else:
        payout.failed_at = now
    session.add(
        CommissionEntry(
            creator_id=payout.creator_id,
            currency=payout.currency,
            kind=EntryKind.payout_paid if paid else EntryKind.payout_failed,
            amount_minor=payout.amount_minor,
            in_payout_delta=-payout.amount_minor,
            paid_delta=payout.amount_minor if paid else 0,
            payable_delta=0 if paid else payout.amount_minor,
            payout_id=payout.id,
            memo="payout paid" if paid else "payout failed; back to payable",
        )
    )
    session.flush()
    _announce(
        session,
        user_id=payout.creator_id,
        event_type="payout.paid" if paid else "payout.failed",
        payload=payout_payload(payout),
    )
    return payout


def payout_callback(session: Session, body: bytes, signature: str | None) -> Payout:
    """The payout provider's signed callback (same signature scheme as payment webhooks):
    ``{"type": "payout.paid" | "payout.failed", "data": {"payout_id", "reference"}}``."""
    from app.commerce import service as commerce_service

    settings = get_settings()
    if (
        settings.environment is Environment.production
        and settings.creator_payout_webhook_secret == DEV_WEBHOOK_SECRET
    ):
        raise ServiceUnavailable(
            "Set CLIPSHOP_CREATOR_PAYOUT_WEBHOOK_SECRET to receive payout callbacks",
            code="webhook_not_configured",
        )
    commerce_service.verify_signature(
        body,
        signature,
        secret=settings.creator_payout_webhook_secret,
        tolerance=settings.payment_webhook_tolerance_seconds,
    )
    try:
        event = json.loads(body)
        kind = str(event["type"])
        data = event.get("data") or {}
        payout_id = uuid.UUID(str(data["payout_id"]))
        reference = data.get("reference")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidPayoutWebhook("The event needs type and data.payout_id")
    if kind not in ("payout.paid", "payout.failed"):
        raise InvalidPayoutWebhook("type must be payout.paid or payout.failed")
    return settle_payout(
        session,
        payout_id,
        paid=kind == "payout.paid",
        reference=str(reference) if reference is not None else None,
    )


def sign_payout_callback(body: bytes, timestamp: int | None = None) -> str:
    secret = get_settings().creator_payout_webhook_secret
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- earnings reads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    currency: str
    pending_minor: int
    payable_minor: int
    in_payout_minor: int
    paid_minor: int


def balances(session: Session, creator_id: uuid.UUID) -> list[Balance]:
    """Per currency (every ledger writer first creates the creator's ``creator_account`` row of
    that currency): the checkpoint, i.e. the sums of the entries up to one entry, plus the entries
    after it, summed on read (an index range scan per currency)."""
    checkpoints = {
        c.currency: c
        for c in session.scalars(select(BalanceCheckpoint).where(BalanceCheckpoint.creator_id == creator_id))
    }
    currencies = session.scalars(
        select(CreatorAccount.currency)
        .where(CreatorAccount.creator_id == creator_id)
        .order_by(CreatorAccount.currency)
    )
    result = []
    for currency in currencies:
        checkpoint = checkpoints.get(currency)
        row = session.execute(
            select(
                func.count(),
                func.sum(CommissionEntry.pending_delta),
                func.sum(CommissionEntry.payable_delta),
                func.sum(CommissionEntry.in_payout_delta),
                func.sum(CommissionEntry.paid_delta),
            ).where(
                CommissionEntry.creator_id == creator_id,
                CommissionEntry.currency == currency,
                CommissionEntry.id > (checkpoint.upto_entry_id if checkpoint is not None else 0),
            )
        ).one()
        if checkpoint is None and not row[0]:
            continue
        base = (
            (
                checkpoint.pending_minor,
                checkpoint.payable_minor,
                checkpoint.in_payout_minor,
                checkpoint.paid_minor,
            )
            if checkpoint is not None
            else (0, 0, 0, 0)
        )
        values = [b + int(v or 0) for b, v in zip(base, row[1:], strict=True)]
        result.append(Balance(currency, *values))
    return result


def checkpoint_balances(session: Session, min_new_entries: int = 1000, limit: int = 500) -> int:
    """Periodic: move the checkpoint of every creator and currency with at least
    ``min_new_entries`` entries after it. Each under the account lock."""
    upto = func.coalesce(BalanceCheckpoint.upto_entry_id, 0)
    due = list(
        session.execute(
            select(CommissionEntry.creator_id, CommissionEntry.currency)
            .outerjoin(
                BalanceCheckpoint,
                and_(
                    BalanceCheckpoint.creator_id == CommissionEntry.creator_id,
                    BalanceCheckpoint.currency == CommissionEntry.currency,
                ),
            )
            .where(CommissionEntry.id > upto)
            .group_by(CommissionEntry.creator_id, CommissionEntry.currency)
            .having(func.count() >= max(1, min_new_entries))
            .limit(limit)
        )
    )
    for creator_id, currency in due:
        lock_account(session, creator_id, currency)
        checkpoint = session.get(BalanceCheckpoint, (creator_id, currency), populate_existing=True)
        start = checkpoint.upto_entry_id if checkpoint is not None else 0
        row = session.execute(
            select(
                func.max(CommissionEntry.id),
                func.count(),
                func.sum(CommissionEntry.pending_delta),
                func.sum(CommissionEntry.payable_delta),
                func.sum(CommissionEntry.in_payout_delta),
                func.sum(CommissionEntry.paid_delta),
            ).where(
                CommissionEntry.creator_id == creator_id,
                CommissionEntry.currency == currency,
                CommissionEntry.id > start,
            )
        ).one()
        if row[0] is None:
            continue
        if checkpoint is None:
            checkpoint = BalanceCheckpoint(
                creator_id=creator_id,
                currency=currency,
                upto_entry_id=0,
                entry_count=0,
                pending_minor=0,
                payable_minor=0,
                in_payout_minor=0,
                paid_minor=0,
            )
            session.add(checkpoint)
        checkpoint.upto_entry_id = int(row[0])
        checkpoint.entry_count += int(row[1])
        checkpoint.pending_minor += int(row[2] or 0)
        checkpoint.payable_minor += int(row[3] or 0)
        checkpoint.in_payout_minor += int(row[4] or 0)
        checkpoint.paid_minor += int(row[5] or 0)
        session.flush()
    return len(due)


STATUS_COLUMN = {
    "pending": CommissionEntry.pending_delta,
    "payable": CommissionEntry.payable_delta,
    "in_payout": CommissionEntry.in_payout_delta,
    "paid": CommissionEntry.paid_delta,
}


@dataclass(frozen=True)
class LedgerFilter:
    since: datetime | None = None
    until: datetime | None = None
    clip_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    status: str | None = None
    currency: str | None = None


def _ledger_query(creator_id: uuid.UUID, filters: LedgerFilter) -> Any:
    query = select(CommissionEntry).where(CommissionEntry.creator_id == creator_id)
    if filters.since is not None:
        query = query.where(CommissionEntry.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(CommissionEntry.created_at < filters.until)
    if filters.clip_id is not None:
        query = query.where(CommissionEntry.clip_id == filters.clip_id)
    if filters.organisation_id is not None:
        query = query.where(CommissionEntry.organisation_id == filters.organisation_id)
    if filters.status is not None:
        query = query.where(STATUS_COLUMN[filters.status] != 0)
    if filters.currency is not None:
        query = query.where(CommissionEntry.currency == filters.currency)
    return query


def ledger_page(
    session: Session, creator_id: uuid.UUID, filters: LedgerFilter, cursor: str | None, limit: int
) -> tuple[list[CommissionEntry], str | None]:
    """Newest first, keyset-paged on the entry id."""
    query = _ledger_query(creator_id, filters)
    after = decode_cursor(cursor)
    if after is not None:
        if not isinstance(after, dict) or not isinstance(after.get("id"), int) or not 0 < after["id"] < 2**62:
            raise InvalidCursor("The cursor is not one this API handed out")
        query = query.where(CommissionEntry.id < after["id"])
    rows = list(session.scalars(query.order_by(CommissionEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor({"id": rows[-1].id}) if more and rows else None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Text cells that a spreadsheet would read as a formula get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


LEDGER_CSV_HEADER = [
    "entry_id",
    "created_at",
    "kind",
    "currency",
    "amount_minor",
    "pending_delta",
    "payable_delta",
    "in_payout_delta",
    "paid_delta",
    "order_id",
    "clip_id",
    "organisation_id",
    "payout_id",
    "reverses_entry_id",
    "memo",
]


def ledger_csv(session: Session, creator_id: uuid.UUID, filters: LedgerFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEDGER_CSV_HEADER)
    query = _ledger_query(creator_id, filters).order_by(CommissionEntry.id)
    for index, entry in enumerate(session.scalars(query.execution_options(yield_per=1000))):
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    entry.id,
                    as_utc(entry.created_at).isoformat().replace("+00:00", "Z"),
                    entry.kind.value,
                    entry.currency,
                    entry.amount_minor,
                    entry.pending_delta,
                    entry.payable_delta,
                    entry.in_payout_delta,
                    entry.paid_delta,
                    entry.order_id or "",
                    entry.clip_id or "",
                    entry.organisation_id or "",
                    entry.payout_id or "",
                    entry.reverses_id or "",
                    entry.memo or "",
                )
            ]
        )
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def payouts_csv(session: Session, run_id: uuid.UUID) -> str:
    get_run(session, run_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "payout_id",
            "creator_id",
            "handle",
            "currency",
            "amount_minor",
            "entry_count",
            "status",
            "provider_reference",
        ]
    )
    for payout, handle in run_payouts_list(session, run_id):
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    payout.id,
                    payout.creator_id,
                    handle or "",
                    payout.currency,
                    payout.amount_minor,
                    payout.entry_count,
                    payout.status.value,
                    payout.provider_reference or "",
                )
            ]
        )
    return buffer.getvalue()


def line_commissions(session: Session, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """``{order line id: commission in minor units}`` booked for these orders' lines, net of their
    reversals (what each line costs its merchant in commission now; lines that earn nothing are
    left out). Analytics rolls it up with the sales (``app/analytics/commission.py``)."""
    c, e = OrderLineCommission, CommissionEntry
    out: dict[uuid.UUID, int] = {}
    for start in range(0, len(order_ids), 2000):
        query = (
            select(c.order_line_id, func.sum(e.amount_minor))
            .join(e, e.line_id == c.id)
            .where(
                c.order_id.in_(order_ids[start : start + 2000]),
                e.kind.in_([EntryKind.commission, EntryKind.reversal]),
            )
            .group_by(c.order_line_id)
        )
        out.update({line: int(total or 0) for line, total in session.execute(query)})
    return out


def merchant_commissions(session: Session, organisation_id: uuid.UUID) -> list[Any]:
    """Per creator, clip and currency: what the merchant's sales earned, was reversed, is still
    pending (return window) and was released to the creator."""
    earned = func.sum(func.coalesce(CommissionEntry.amount_minor, 0)).filter(
        CommissionEntry.kind == EntryKind.commission
    )
    reversed_ = func.sum(CommissionEntry.amount_minor).filter(CommissionEntry.kind == EntryKind.reversal)
    return list(
        session.execute(
            select(
                CommissionEntry.creator_id,
                CreatorProfile.handle,
                CommissionEntry.clip_id,
                CommissionEntry.currency,
                func.count(func.distinct(CommissionEntry.order_id)).label("orders"),
                earned.label("earned"),
                reversed_.label("reversed"),
                func.sum(CommissionEntry.pending_delta).label("pending"),
                func.sum(CommissionEntry.payable_delta).label("released"),
            )
            .outerjoin(CreatorProfile, CreatorProfile.user_id == CommissionEntry.creator_id)
            .where(CommissionEntry.organisation_id == organisation_id)
            .group_by(
                CommissionEntry.creator_id,
                CreatorProfile.handle,
                CommissionEntry.clip_id,
                CommissionEntry.currency,
            )
            .order_by(CreatorProfile.handle, CommissionEntry.currency, CommissionEntry.clip_id)
        )
    )


# --- profiles and storefronts -------------------------------------------------------------------


def get_creator(session: Session, handle: str) -> CreatorProfile:
    return accounts_service.get_creator_by_handle(session, handle)


def clip_grid(
    session: Session, creator_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    after = decode_cursor(cursor)
    key: tuple[datetime, uuid.UUID] | None = None
    if after is not None:
        try:
            key = (datetime.fromisoformat(after["at"]), uuid.UUID(after["id"]))
        except (TypeError, KeyError, ValueError):
            raise InvalidCursor("The cursor is not one this API handed out")
    clips = clips_service.public_clips_page(session, creator_id, key, limit + 1)
    more = len(clips) > limit
    clips = clips[:limit]
    next_cursor = (
        encode_cursor({"at": as_utc(clips[-1].created_at).isoformat(), "id": str(clips[-1].id)})
        if more and clips
        else None
    )
    return clips, next_cursor


@dataclass
class StorefrontItem:
    card: catalog_service.ProductCard
    clips: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]  # (clip_id, tag_id, sku_id)
    units_sold: int
    pinned: bool
    hidden: bool
    pinned_at: datetime | None


def storefront(session: Session, creator_id: uuid.UUID, *, include_hidden: bool) -> list[StorefrontItem]:
    """Products the creator features in ready public clips, with live price and availability
    and the clips they appear in: pinned first (latest pin first), then by units sold through
    the creator (net of refunds), then the most recently featured."""
    from app.social import service as social_service

    rows = tags_service.creator_featured_tags(session, creator_id)
    # clips hidden by moderation leave the storefront at once, with the products only they carry
    hidden = social_service.hidden_clip_ids(session, list({row[0] for row in rows})) if rows else set()
    clips: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]] = {}
    for clip_id, tag_id, sku_id, product_id, _ready_at in rows:
        if clip_id in hidden:
            continue
        clips.setdefault(product_id, [])
        if all(existing[0] != clip_id for existing in clips[product_id]):
            clips[product_id].append((clip_id, tag_id, sku_id))
    cards = catalog_service.product_cards(session, clips)
    curation = {
        row.product_id: row
        for row in session.scalars(
            select(StorefrontProduct).where(StorefrontProduct.creator_id == creator_id)
        )
    }
    sold = dict(
        session.execute(
            select(OrderLineCommission.product_id, func.sum(OrderLineCommission.quantity))
            .where(
                OrderLineCommission.creator_id == creator_id,
                OrderLineCommission.refunded_minor < OrderLineCommission.base_minor,
            )
            .group_by(OrderLineCommission.product_id)
        ).all()
    )
    order = {product_id: index for index, product_id in enumerate(clips)}
    items = []
    for product_id, card in cards.items():
        if not card.skus:
            continue
        mark = curation.get(product_id)
        if mark is not None and mark.hidden and not include_hidden:
            continue
        items.append(
            StorefrontItem(
                card,
                clips[product_id],
                int(sold.get(product_id) or 0),
                bool(mark and mark.pinned),
                bool(mark and mark.hidden),
                as_utc(mark.pinned_at) if mark and mark.pinned_at else None,
            )
        )
    items.sort(
        key=lambda i: (
            not i.pinned,
            -(i.pinned_at.timestamp() if i.pinned_at else 0),
            -i.units_sold,
            order[i.card.id],
        )
    )
    return items


def featured_product_ids(session: Session, creator_id: uuid.UUID) -> set[uuid.UUID]:
    return {row[3] for row in tags_service.creator_featured_tags(session, creator_id)}


def curate(
    session: Session,
    creator_id: uuid.UUID,
    product_id: uuid.UUID,
    *,
    pinned: bool | None,
    hidden: bool | None,
) -> StorefrontProduct:
    if product_id not in featured_product_ids(session, creator_id):
        raise ProductNotFeatured("That product is not tagged in any of your ready public clips")
    mark = session.get(StorefrontProduct, (creator_id, product_id))
    if mark is None:
        mark = StorefrontProduct(creator_id=creator_id, product_id=product_id, pinned=False, hidden=False)
        session.add(mark)
    if pinned is not None:
        if pinned and not mark.pinned:
            mark.pinned_at = utcnow()
        if not pinned:
            mark.pinned_at = None
        mark.pinned = pinned
    if hidden is not None:
        mark.hidden = hidden
    session.flush()
    return mark


def list_idea_lists(session: Session, creator_id: uuid.UUID) -> list[IdeaList]:
    return list(
        session.scalars(
            select(IdeaList)
            .where(IdeaList.creator_id == creator_id)
            .order_by(IdeaList.position, IdeaList.created_at)
        )
    )


def get_idea_list(session: Session, idea_list_id: uuid.UUID, creator_id: uuid.UUID | None = None) -> IdeaList:
    idea_list = session.get(IdeaList, idea_list_id)
    if idea_list is None or (creator_id is not None and idea_list.creator_id != creator_id):
        raise IdeaListNotFound("No such idea list")
    return idea_list


def idea_list_products(
    session: Session, idea_list_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[IdeaListItem]]:
    result: dict[uuid.UUID, list[IdeaListItem]] = {i: [] for i in idea_list_ids}
    if idea_list_ids:
        for item in session.scalars(
            select(IdeaListItem)
            .where(IdeaListItem.idea_list_id.in_(idea_list_ids))
            .order_by(IdeaListItem.position)
        ):
            result[item.idea_list_id].append(item)
    return result


def save_idea_list(
    session: Session,
    creator_id: uuid.UUID,
    idea_list_id: uuid.UUID | None,
    *,
    name: str,
    description: str | None,
    product_ids: list[uuid.UUID],
    position: int | None,
) -> IdeaList:
    """Create (``idea_list_id`` None) or replace an idea list; products keep the given order and
    must be featured on the creator's storefront."""
    featured = featured_product_ids(session, creator_id)
    missing = [str(p) for p in dict.fromkeys(product_ids) if p not in featured]
    if missing:
        raise ProductNotFeatured(f"Not on your storefront: {', '.join(missing)}")
    if idea_list_id is None:
        count = len(list_idea_lists(session, creator_id))
        idea_list = IdeaList(
            id=uuid.uuid4(), creator_id=creator_id, position=count if position is None else position
        )
        session.add(idea_list)
    else:
        idea_list = get_idea_list(session, idea_list_id, creator_id)
        if position is not None:
            idea_list.position = position
    idea_list.name = name
    idea_list.description = description
    session.flush()
    session.execute(delete(IdeaListItem).where(IdeaListItem.idea_list_id == idea_list.id))
    for index, product_id in enumerate(dict.fromkeys(product_ids)):
        session.add(IdeaListItem(idea_list_id=idea_list.id, product_id=product_id, position=index))
    session.flush()
    return idea_list


def delete_idea_list(session: Session, creator_id: uuid.UUID, idea_list_id: uuid.UUID) -> None:
    idea_list = get_idea_list(session, idea_list_id, creator_id)
    session.execute(delete(IdeaListItem).where(IdeaListItem.idea_list_id == idea_list.id))
    session.delete(idea_list)
    session.flush()


def creator_user(session: Session, creator_id: uuid.UUID) -> User:
    return accounts_service.get_user(session, creator_id)
