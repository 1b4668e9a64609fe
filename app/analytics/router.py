from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.accounts import service as accounts_service
from app.accounts.dependencies import AdminUser, CreatorUser, CurrentUser
from app.analytics import service
from app.analytics.schemas import (
    AdminOverview,
    AudienceRead,
    AuthenticityRead,
    CreatorDashboard,
    DiscoveryPage,
    EntityReport,
    FlaggedAccountPage,
    MerchantDashboard,
    ShortlistEntry,
    ShortlistIn,
    ShortlistPage,
)
from app.catalog import service as catalog_service
from app.catalog.dependencies import OrganisationId
from app.db import SessionDep
from app.errors import problem_responses

router = APIRouter(tags=["analytics"])

Start = Annotated[
    date | None, Query(description="First day (YYYY-MM-DD) in `tz`; default: 27 days before `end`")
]
End = Annotated[date | None, Query(description="Last day (included) in `tz`; default: today in `tz`")]
Tz = Annotated[
    str | None, Query(max_length=64, description="IANA time zone the days are counted in (default UTC)")
]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=200)]
CSV = "text/csv; charset=utf-8"
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"example": "day,impressions,reach\r\n2026-11-01,1200,830\r\n"}}}
}
RANGE_PROBLEMS = "Problems: `unknown_time_zone`, `invalid_range`, `range_too_long` (422)."


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    return Response(
        service.to_csv(rows),
        media_type=CSV,
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


# ---------------------------------------------------------------------------- per entity


@router.get(
    "/v1/analytics/clips/{clip_id}",
    operation_id="analytics_clip_report",
    response_model=EntityReport,
    responses=problem_responses(401, 403, 422),
    summary="A clip's figures over a period, per day",
    description="The clip's creator, merchants whose SKUs it carries, and admins. " + RANGE_PROBLEMS,
)
def clip_report(
    clip_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Any:
    p = service.period(start, end, tz)
    service.check_clip_access(session, user, clip_id)
    return service.entity_report(session, "clip", clip_id, p)


@router.get(
    "/v1/analytics/creators/{handle}",
    operation_id="analytics_creator_report",
    response_model=EntityReport,
    responses=problem_responses(401, 403, 404, 422),
    summary="A creator's figures over a period, per day",
    description="The creator, merchants and admins. " + RANGE_PROBLEMS,
)
def creator_report(
    handle: str, user: CurrentUser, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    p = service.period(start, end, tz)
    profile = accounts_service.get_creator_by_handle(session, handle)
    service.check_creator_reader(session, user, profile.user_id)
    return service.entity_report(session, "creator", profile.user_id, p)


@router.get(
    "/v1/analytics/creators/{handle}/authenticity",
    operation_id="analytics_creator_authenticity",
    response_model=AuthenticityRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="How much of a creator's engagement looks real",
    description=(
        "The creator, merchants and admins. `score` 0-100 (100: all engagement looks real), "
        "`flagged_share`: share of the engagement flagged, `flags`: why, with the share each "
        "concerns. Default period: the last 28 days. " + RANGE_PROBLEMS
    ),
)
def creator_authenticity(
    handle: str, user: CurrentUser, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    p = service.period(start, end, tz)
    profile = accounts_service.get_creator_by_handle(session, handle)
    service.check_creator_reader(session, user, profile.user_id)
    return service.creator_authenticity(session, profile.user_id, p)


# ---------------------------------------------------------------------------- creator


@router.get(
    "/v1/me/analytics/dashboard",
    operation_id="analytics_creator_dashboard",
    response_model=CreatorDashboard,
    responses=problem_responses(401, 403, 422),
    summary="The caller's creator dashboard: totals, days, own clips, audience, authenticity",
    description="Creators. " + RANGE_PROBLEMS,
)
def creator_dashboard(
    user: CreatorUser, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    return service.creator_dashboard(session, user.id, service.period(start, end, tz))


@router.get(
    "/v1/me/analytics/audience",
    operation_id="analytics_creator_audience",
    response_model=AudienceRead,
    responses=problem_responses(401, 403, 422),
    summary="Who engages with the caller's clips",
    description="Creators: interests of engaged viewers, new vs returning viewers, follower growth. "
    + RANGE_PROBLEMS,
)
def creator_audience(
    user: CreatorUser, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    return service.audience(session, user.id, service.period(start, end, tz))


@router.get(
    "/v1/me/analytics/export",
    operation_id="analytics_creator_export",
    response_class=Response,
    responses={**_CSV_RESPONSE, **problem_responses(401, 403, 422)},
    summary="A table of the creator dashboard as CSV",
    description="Creators. Cells that would start a spreadsheet formula are escaped. " + RANGE_PROBLEMS,
)
def creator_export(
    user: CreatorUser,
    session: SessionDep,
    table: Literal["daily", "clips"] = "daily",
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Response:
    p = service.period(start, end, tz)
    if table == "daily":
        rows = service.daily(session, "creator", user.id, p)
    else:
        ids = service.clips_of(session, "creator", user.id)
        rows = [
            {"clip_id": str(i), **r} for i, r in service.rows_for(session, "clip", ids, p, with_reach=True)
        ]
    return _csv(rows, f"creator-{table}")


# ---------------------------------------------------------------------------- merchant


@router.get(
    "/v1/merchant/analytics/dashboard",
    operation_id="analytics_merchant_dashboard",
    response_model=MerchantDashboard,
    responses=problem_responses(401, 403, 422),
    summary="The caller's merchant dashboard: own SKUs, the clips and creators that sell them",
    description="Merchant members. " + RANGE_PROBLEMS,
)
def merchant_dashboard(
    organisation_id: OrganisationId, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    return service.merchant_dashboard(session, organisation_id, service.period(start, end, tz))


@router.get(
    "/v1/merchant/analytics/skus/{sku_id}",
    operation_id="analytics_sku_report",
    response_model=EntityReport,
    responses=problem_responses(401, 403, 404, 422),
    summary="One of the caller's SKUs over a period, per day",
    description="Merchant members (own SKUs). " + RANGE_PROBLEMS,
)
def sku_report(
    sku_id: uuid.UUID,
    organisation_id: OrganisationId,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Any:
    p = service.period(start, end, tz)
    catalog_service.get_owned_sku(session, organisation_id, sku_id)
    return service.entity_report(session, "sku", sku_id, p)


@router.get(
    "/v1/merchant/analytics/products/{product_id}",
    operation_id="analytics_product_report",
    response_model=EntityReport,
    responses=problem_responses(401, 403, 404, 422),
    summary="One of the caller's products over a period, per day",
    description="Merchant members (own products). " + RANGE_PROBLEMS,
)
def product_report(
    product_id: uuid.UUID,
    organisation_id: OrganisationId,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Any:
    p = service.period(start, end, tz)
    catalog_service.get_owned_product(session, organisation_id, product_id)
    return service.entity_report(session, "product", product_id, p)


@router.get(
    "/v1/merchant/analytics/export",
    operation_id="analytics_merchant_export",
    response_class=Response,
    responses={**_CSV_RESPONSE, **problem_responses(401, 403, 422)},
    summary="A table of the merchant dashboard as CSV",
    description="Merchant members. Cells that would start a spreadsheet formula are escaped. "
    + RANGE_PROBLEMS,
)
def merchant_export(
    organisation_id: OrganisationId,
    session: SessionDep,
    table: Literal["daily", "skus", "top_clips", "top_creators"] = "skus",
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Response:
    p = service.period(start, end, tz)
    if table == "daily":
        rows = service.daily(session, "merchant", organisation_id, p)
    else:
        rows = service.merchant_dashboard(session, organisation_id, p)[table]
    return _csv(rows, f"merchant-{table}")


# ---------------------------------------------------------------------------- admin


@router.get(
    "/v1/admin/analytics/overview",
    operation_id="analytics_admin_overview",
    response_model=AdminOverview,
    responses=problem_responses(401, 403, 422),
    summary="Service-wide figures, top creators and the number of flagged accounts",
    description="Admins. " + RANGE_PROBLEMS,
)
def admin_overview(
    user: AdminUser, session: SessionDep, start: Start = None, end: End = None, tz: Tz = None
) -> Any:
    return service.admin_overview(session, service.period(start, end, tz))


@router.get(
    "/v1/admin/analytics/export",
    operation_id="analytics_admin_export",
    response_class=Response,
    responses={**_CSV_RESPONSE, **problem_responses(401, 403, 422)},
    summary="A table of the admin overview as CSV",
    description="Admins. Cells that would start a spreadsheet formula are escaped. " + RANGE_PROBLEMS,
)
def admin_export(
    user: AdminUser,
    session: SessionDep,
    table: Literal["daily", "top_creators", "flagged_accounts"] = "daily",
    start: Start = None,
    end: End = None,
    tz: Tz = None,
) -> Response:
    p = service.period(start, end, tz)
    if table == "flagged_accounts":
        rows, _ = service.review_queue(session, 100_000, None)
    else:
        rows = service.admin_overview(session, p)[table]
    return _csv(rows, f"admin-{table}")


@router.get(
    "/v1/admin/analytics/flagged-accounts",
    operation_id="analytics_flagged_accounts",
    response_model=FlaggedAccountPage,
    responses=problem_responses(401, 403, 422),
    summary="Accounts flagged repeatedly for inauthentic engagement (review queue)",
    description="Admins. Most flags first. Problems: `invalid_cursor` (422).",
)
def flagged_accounts(user: AdminUser, session: SessionDep, limit: Limit = 20, cursor: Cursor = None) -> Any:
    items, next_cursor = service.review_queue(session, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


# ---------------------------------------------------------------------------- discovery


@router.get(
    "/v1/merchant/creators/discover",
    operation_id="analytics_discover_creators",
    response_model=DiscoveryPage,
    responses=problem_responses(401, 403, 422),
    summary="Creators ranked for the caller's products, with the evidence",
    description=(
        "Merchant members. Ranks creators (the admitted ones when the creator programme exists) "
        "by the match between their engaged audience's interests and the merchant's product "
        "interests (or `interest`), organic engagement rate, conversion and authenticity; flagged "
        "engagement never counts. Each item shows its figures and their period (the last 90 days). "
        "Problems: `invalid_cursor` (422)."
    ),
)
def discover(
    organisation_id: OrganisationId,
    session: SessionDep,
    interest: Annotated[str | None, Query(max_length=64, description="An interest slug")] = None,
    min_authenticity: Annotated[int | None, Query(ge=0, le=100)] = None,
    min_followers: Annotated[int | None, Query(ge=0)] = None,
    sort: Literal[
        "relevance", "engagement_rate", "conversion_rate", "followers", "authenticity"
    ] = "relevance",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Any:
    items, next_cursor = service.discover(
        session,
        organisation_id,
        interest=interest,
        min_authenticity=min_authenticity,
        min_followers=min_followers,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/v1/merchant/creators/shortlist",
    operation_id="analytics_shortlist_list",
    response_model=ShortlistPage,
    responses=problem_responses(401, 403, 422),
    summary="The caller's shortlisted creators",
    description="Merchant members. Problems: `invalid_cursor` (422).",
)
def shortlist(
    organisation_id: OrganisationId, session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Any:
    items, next_cursor = service.shortlist(session, organisation_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.put(
    "/v1/merchant/creators/shortlist/{handle}",
    operation_id="analytics_shortlist_add",
    response_model=ShortlistEntry,
    responses=problem_responses(401, 403, 404, 422),
    summary="Shortlist a creator (idempotent; updates the note)",
    description="Merchant members. Problems: `creator_not_found` (404).",
)
def shortlist_add(
    handle: str, data: ShortlistIn, organisation_id: OrganisationId, session: SessionDep
) -> Any:
    return service.shortlist_add(session, organisation_id, handle, data.note)


@router.delete(
    "/v1/merchant/creators/shortlist/{handle}",
    operation_id="analytics_shortlist_remove",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    summary="Remove a creator from the shortlist",
    description="Merchant members. Problems: `creator_not_found` (404).",
)
def shortlist_remove(handle: str, organisation_id: OrganisationId, session: SessionDep) -> Response:
    service.shortlist_remove(session, organisation_id, handle)
    return Response(status_code=204)
