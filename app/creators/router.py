"""Creator programme routes: admission, rates and collaborations, earnings and payouts, public
profiles, storefronts and idea lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.dependencies import AdminUser, CreatorUser, MerchantUser, OptionalUser
from app.accounts.schemas import AvatarUrls
from app.catalog import service as catalog_service
from app.catalog.dependencies import OrganisationId, unit_of_work_in_this_thread
from app.clips import service as clips_service
from app.clips.schemas import PlaybackRead
from app.config import get_settings
from app.creators import service
from app.creators.models import Collaboration, CommissionEntry, CreatorAdmission, IdeaList, Payout
from app.creators.schemas import (
    AdmissionOverride,
    AdmissionRead,
    ApplicationCreate,
    BalanceRead,
    BuyAction,
    ClipCard,
    ClipGrid,
    CollaborationCreate,
    CollaborationPage,
    CollaborationRead,
    CreatorPublicProfile,
    CriterionResult,
    EarningsSummary,
    IdeaListPage,
    IdeaListRead,
    IdeaListWrite,
    InvitationRead,
    LedgerEntryRead,
    LedgerPage,
    MerchantCommissionPage,
    MerchantCommissionRow,
    MyCollaborationPage,
    MyCollaborationRead,
    OpenProductPage,
    OpenProductRead,
    PayoutPage,
    PayoutRead,
    PayoutRunCreate,
    PayoutRunPage,
    PayoutRunRead,
    PayoutSettle,
    PayoutWebhookAck,
    ProductCardRead,
    RatesDocument,
    RatesRead,
    SkuOffer,
    StorefrontClip,
    StorefrontCurate,
    StorefrontCurationRead,
    StorefrontItemRead,
    StorefrontPage,
    ThresholdsList,
    ThresholdsRead,
    ThresholdsUpdate,
)
from app.db import SessionDep, as_utc
from app.errors import problem_responses

router = APIRouter(tags=["creators"])

Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=100)]


# --- presenters ---------------------------------------------------------------------------------


def _admission_read(admission: CreatorAdmission) -> AdmissionRead:
    return AdmissionRead(
        creator_id=admission.creator_id,
        status=admission.status,
        category=admission.category,
        evaluation=[CriterionResult(**item) for item in admission.evaluation],
        evaluated_at=as_utc(admission.evaluated_at),
        next_evaluation_at=as_utc(admission.next_evaluation_at) if admission.next_evaluation_at else None,
        decided_by_operator=admission.overridden_by is not None,
        note=admission.override_note,
    )


def _card_fields(card: catalog_service.ProductCard) -> dict[str, Any]:
    return {
        "product_id": card.id,
        "organisation_id": card.organisation_id,
        "title": card.title,
        "brand": card.brand,
        "category": card.category,
        "image_url": card.image_url,
        "interests": card.interests,
        "skus": [
            SkuOffer(
                sku_id=s[0], sku=s[1], price_minor=s[2], currency=s[3], available=s[4], availability=s[5]
            )
            for s in card.skus
        ],
    }


def _collaboration_read(collaboration: Collaboration, invitations: list[Any]) -> CollaborationRead:
    return CollaborationRead(
        id=collaboration.id,
        organisation_id=collaboration.organisation_id,
        kind=collaboration.kind,
        product_id=collaboration.product_id,
        rate_bps=collaboration.rate_bps,
        brief=collaboration.brief,
        ends_at=as_utc(collaboration.ends_at) if collaboration.ends_at else None,
        ended_at=as_utc(collaboration.ended_at) if collaboration.ended_at else None,
        live=service.collaboration_is_live(collaboration),
        created_at=as_utc(collaboration.created_at),
        invitations=[
            InvitationRead(
                creator_id=invitation.creator_id,
                handle=handle,
                status=invitation.status,
                decided_at=as_utc(invitation.decided_at) if invitation.decided_at else None,
            )
            for invitation, handle in invitations
        ],
    )


def _entry_read(entry: CommissionEntry) -> LedgerEntryRead:
    return LedgerEntryRead(
        id=entry.id,
        created_at=as_utc(entry.created_at),
        kind=entry.kind,
        currency=entry.currency,
        amount_minor=entry.amount_minor,
        pending_delta=entry.pending_delta,
        payable_delta=entry.payable_delta,
        in_payout_delta=entry.in_payout_delta,
        paid_delta=entry.paid_delta,
        order_id=entry.order_id,
        clip_id=entry.clip_id,
        organisation_id=entry.organisation_id,
        payout_id=entry.payout_id,
        reverses_entry_id=entry.reverses_id,
        memo=entry.memo,
    )


def _payout_read(payout: Payout, handle: str | None = None) -> PayoutRead:
    return PayoutRead(
        id=payout.id,
        run_id=payout.run_id,
        creator_id=payout.creator_id,
        handle=handle,
        currency=payout.currency,
        amount_minor=payout.amount_minor,
        entry_count=payout.entry_count,
        status=payout.status,
        provider_reference=payout.provider_reference,
        created_at=as_utc(payout.created_at),
        paid_at=as_utc(payout.paid_at) if payout.paid_at else None,
        failed_at=as_utc(payout.failed_at) if payout.failed_at else None,
    )


def _run_read(session: Session, run: Any) -> PayoutRunRead:
    return PayoutRunRead(
        id=run.id,
        key=run.key,
        threshold_minor=run.threshold_minor,
        created_at=as_utc(run.created_at),
        payouts=[_payout_read(p, h) for p, h in service.run_payouts_list(session, run.id)],
        csv_url=f"{get_settings().public_base_url.rstrip('/')}/v1/admin/payout-runs/{run.id}/payouts.csv",
    )


def _clip_card(clip: Any) -> ClipCard:
    return ClipCard(
        id=clip.id,
        caption=clip.caption,
        duration_ms=clip.duration_ms,
        playback=PlaybackRead(**clips_service.playback(clip)),
        created_at=as_utc(clip.created_at),
    )


def _idea_list_read(session: Session, idea_list: IdeaList, handle: str) -> IdeaListRead:
    items = service.idea_list_products(session, [idea_list.id])[idea_list.id]
    cards = catalog_service.product_cards(session, [item.product_id for item in items])
    base = get_settings().public_base_url.rstrip("/")
    return IdeaListRead(
        id=idea_list.id,
        creator_id=idea_list.creator_id,
        handle=handle,
        name=idea_list.name,
        description=idea_list.description,
        position=idea_list.position,
        share_url=f"{base}/v1/idea-lists/{idea_list.id}",
        items=[ProductCardRead(**_card_fields(cards[i.product_id])) for i in items if i.product_id in cards],
        created_at=as_utc(idea_list.created_at),
        updated_at=as_utc(idea_list.updated_at),
    )


def _handle_of(session: Session, user_id: uuid.UUID) -> str:
    profile = accounts_service.get_creator_profile(session, user_id)
    return profile.handle if profile is not None else ""


# --- admission ----------------------------------------------------------------------------------


@router.post(
    "/v1/me/creator-programme/application",
    response_model=AdmissionRead,
    operation_id="creators_apply",
    summary="Apply to the creator programme (or ask to be evaluated again)",
    description=(
        "Creators only. Evaluates the caller's audience on ClipShop against the thresholds of the "
        "interest category at once and answers `admitted`, `waitlisted` or `rejected` with every "
        "criterion's reason in plain words and what to improve. Re-evaluated periodically. An "
        "operator's decision stands. Problems: `unknown_category` (422)."
    ),
    responses=problem_responses(401, 403, 422),
)
def apply(data: ApplicationCreate, user: CreatorUser, session: SessionDep) -> AdmissionRead:
    return _admission_read(service.apply(session, user.id, data.category))


@router.get(
    "/v1/me/creator-programme/application",
    response_model=AdmissionRead,
    operation_id="creators_get_application",
    summary="The caller's admission status and reasons",
    description="Creators only. Problems: `not_applied` (404).",
    responses=problem_responses(401, 403, 404),
)
def get_application(user: CreatorUser, session: SessionDep) -> AdmissionRead:
    return _admission_read(service.get_admission(session, user.id))


@router.get(
    "/v1/admin/creator-programme/thresholds",
    response_model=ThresholdsList,
    operation_id="creators_list_thresholds",
    summary="Admission thresholds per interest category",
    description="Admins only. `default` applies to categories without their own value.",
    responses=problem_responses(401, 403),
)
def list_thresholds(user: AdminUser, session: SessionDep) -> ThresholdsList:
    return ThresholdsList(
        items=[ThresholdsRead(category=c, thresholds=t) for c, t in service.list_thresholds(session)],
        criteria=list(service.CRITERIA),
    )


@router.put(
    "/v1/admin/creator-programme/thresholds/{category}",
    response_model=ThresholdsRead,
    operation_id="creators_set_thresholds",
    summary="Set the admission thresholds of one interest category",
    description="Admins only. Problems: `unknown_category` (422) for an unknown category or criterion.",
    responses=problem_responses(401, 403, 422),
)
def set_thresholds(
    category: str, data: ThresholdsUpdate, user: AdminUser, session: SessionDep
) -> ThresholdsRead:
    return ThresholdsRead(
        category=category, thresholds=service.set_thresholds(session, category, data.thresholds)
    )


@router.put(
    "/v1/admin/creators/{creator_id}/admission",
    response_model=AdmissionRead,
    operation_id="creators_override_admission",
    summary="Admit, waitlist, reject or suspend a creator (or hand back to the thresholds)",
    description="Admins only. Problems: `creator_not_found` (404).",
    responses=problem_responses(401, 403, 404, 422),
)
def override_admission(
    creator_id: uuid.UUID, data: AdmissionOverride, user: AdminUser, session: SessionDep
) -> AdmissionRead:
    return _admission_read(service.override_admission(session, creator_id, data.status, data.note, user.id))


# --- rates and collaborations -------------------------------------------------------------------


def _rates_read(session: Session, organisation_id: uuid.UUID) -> RatesRead:
    programme, rates = service.get_rates(session, organisation_id)
    settings = get_settings()
    return RatesRead(
        default_rate_bps=programme.default_rate_bps if programme else None,
        return_window_days=programme.return_window_days if programme else None,
        category_rates={r.category: r.rate_bps for r in rates if r.category is not None},
        product_rates={r.product_id: r.rate_bps for r in rates if r.product_id is not None},
        platform_default_rate_bps=settings.creator_default_rate_bps,
        platform_return_window_days=settings.creator_return_window_days,
    )


@router.get(
    "/v1/merchant/commission-rates",
    response_model=RatesRead,
    operation_id="creators_get_rates",
    summary="The organisation's commission rates and return window",
    description="Merchants (of the organisation) only.",
    responses=problem_responses(401, 403),
)
def get_rates(organisation_id: OrganisationId, session: SessionDep) -> RatesRead:
    return _rates_read(session, organisation_id)


@router.put(
    "/v1/merchant/commission-rates",
    response_model=RatesRead,
    operation_id="creators_set_rates",
    summary="Replace the organisation's commission rates",
    description=(
        "Merchants only. Product rate beats category rate beats default rate; collaborations may "
        "pay more. Applies to purchases from now on. Problems: `invalid_rates` (422)."
    ),
    responses=problem_responses(401, 403, 422),
)
def set_rates(data: RatesDocument, organisation_id: OrganisationId, session: SessionDep) -> RatesRead:
    for rate in [*data.category_rates.values(), *data.product_rates.values()]:
        if not 0 <= rate <= 10_000:
            from app.creators.exceptions import InvalidRates

            raise InvalidRates("Rates are basis points between 0 and 10000")
    service.set_rates(
        session,
        organisation_id,
        default_rate_bps=data.default_rate_bps,
        return_window_days=data.return_window_days,
        category_rates=data.category_rates,
        product_rates=data.product_rates,
    )
    return _rates_read(session, organisation_id)


@router.post(
    "/v1/merchant/collaborations",
    response_model=CollaborationRead,
    status_code=status.HTTP_201_CREATED,
    operation_id="creators_create_collaboration",
    summary="Open a collaboration, or invite chosen creators to one",
    description=(
        "Merchants only. `open`: any admitted creator featuring the product (or any product of "
        "yours when `product_id` is null) earns `rate_bps`. `targeted`: the creators in "
        "`creator_handles` are invited and earn it once they accept, until `ends_at`. Problems: "
        "`invalid_collaboration` (422)."
    ),
    responses=problem_responses(401, 403, 422),
)
def create_collaboration(
    data: CollaborationCreate, organisation_id: OrganisationId, user: MerchantUser, session: SessionDep
) -> CollaborationRead:
    collaboration = service.create_collaboration(
        session,
        organisation_id,
        user.id,
        kind=data.kind,
        product_id=data.product_id,
        rate_bps=data.rate_bps,
        brief=data.brief,
        ends_at=data.ends_at,
        creator_handles=data.creator_handles,
    )
    invitations = service.collaboration_invitations(session, [collaboration.id])[collaboration.id]
    return _collaboration_read(collaboration, invitations)


@router.get(
    "/v1/merchant/collaborations",
    response_model=CollaborationPage,
    operation_id="creators_list_collaborations",
    summary="The organisation's collaborations with their invitations",
    description="Merchants only. Newest first.",
    responses=problem_responses(400, 401, 403),
)
def list_collaborations(
    organisation_id: OrganisationId, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> CollaborationPage:
    items, next_cursor = service.page_list(
        service.list_merchant_collaborations(session, organisation_id), cursor, limit
    )
    invitations = service.collaboration_invitations(session, [c.id for c in items])
    return CollaborationPage(
        items=[_collaboration_read(c, invitations[c.id]) for c in items], next_cursor=next_cursor
    )


@router.post(
    "/v1/merchant/collaborations/{collaboration_id}/end",
    response_model=CollaborationRead,
    operation_id="creators_end_collaboration",
    summary="End a collaboration now",
    description="Merchants only. Purchases after this earn the standard rate. Problems: `collaboration_not_found` (404).",
    responses=problem_responses(401, 403, 404),
)
def end_collaboration(
    collaboration_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep
) -> CollaborationRead:
    collaboration = service.end_collaboration(session, organisation_id, collaboration_id)
    invitations = service.collaboration_invitations(session, [collaboration.id])[collaboration.id]
    return _collaboration_read(collaboration, invitations)


def _my_collaboration(invitation: Any, collaboration: Collaboration) -> MyCollaborationRead:
    return MyCollaborationRead(
        collaboration_id=collaboration.id,
        organisation_id=collaboration.organisation_id,
        product_id=collaboration.product_id,
        rate_bps=collaboration.rate_bps,
        brief=collaboration.brief,
        ends_at=as_utc(collaboration.ends_at) if collaboration.ends_at else None,
        live=service.collaboration_is_live(collaboration),
        status=invitation.status,
        decided_at=as_utc(invitation.decided_at) if invitation.decided_at else None,
    )


@router.get(
    "/v1/me/collaborations",
    response_model=MyCollaborationPage,
    operation_id="creators_list_my_invitations",
    summary="Collaborations the caller was invited to",
    description="Creators only. Newest first.",
    responses=problem_responses(400, 401, 403),
)
def my_invitations(
    user: CreatorUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> MyCollaborationPage:
    items, next_cursor = service.page_list(service.my_invitations(session, user.id), cursor, limit)
    return MyCollaborationPage(items=[_my_collaboration(i, c) for i, c in items], next_cursor=next_cursor)


@router.post(
    "/v1/me/collaborations/{collaboration_id}/accept",
    response_model=MyCollaborationRead,
    operation_id="creators_accept_invitation",
    summary="Accept a targeted collaboration",
    description=(
        "Creators only (the invited one). Problems: `invitation_not_found` (404), "
        "`invitation_already_decided`, `collaboration_ended` (409)."
    ),
    responses=problem_responses(401, 403, 404, 409),
)
def accept_invitation(
    collaboration_id: uuid.UUID, user: CreatorUser, session: SessionDep
) -> MyCollaborationRead:
    return _my_collaboration(*service.decide_invitation(session, user.id, collaboration_id, True))


@router.post(
    "/v1/me/collaborations/{collaboration_id}/decline",
    response_model=MyCollaborationRead,
    operation_id="creators_decline_invitation",
    summary="Decline a targeted collaboration",
    description="Creators only (the invited one). Problems: `invitation_not_found` (404), `invitation_already_decided` (409).",
    responses=problem_responses(401, 403, 404, 409),
)
def decline_invitation(
    collaboration_id: uuid.UUID, user: CreatorUser, session: SessionDep
) -> MyCollaborationRead:
    return _my_collaboration(*service.decide_invitation(session, user.id, collaboration_id, False))


@router.get(
    "/v1/me/creator-programme/products",
    response_model=OpenProductPage,
    operation_id="creators_browse_open_products",
    summary="Products open to collaboration, with the rate the caller would earn",
    description=(
        "Creators only. Open collaborations and targeted ones the caller was invited to; filter by "
        "interest slug, minimum rate, price range and stock. Best rate first. Tag a SKU of one on "
        "your clip (`POST /v1/clips/{clip_id}/tags`) to feature it."
    ),
    responses=problem_responses(400, 401, 403),
)
def browse_open_products(
    user: CreatorUser,
    session: SessionDep,
    interest: Annotated[str | None, Query(max_length=64)] = None,
    min_rate_bps: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    min_price_minor: Annotated[int | None, Query(ge=0, le=2_000_000_000)] = None,
    max_price_minor: Annotated[int | None, Query(ge=0, le=2_000_000_000)] = None,
    in_stock: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> OpenProductPage:
    found = service.browse_open_products(
        session,
        user.id,
        interest=interest,
        min_rate_bps=min_rate_bps,
        min_price_minor=min_price_minor,
        max_price_minor=max_price_minor,
        in_stock=in_stock,
    )
    items, next_cursor = service.page_list(found, cursor, limit)
    return OpenProductPage(
        items=[
            OpenProductRead(
                **_card_fields(item.card),
                rate_bps=item.rate.rate_bps,
                rate_source=item.rate.source,
                collaboration_ids=item.collaboration_ids,
                tag_with="POST /v1/clips/{clip_id}/tags",
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )


# --- earnings -----------------------------------------------------------------------------------


@router.get(
    "/v1/me/earnings",
    response_model=EarningsSummary,
    operation_id="creators_earnings_summary",
    summary="The caller's commission balances per currency",
    description="Creators only. Pending, payable, in payout and paid, each summed from the ledger.",
    responses=problem_responses(401, 403),
)
def earnings(user: CreatorUser, session: SessionDep) -> EarningsSummary:
    return EarningsSummary(
        creator_id=user.id,
        admission_status=service.admission_statuses(session, [user.id]).get(user.id),
        balances=[BalanceRead(**vars(b)) for b in service.balances(session, user.id)],
    )


def _ledger_filter(
    since: datetime | None,
    until: datetime | None,
    clip_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    entry_status: str | None,
    currency: str | None,
) -> service.LedgerFilter:
    return service.LedgerFilter(since, until, clip_id, organisation_id, entry_status, currency)


LedgerStatus = Annotated[
    str | None,
    Query(
        alias="status",
        pattern="^(pending|payable|in_payout|paid)$",
        description="Entries that moved money in or out of this balance",
    ),
]
Since = Annotated[datetime | None, Query(alias="from", description="Period start (inclusive)")]
Until = Annotated[datetime | None, Query(alias="to", description="Period end (exclusive)")]
Currency = Annotated[str | None, Query(min_length=3, max_length=3)]


@router.get(
    "/v1/me/earnings/ledger",
    response_model=LedgerPage,
    operation_id="creators_ledger",
    summary="The caller's commission ledger, newest first",
    description=(
        "Creators only. Filters: period (`from`, `to`), `clip_id`, `organisation_id` (merchant), "
        "`status` (pending/payable/in_payout/paid), `currency`. Problems: `invalid_cursor` (400)."
    ),
    responses=problem_responses(400, 401, 403),
)
def ledger(
    user: CreatorUser,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
    clip_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    entry_status: LedgerStatus = None,
    currency: Currency = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> LedgerPage:
    filters = _ledger_filter(since, until, clip_id, organisation_id, entry_status, currency)
    entries, next_cursor = service.ledger_page(session, user.id, filters, cursor, limit)
    return LedgerPage(items=[_entry_read(e) for e in entries], next_cursor=next_cursor)


@router.get(
    "/v1/me/earnings/ledger.csv",
    operation_id="creators_ledger_csv",
    summary="The caller's commission ledger as CSV",
    description="Creators only. Same filters as the ledger; text cells are escaped against formula injection.",
    responses={
        200: {"content": {"text/csv": {"example": "entry_id,created_at,kind,...\n"}}},
        **problem_responses(401, 403),
    },
    response_class=StreamingResponse,
)
def ledger_csv(
    user: CreatorUser,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
    clip_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    entry_status: LedgerStatus = None,
    currency: Currency = None,
) -> Response:
    filters = _ledger_filter(since, until, clip_id, organisation_id, entry_status, currency)
    body = "".join(service.ledger_csv(session, user.id, filters))
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="commission-ledger.csv"'},
    )


@router.get(
    "/v1/me/payouts",
    response_model=PayoutPage,
    operation_id="creators_my_payouts",
    summary="The caller's payouts",
    description="Creators only. Newest first.",
    responses=problem_responses(400, 401, 403),
)
def my_payouts(
    user: CreatorUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> PayoutPage:
    items, next_cursor = service.page_list(service.creator_payouts(session, user.id), cursor, limit)
    return PayoutPage(items=[_payout_read(p) for p in items], next_cursor=next_cursor)


@router.get(
    "/v1/merchant/commissions",
    response_model=MerchantCommissionPage,
    operation_id="creators_merchant_commissions",
    summary="Commissions the organisation's sales earned, per creator and clip",
    description="Merchants only. Earned, reversed, still pending (return window) and released, per currency.",
    responses=problem_responses(400, 401, 403),
)
def merchant_commissions(
    organisation_id: OrganisationId, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> MerchantCommissionPage:
    rows = service.merchant_commissions(session, organisation_id)
    items, next_cursor = service.page_list(rows, cursor, limit)
    return MerchantCommissionPage(
        items=[
            MerchantCommissionRow(
                creator_id=r.creator_id,
                handle=r.handle,
                clip_id=r.clip_id,
                currency=r.currency,
                orders=int(r.orders or 0),
                earned_minor=int(r.earned or 0),
                reversed_minor=int(r.reversed or 0),
                pending_minor=int(r.pending or 0),
                released_minor=int(r.released or 0),
            )
            for r in items
        ],
        next_cursor=next_cursor,
    )


# --- payouts ------------------------------------------------------------------------------------


@router.post(
    "/v1/admin/payout-runs",
    response_model=PayoutRunRead,
    status_code=status.HTTP_201_CREATED,
    operation_id="creators_run_payouts",
    summary="Run payouts: every creator whose payable balance reaches the threshold",
    description=(
        "Admins only. Idempotent by `key`: the same key answers the first run (200) and pays "
        "nobody twice; an entry is settled by one payout at most. Each payout is announced as "
        "`payout.created`."
    ),
    responses={
        200: {"model": PayoutRunRead, "description": "The run of that key already exists"},
        **problem_responses(401, 403, 422),
    },
)
def run_payouts(
    data: PayoutRunCreate, user: AdminUser, session: SessionDep, response: Response
) -> PayoutRunRead:
    run, created = service.run_payouts(
        session, key=data.key, threshold_minor=data.threshold_minor, actor_id=user.id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _run_read(session, run)


@router.get(
    "/v1/admin/payout-runs",
    response_model=PayoutRunPage,
    operation_id="creators_list_payout_runs",
    summary="Payout runs, newest first",
    description="Admins only.",
    responses=problem_responses(400, 401, 403),
)
def list_runs(
    user: AdminUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> PayoutRunPage:
    items, next_cursor = service.page_list(service.list_runs(session), cursor, limit)
    return PayoutRunPage(items=[_run_read(session, r) for r in items], next_cursor=next_cursor)


@router.get(
    "/v1/admin/payout-runs/{run_id}",
    response_model=PayoutRunRead,
    operation_id="creators_get_payout_run",
    summary="One payout run with its payouts",
    description="Admins only. Problems: `payout_run_not_found` (404).",
    responses=problem_responses(401, 403, 404),
)
def get_run(run_id: uuid.UUID, user: AdminUser, session: SessionDep) -> PayoutRunRead:
    return _run_read(session, service.get_run(session, run_id))


@router.get(
    "/v1/admin/payout-runs/{run_id}/payouts.csv",
    operation_id="creators_payout_run_csv",
    summary="A payout run's payouts as CSV (for the payout provider)",
    description="Admins only. Problems: `payout_run_not_found` (404).",
    responses={
        200: {"content": {"text/csv": {"example": "payout_id,creator_id,handle,...\n"}}},
        **problem_responses(401, 403, 404),
    },
    response_class=Response,
)
def run_csv(run_id: uuid.UUID, user: AdminUser, session: SessionDep) -> Response:
    return Response(
        service.payouts_csv(session, run_id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="payouts-{run_id}.csv"'},
    )


@router.post(
    "/v1/admin/payouts/{payout_id}/settle",
    response_model=PayoutRead,
    operation_id="creators_settle_payout",
    summary="Mark a payout paid (or failed: its money goes back to payable)",
    description=(
        "Admins only. Repeating the same outcome is a no-op. Announced as `payout.paid`. "
        "Problems: `payout_not_found` (404), `payout_already_settled` (409)."
    ),
    responses=problem_responses(401, 403, 404, 409),
)
def settle_payout(
    payout_id: uuid.UUID, data: PayoutSettle, user: AdminUser, session: SessionDep
) -> PayoutRead:
    payout = service.settle_payout(
        session, payout_id, paid=data.status == "paid", reference=data.provider_reference
    )
    return _payout_read(payout)


@router.post(
    "/v1/payouts/webhook",
    response_model=PayoutWebhookAck,
    operation_id="creators_payout_webhook",
    summary="Payout provider callback",
    description=(
        "The payout provider, signed like payment webhooks: `ClipShop-Signature: t=<unix>,v1=<hex>` "
        "with HMAC-SHA256(`CLIPSHOP_CREATOR_PAYOUT_WEBHOOK_SECRET`, `<t>.<raw body>`). Body "
        '`{"type": "payout.paid"|"payout.failed", "data": {"payout_id", "reference"}}`. Problems: '
        "`invalid_signature`, `signature_expired`, `invalid_webhook` (400), `payout_not_found` (404), "
        "`payout_already_settled` (409)."
    ),
    responses=problem_responses(400, 404, 409, 503),
    openapi_extra={"x-required-headers": ["ClipShop-Signature"], "x-access": "webhook_signature"},
)
async def payout_webhook(request: Request, session: SessionDep) -> PayoutWebhookAck:
    from starlette.concurrency import run_in_threadpool

    from app.commerce.service import SIGNATURE_HEADER

    body = await request.body()
    signature = request.headers.get(SIGNATURE_HEADER)

    def handle() -> PayoutWebhookAck:
        with unit_of_work_in_this_thread(session):
            payout = service.payout_callback(session, body, signature)
            return PayoutWebhookAck(payout_id=payout.id, status=payout.status)

    return await run_in_threadpool(handle)


# --- profiles, storefronts, idea lists ----------------------------------------------------------


@router.get(
    "/v1/creators/{handle}",
    response_model=CreatorPublicProfile,
    operation_id="creators_get_profile",
    summary="A creator's public profile",
    description=(
        "Anyone. Follower count, the first page of the clip grid (ready public clips, newest "
        "first), and the storefront link; for a signed-in caller (guests too), `following` says "
        "whether they follow the creator. Problems: `creator_not_found` (404)."
    ),
    responses=problem_responses(404),
)
def get_profile(
    handle: str, session: SessionDep, viewer: OptionalUser, limit: Limit = 12
) -> CreatorPublicProfile:
    from app.feed import service as feed_service

    profile = service.get_creator(session, handle)
    clips, next_cursor = service.clip_grid(session, profile.user_id, None, limit)
    urls = accounts_service.avatar_urls(profile)
    base = get_settings().public_base_url.rstrip("/")
    return CreatorPublicProfile(
        user_id=profile.user_id,
        handle=profile.handle,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar=AvatarUrls(**urls) if urls else None,
        follower_count=feed_service.follower_count(session, profile.user_id),
        clip_count=clips_service.public_clip_count(session, profile.user_id),
        programme_member=service.is_admitted(session, profile.user_id),
        following=feed_service.is_following(session, viewer.id, profile.user_id) if viewer else None,
        storefront_url=f"{base}/v1/creators/{profile.handle}/storefront",
        clips=ClipGrid(items=[_clip_card(c) for c in clips], next_cursor=next_cursor),
    )


@router.get(
    "/v1/creators/{handle}/clips",
    response_model=ClipGrid,
    operation_id="creators_clip_grid",
    summary="A creator's clip grid (ready public clips, newest first)",
    description="Anyone. Problems: `creator_not_found` (404), `invalid_cursor` (400).",
    responses=problem_responses(400, 404),
)
def clip_grid(handle: str, session: SessionDep, cursor: Cursor = None, limit: Limit = 12) -> ClipGrid:
    profile = service.get_creator(session, handle)
    clips, next_cursor = service.clip_grid(session, profile.user_id, cursor, limit)
    return ClipGrid(items=[_clip_card(c) for c in clips], next_cursor=next_cursor)


def _storefront_items(items: list[service.StorefrontItem]) -> list[StorefrontItemRead]:
    result = []
    for item in items:
        skus = item.card.skus
        in_stock = [s for s in skus if s[4] > 0]
        cheapest = min(in_stock or skus, key=lambda s: s[2])
        clip_id, tag_id, sku_id = item.clips[0]
        result.append(
            StorefrontItemRead(
                **_card_fields(item.card),
                price_minor=cheapest[2],
                currency=cheapest[3],
                in_stock=bool(in_stock),
                units_sold=item.units_sold,
                pinned=item.pinned,
                hidden=item.hidden,
                clips=[StorefrontClip(clip_id=c, tag_id=t, sku_id=s) for c, t, s in item.clips],
                buy=BuyAction(clip_id=clip_id, tag_id=tag_id, sku_id=sku_id),
            )
        )
    return result


@router.get(
    "/v1/creators/{handle}/storefront",
    response_model=StorefrontPage,
    operation_id="creators_get_storefront",
    summary="A creator's storefront",
    description=(
        "Anyone. The products the creator features in ready public clips, with live price and "
        "availability and the clips they appear in: pinned first, then by units sold through the "
        "creator. Buying with an item's `buy` (clip and tag) attributes the purchase to the "
        "creator like a tag's. Problems: `creator_not_found` (404), `invalid_cursor` (400)."
    ),
    responses=problem_responses(400, 404),
)
def get_storefront(
    handle: str, session: SessionDep, cursor: Cursor = None, limit: Limit = 24
) -> StorefrontPage:
    profile = service.get_creator(session, handle)
    items, next_cursor = service.page_list(
        service.storefront(session, profile.user_id, include_hidden=False), cursor, limit
    )
    return StorefrontPage(handle=profile.handle, items=_storefront_items(items), next_cursor=next_cursor)


@router.get(
    "/v1/me/storefront",
    response_model=StorefrontPage,
    operation_id="creators_get_my_storefront",
    summary="The caller's storefront, hidden products included",
    description="Creators only. Problems: `invalid_cursor` (400).",
    responses=problem_responses(400, 401, 403),
)
def my_storefront(
    user: CreatorUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 24
) -> StorefrontPage:
    items, next_cursor = service.page_list(
        service.storefront(session, user.id, include_hidden=True), cursor, limit
    )
    return StorefrontPage(
        handle=_handle_of(session, user.id), items=_storefront_items(items), next_cursor=next_cursor
    )


@router.put(
    "/v1/me/storefront/products/{product_id}",
    response_model=StorefrontCurationRead,
    operation_id="creators_curate_storefront",
    summary="Pin or hide a product on the caller's storefront",
    description="Creators only. Problems: `product_not_featured` (422).",
    responses=problem_responses(401, 403, 422),
)
def curate(
    product_id: uuid.UUID, data: StorefrontCurate, user: CreatorUser, session: SessionDep
) -> StorefrontCurationRead:
    mark = service.curate(session, user.id, product_id, pinned=data.pinned, hidden=data.hidden)
    return StorefrontCurationRead(product_id=mark.product_id, pinned=mark.pinned, hidden=mark.hidden)


@router.get(
    "/v1/me/idea-lists",
    response_model=IdeaListPage,
    operation_id="creators_list_my_idea_lists",
    summary="The caller's idea lists, in their order",
    description="Creators only.",
    responses=problem_responses(400, 401, 403),
)
def my_idea_lists(
    user: CreatorUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> IdeaListPage:
    items, next_cursor = service.page_list(service.list_idea_lists(session, user.id), cursor, limit)
    handle = _handle_of(session, user.id)
    return IdeaListPage(items=[_idea_list_read(session, i, handle) for i in items], next_cursor=next_cursor)


@router.post(
    "/v1/me/idea-lists",
    response_model=IdeaListRead,
    status_code=status.HTTP_201_CREATED,
    operation_id="creators_create_idea_list",
    summary="Group storefront products into a named, ordered, shareable idea list",
    description="Creators only. Products must be on the caller's storefront. Problems: `product_not_featured` (422).",
    responses=problem_responses(401, 403, 422),
)
def create_idea_list(data: IdeaListWrite, user: CreatorUser, session: SessionDep) -> IdeaListRead:
    idea_list = service.save_idea_list(
        session,
        user.id,
        None,
        name=data.name,
        description=data.description,
        product_ids=data.product_ids,
        position=data.position,
    )
    return _idea_list_read(session, idea_list, _handle_of(session, user.id))


@router.put(
    "/v1/me/idea-lists/{idea_list_id}",
    response_model=IdeaListRead,
    operation_id="creators_update_idea_list",
    summary="Replace an idea list (name, description, products in order)",
    description="Creators only (the owner). Problems: `idea_list_not_found` (404), `product_not_featured` (422).",
    responses=problem_responses(401, 403, 404, 422),
)
def update_idea_list(
    idea_list_id: uuid.UUID, data: IdeaListWrite, user: CreatorUser, session: SessionDep
) -> IdeaListRead:
    idea_list = service.save_idea_list(
        session,
        user.id,
        idea_list_id,
        name=data.name,
        description=data.description,
        product_ids=data.product_ids,
        position=data.position,
    )
    return _idea_list_read(session, idea_list, _handle_of(session, user.id))


@router.delete(
    "/v1/me/idea-lists/{idea_list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="creators_delete_idea_list",
    summary="Delete an idea list",
    description="Creators only (the owner). Problems: `idea_list_not_found` (404).",
    responses=problem_responses(401, 403, 404),
)
def delete_idea_list(idea_list_id: uuid.UUID, user: CreatorUser, session: SessionDep) -> Response:
    service.delete_idea_list(session, user.id, idea_list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/idea-lists/{idea_list_id}",
    response_model=IdeaListRead,
    operation_id="creators_get_idea_list",
    summary="A shared idea list",
    description="Anyone with the link. Problems: `idea_list_not_found` (404).",
    responses=problem_responses(404),
)
def get_idea_list(idea_list_id: uuid.UUID, session: SessionDep) -> IdeaListRead:
    idea_list = service.get_idea_list(session, idea_list_id)
    return _idea_list_read(session, idea_list, _handle_of(session, idea_list.creator_id))


@router.get(
    "/v1/creators/{handle}/idea-lists",
    response_model=IdeaListPage,
    operation_id="creators_list_idea_lists",
    summary="A creator's idea lists",
    description="Anyone. Problems: `creator_not_found` (404).",
    responses=problem_responses(400, 404),
)
def idea_lists(handle: str, session: SessionDep, cursor: Cursor = None, limit: Limit = 20) -> IdeaListPage:
    profile = service.get_creator(session, handle)
    items, next_cursor = service.page_list(service.list_idea_lists(session, profile.user_id), cursor, limit)
    return IdeaListPage(
        items=[_idea_list_read(session, i, profile.handle) for i in items], next_cursor=next_cursor
    )
