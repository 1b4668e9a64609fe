"""Comments, share links, polls, blocks, reports and the moderation queue."""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from app.accounts import service as accounts_service
from app.accounts.dependencies import AdminUser, CurrentUser, MerchantUser, OptionalUser, RegisteredUser
from app.accounts.exceptions import RoleRequired
from app.clips import service as clips_service
from app.config import get_settings
from app.db import SessionDep, utcnow
from app.errors import problem_responses
from app.ratelimit import rate_limit
from app.social import service
from app.social.models import (
    Comment,
    CommentStatus,
    ModerationAction,
    Poll,
    Report,
    ReportStatus,
    Share,
    TargetType,
)
from app.social.schemas import (
    BlockCreate,
    BlockedWordIn,
    BlockedWordRead,
    BlockRead,
    CommentAuthor,
    CommentCreate,
    CommentPage,
    CommentRead,
    CommentUpdate,
    DecisionIn,
    Mention,
    ModerationActionIn,
    ModerationActionPage,
    ModerationActionRead,
    ModerationNote,
    PollCreate,
    PollOptionRead,
    PollPage,
    PollRead,
    ReportCreate,
    ReportQueueItem,
    ReportQueuePage,
    ReportRead,
    ShareCreate,
    SharedClip,
    SharePage,
    ShareRead,
    ShareTotals,
    VoteIn,
)

router = APIRouter()
comments = APIRouter(tags=["comments"])
shares = APIRouter(tags=["shares"])
polls = APIRouter(tags=["polls"])
blocks = APIRouter(prefix="/v1/me/blocks", tags=["blocks"])
moderation = APIRouter(tags=["moderation"])
admin = APIRouter(prefix="/v1/admin/moderation", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=500)]
RATE_LIMITED = problem_responses(429)


# ---------------------------------------------------------------------------- comments


def _comment_reads(session: SessionDep, rows: list[Comment], owner: bool = True) -> list[CommentRead]:
    """``owner``: the caller is the clip's creator (or an admin), who sees what they hid."""
    who = service.authors(session, rows)
    base = get_settings().public_base_url.rstrip("/")
    out = []
    for row in rows:
        removed = row.status is CommentStatus.deleted or (
            row.status is CommentStatus.hidden and (row.hidden_by == "moderator" or not owner)
        )
        author = who.get(row.author_id)
        out.append(
            CommentRead(
                id=row.id,
                clip_id=row.clip_id,
                parent_id=row.parent_id,
                author=None if removed or author is None else CommentAuthor(**author.__dict__),
                body=None if removed else row.body,
                mentions=[]
                if removed
                else [Mention(**m, url=f"{base}/v1/creators/{m['handle']}") for m in row.mentions or []],
                status=row.status,
                pinned=row.pinned_at is not None,
                reply_count=row.reply_count,
                created_at=row.created_at,
                edited_at=row.edited_at,
            )
        )
    return out


@comments.post(
    "/v1/clips/{clip_id}/comments",
    operation_id="comments_create",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(rate_limit("comment"))],
    responses={**problem_responses(401, 403, 404, 422), **RATE_LIMITED},
    summary="Comment on a clip, or reply to a comment",
    description="Registered users. `@handle` mentions are linked and notify the mentioned creator; "
    "a reply notifies the comment's author. Problems: `clip_not_found`, `comment_not_found` (404), "
    "`blocked_by_creator`, `registration_required` (403), `blocked_word`, `invalid_comment` (422), "
    "`rate_limited` (429).",
)
def create_comment(
    clip_id: uuid.UUID, data: CommentCreate, user: RegisteredUser, session: SessionDep
) -> CommentRead:
    row = service.create_comment(session, user, clip_id, data.body, data.parent_id)
    return _comment_reads(session, [row])[0]


@comments.get(
    "/v1/clips/{clip_id}/comments",
    operation_id="comments_list",
    response_model=CommentPage,
    responses=problem_responses(400, 401, 404),
    summary="A clip's comments: pinned first, then newest or top (most replies) first",
    description="Anyone who may watch the clip. Comments by users the caller blocked are left out. "
    "Problems: `invalid_cursor` (400), `clip_not_found` (404).",
)
def list_comments(
    clip_id: uuid.UUID,
    session: SessionDep,
    user: OptionalUser,
    sort: Literal["newest", "top"] = "newest",
    cursor: Cursor = None,
    limit: Limit = 20,
) -> CommentPage:
    rows, next_cursor = service.list_comments(session, user, clip_id, sort=sort, cursor=cursor, limit=limit)
    count = service.clip_counts(session, [clip_id])[clip_id][0]
    owner = service.is_clip_owner(session, user, clip_id)
    return CommentPage(
        items=_comment_reads(session, rows, owner), next_cursor=next_cursor, comment_count=count
    )


@comments.get(
    "/v1/comments/{comment_id}/replies",
    operation_id="comments_list_replies",
    response_model=CommentPage,
    responses=problem_responses(400, 401, 404),
    summary="Replies to a comment, oldest first",
    description="Anyone who may watch the clip. Problems: `invalid_cursor` (400), `comment_not_found`, "
    "`clip_not_found` (404).",
)
def list_replies(
    comment_id: uuid.UUID, session: SessionDep, user: OptionalUser, cursor: Cursor = None, limit: Limit = 20
) -> CommentPage:
    parent = session.get(Comment, comment_id)
    if parent is None:
        from app.social.exceptions import CommentNotFound

        raise CommentNotFound("No such comment")
    rows, next_cursor = service.list_comments(
        session, user, parent.clip_id, parent_id=parent.id, cursor=cursor, limit=limit
    )
    count = service.clip_counts(session, [parent.clip_id])[parent.clip_id][0]
    owner = service.is_clip_owner(session, user, parent.clip_id)
    return CommentPage(
        items=_comment_reads(session, rows, owner), next_cursor=next_cursor, comment_count=count
    )


@comments.patch(
    "/v1/comments/{comment_id}",
    operation_id="comments_edit",
    response_model=CommentRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="Edit your comment",
    description="The comment's author. Newly mentioned creators are notified. Problems: "
    "`not_comment_author` (403), `comment_not_found` (404), `blocked_word` (422).",
)
def edit_comment(
    comment_id: uuid.UUID, data: CommentUpdate, user: RegisteredUser, session: SessionDep
) -> CommentRead:
    return _comment_reads(session, [service.edit_comment(session, user, comment_id, data.body)])[0]


@comments.delete(
    "/v1/comments/{comment_id}",
    operation_id="comments_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    summary="Delete a comment",
    description="The comment's author, the clip's creator or an admin. Problems: `not_comment_author` "
    "(403), `comment_not_found` (404).",
)
def delete_comment(comment_id: uuid.UUID, user: RegisteredUser, session: SessionDep) -> Response:
    service.delete_comment(session, user, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _creator_action(name: str, summary: str, hidden: bool | None = None, pinned: bool | None = None) -> Any:
    def endpoint(
        comment_id: uuid.UUID, user: RegisteredUser, session: SessionDep, data: ModerationNote | None = None
    ) -> CommentRead:
        if hidden is not None:
            row = service.creator_set_hidden(session, user, comment_id, hidden, data.reason if data else None)
        else:
            row = service.set_pinned(session, user, comment_id, bool(pinned))
        return _comment_reads(session, [row])[0]

    endpoint.__name__ = name
    return endpoint


for _path, _name, _summary, _kwargs in (
    ("pin", "comments_pin", "Pin a comment on your clip (one at a time)", {"pinned": True}),
    ("unpin", "comments_unpin", "Unpin a comment", {"pinned": False}),
    ("hide", "comments_hide", "Hide a comment on your clip from everyone else", {"hidden": True}),
    ("unhide", "comments_unhide", "Show a comment you hid again", {"hidden": False}),
):
    comments.add_api_route(
        f"/v1/comments/{{comment_id}}/{_path}",
        _creator_action(_name, _summary, **_kwargs),
        methods=["POST"],
        operation_id=_name,
        response_model=CommentRead,
        responses=problem_responses(401, 403, 404, 422),
        summary=_summary,
        description="The clip's creator (or an admin). Problems: `not_clip_creator`, `hidden_by_moderator` "
        "(403), `comment_not_found` (404), `cannot_pin` (422).",
    )


# ---------------------------------------------------------------------------- shares


def _share_read(share: Share) -> ShareRead:
    return ShareRead(
        id=share.id,
        code=share.code,
        url=service.share_url(share.code),
        clip_id=share.clip_id,
        channel=share.channel,
        opens=share.opens,
        views=share.views,
        purchases=share.purchases,
        revenue_minor=share.revenue_minor,
        created_at=share.created_at,
    )


@shares.post(
    "/v1/clips/{clip_id}/shares",
    operation_id="shares_create",
    response_model=ShareRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(rate_limit("share"))],
    responses={**problem_responses(401, 404, 422), **RATE_LIMITED},
    summary="Share a clip: a short link /s/{code} that opens it",
    description="Any signed-in user (guests too). Views and purchases through the link are counted to "
    "it. Problems: `clip_not_found` (404), `rate_limited` (429).",
)
def create_share(
    clip_id: uuid.UUID, user: CurrentUser, session: SessionDep, data: ShareCreate | None = None
) -> ShareRead:
    return _share_read(service.create_share(session, user, clip_id, data.channel if data else None))


@shares.get(
    "/v1/me/shares",
    operation_id="shares_list_mine",
    response_model=SharePage,
    responses=problem_responses(400, 401),
    summary="The caller's share links with what came through them, and totals",
    description="Any signed-in user, their own shares. Problems: `invalid_cursor` (400).",
)
def my_shares(user: CurrentUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20) -> SharePage:
    rows, next_cursor, totals = service.my_shares(session, user, cursor=cursor, limit=limit)
    return SharePage(
        items=[_share_read(r) for r in rows], next_cursor=next_cursor, totals=ShareTotals(**totals)
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    if "application/json" not in accept:
        return False
    if "text/html" not in accept:
        return True
    # both listed: the first one (browsers list text/html first)
    return accept.index("application/json") < accept.index("text/html")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:type" content="video.other">
<meta property="og:site_name" content="ClipShop">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:url" content="{url}">
{image}{video}<meta name="twitter:card" content="{card}">
<meta name="twitter:title" content="{title}">
<meta name="twitter:description" content="{description}">
<link rel="canonical" href="{url}">
</head><body>
<main><h1>{title}</h1><p>{description}</p>{poster}
<p><a href="{open}">Open in ClipShop</a></p></main>
</body></html>
"""


def _share_page(shared: SharedClip) -> str:
    clip = shared.clip
    creator = clip["creator"]
    who = creator.get("display_name") or (f"@{creator['handle']}" if creator.get("handle") else "a creator")
    title = f"{who} on ClipShop"
    description = (clip.get("caption") or "Watch this clip on ClipShop")[:300]
    esc = html.escape
    poster = clip.get("poster_url")
    mp4 = clip.get("mp4_url")
    return _PAGE.format(
        title=esc(title),
        description=esc(description),
        url=esc(shared.url),
        image=f'<meta property="og:image" content="{esc(poster)}">\n<meta name="twitter:image" content="{esc(poster)}">\n'
        if poster
        else "",
        video=f'<meta property="og:video" content="{esc(mp4)}">\n<meta property="og:video:type" content="video/mp4">\n'
        if mp4
        else "",
        card="summary_large_image" if poster else "summary",
        poster=f'<img src="{esc(poster)}" alt="" width="360">' if poster else "",
        # the web client's page of the clip, which counts the view and purchases to the share
        open=esc(
            f"{get_settings().public_base_url.rstrip('/')}/app/clips/{clip['id']}"
            f"?share_code={quote(shared.share_code, safe='')}"
        ),
    )


@shares.get(
    "/s/{code}",
    operation_id="shares_open",
    response_model=SharedClip,
    responses={
        200: {
            "description": "The shared clip: JSON for apps (`Accept: application/json`), otherwise a small "
            "HTML page with Open Graph tags for link previews",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **problem_responses(404),
    },
    summary="Open a share link",
    description="Anyone. Counts an open. The answer carries `share_code` to send back on events and "
    "checkout. A clip hidden by moderation, made private or deleted answers 404 `share_not_found`.",
)
def open_share(code: Annotated[str, Path(max_length=32)], request: Request, session: SessionDep) -> Response:
    share, clip = service.resolve_share(session, code)
    profile = accounts_service.get_creator_profile(session, clip.creator_id)
    playback = clips_service.playback(clip)
    shared = SharedClip(
        share_code=share.code,
        url=service.share_url(share.code),
        clip={
            "id": str(clip.id),
            "caption": clip.caption,
            "creator": {
                "id": str(clip.creator_id),
                "handle": profile.handle if profile else None,
                "display_name": profile.display_name if profile else None,
            },
            "poster_url": playback["poster"],
            "hls_url": playback["hls"],
            "mp4_url": playback["mp4"],
            "duration_ms": clip.duration_ms,
        },
        counts=dict(
            zip(("comments", "shares"), service.clip_counts(session, [clip.id])[clip.id], strict=True)
        ),
    )
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if _wants_json(request):
        return JSONResponse(shared.model_dump(mode="json"), headers=headers)
    return HTMLResponse(_share_page(shared), headers=headers)


# ---------------------------------------------------------------------------- polls


def _poll_read(session: SessionDep, poll: Poll, user: Any) -> PollRead:
    options = service.poll_options(session, poll.id)
    mine = service.my_vote(session, poll.id, user.id) if user is not None else None
    visible = service.can_see_results(session, poll, user, mine is not None)
    results = service.poll_results(session, poll.id) if visible else {}
    return PollRead(
        id=poll.id,
        clip_id=poll.clip_id,
        question=poll.question,
        options=[
            PollOptionRead(
                id=o.id,
                label=o.label,
                product_id=o.product_id,
                votes=results.get(o.id, 0) if visible else None,
            )
            for o in options
        ],
        open=service.poll_is_open(poll),
        closes_at=poll.closes_at,
        my_vote=mine,
        results_visible=visible,
        total_votes=sum(results.values()) if visible else None,
        created_at=poll.created_at,
    )


@polls.post(
    "/v1/clips/{clip_id}/polls",
    operation_id="polls_create",
    response_model=PollRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 422),
    summary="Ask a poll on a clip (2-4 options, each optionally a product)",
    description="The clip's creator, or a merchant offering at least one of its own products. "
    "Problems: `not_poll_owner` (403), `clip_not_found`, `product_not_found` (404), `blocked_word` (422).",
)
def create_poll(clip_id: uuid.UUID, data: PollCreate, user: RegisteredUser, session: SessionDep) -> PollRead:
    poll = service.create_poll(
        session,
        user,
        clip_id,
        question=data.question,
        options=[(o.label, o.product_id) for o in data.options],
        closes_at=data.closes_at,
    )
    return _poll_read(session, poll, user)


@polls.get(
    "/v1/clips/{clip_id}/polls",
    operation_id="polls_list_for_clip",
    response_model=list[PollRead],
    responses=problem_responses(401, 404),
    summary="A clip's polls (results once the caller voted or the poll closed)",
    description="Anyone who may watch the clip. Problems: `clip_not_found` (404).",
)
def clip_polls(clip_id: uuid.UUID, session: SessionDep, user: OptionalUser) -> list[PollRead]:
    return [_poll_read(session, p, user) for p in service.clip_polls(session, user, clip_id)]


@polls.get(
    "/v1/polls/{poll_id}",
    operation_id="polls_get",
    response_model=PollRead,
    responses=problem_responses(401, 404),
    summary="One poll",
    description="Anyone. Problems: `poll_not_found` (404).",
)
def get_poll(poll_id: uuid.UUID, session: SessionDep, user: OptionalUser) -> PollRead:
    return _poll_read(session, service.get_poll(session, poll_id), user)


@polls.put(
    "/v1/polls/{poll_id}/vote",
    operation_id="polls_vote",
    response_model=PollRead,
    dependencies=[Depends(rate_limit("vote"))],
    responses={**problem_responses(401, 404, 409, 422), **RATE_LIMITED},
    summary="Vote (or change your vote) until the poll closes; the results come back",
    description="Any signed-in viewer (guests too); one vote per viewer. Problems: `poll_not_found` "
    "(404), `poll_closed` (409), `poll_option_not_found` (422), `rate_limited` (429).",
)
def vote(poll_id: uuid.UUID, data: VoteIn, user: CurrentUser, session: SessionDep) -> PollRead:
    return _poll_read(session, service.vote(session, user, poll_id, data.option_id), user)


@polls.post(
    "/v1/polls/{poll_id}/close",
    operation_id="polls_close",
    response_model=PollRead,
    responses=problem_responses(401, 403, 404),
    summary="Close a poll now",
    description="The poll's author (or its organisation). Problems: `not_poll_owner` (403), "
    "`poll_not_found` (404).",
)
def close_poll(poll_id: uuid.UUID, user: RegisteredUser, session: SessionDep) -> PollRead:
    return _poll_read(session, service.close_poll(session, user, poll_id), user)


@polls.get(
    "/v1/merchant/polls",
    operation_id="polls_list_merchant",
    response_model=PollPage,
    responses=problem_responses(400, 401, 403),
    summary="The organisation's polls with their results",
    description="Merchants, for their organisation. Problems: `invalid_cursor` (400), `no_organisation` (403).",
)
def merchant_polls(
    user: MerchantUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
) -> PollPage:
    organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
    if organisation_id is None:
        raise RoleRequired("You do not belong to a merchant organisation", code="no_organisation")
    rows, next_cursor = service.organisation_polls(session, organisation_id, cursor=cursor, limit=limit)
    return PollPage(items=[_poll_read(session, p, user) for p in rows], next_cursor=next_cursor)


# ---------------------------------------------------------------------------- blocks


@blocks.post(
    "",
    operation_id="blocks_create",
    response_model=BlockRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 404, 422),
    summary="Block a creator or user",
    description="Any signed-in user. Their clips and comments disappear for you (feed included) and "
    "they cannot comment on your clips. Problems: `user_not_found`, `creator_not_found` (404), "
    "`cannot_block_self` (422).",
)
def block(data: BlockCreate, user: CurrentUser, session: SessionDep) -> BlockRead:
    target = service.block(session, user, user_id=data.user_id, handle=data.handle)
    profile = accounts_service.get_creator_profile(session, target.id)
    return BlockRead(
        user_id=target.id,
        handle=profile.handle if profile else None,
        display_name=profile.display_name if profile else target.display_name,
        created_at=utcnow(),
    )


@blocks.get(
    "",
    operation_id="blocks_list",
    response_model=list[BlockRead],
    responses=problem_responses(401),
    summary="Whom you blocked",
    description="Any signed-in user, their own blocks.",
)
def list_blocks(user: CurrentUser, session: SessionDep) -> list[BlockRead]:
    out = []
    for row, target in service.list_blocks(session, user):
        profile = accounts_service.get_creator_profile(session, target.id)
        out.append(
            BlockRead(
                user_id=target.id,
                handle=profile.handle if profile else None,
                display_name=profile.display_name if profile else target.display_name,
                created_at=row.created_at,
            )
        )
    return out


@blocks.delete(
    "/{user_id}",
    operation_id="blocks_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401),
    summary="Unblock",
    description="Any signed-in user, their own blocks (unblocking someone not blocked is a no-op).",
)
def unblock(user_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    service.unblock(session, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- reports and moderation


def _report_read(row: Report) -> ReportRead:
    return ReportRead(
        id=row.id,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        note=row.note,
        status=row.status,
        escalated=row.escalated,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def _action_read(row: ModerationAction) -> ModerationActionRead:
    return ModerationActionRead(
        id=row.id,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        subject_user_id=row.subject_user_id,
        report_id=row.report_id,
        reason=row.reason,
        created_at=row.created_at,
    )


@moderation.post(
    "/v1/reports",
    operation_id="reports_create",
    response_model=ReportRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(rate_limit("report"))],
    responses={**problem_responses(401, 403, 404, 409, 422), **RATE_LIMITED},
    summary="Report a clip, a comment or a user",
    description="Registered users, once per target. Reports about repeat offenders are escalated. "
    "Problems: `target_not_found` (404), `already_reported` (409), `invalid_moderation_action` (422, "
    "own content), `rate_limited` (429).",
)
def create_report(data: ReportCreate, user: RegisteredUser, session: SessionDep) -> ReportRead:
    return _report_read(
        service.report(
            session,
            user,
            target_type=data.target_type,
            target_id=data.target_id,
            reason=data.reason,
            note=data.note,
        )
    )


@admin.get(
    "/reports",
    operation_id="moderation_queue",
    response_model=ReportQueuePage,
    responses=problem_responses(400, 401, 403),
    summary="The moderation queue: escalated first, then oldest first, with context",
    description="Admins. Problems: `invalid_cursor` (400).",
)
def report_queue(
    _: AdminUser,
    session: SessionDep,
    status: ReportStatus = ReportStatus.open,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> ReportQueuePage:
    rows, next_cursor = service.queue(session, status=status, cursor=cursor, limit=limit)
    items = [
        ReportQueueItem(
            **_report_read(r).model_dump(),
            reporter_id=r.reporter_id,
            subject_user_id=r.subject_user_id,
            context=service.report_context(session, r),
        )
        for r in rows
    ]
    return ReportQueuePage(items=items, next_cursor=next_cursor)


@admin.post(
    "/reports/{report_id}/decision",
    operation_id="moderation_decide_report",
    response_model=ModerationActionRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="Decide a report: hide / restore / dismiss (clips, comments), suspend / unsuspend (users)",
    description="Admins. Resolves every open report on the same target and logs who and why. Hidden "
    "clips leave the feed and share pages at once. Problems: `report_not_found`, `target_not_found` "
    "(404), `invalid_moderation_action` (422).",
)
def decide(
    report_id: uuid.UUID, data: DecisionIn, admin_user: AdminUser, session: SessionDep
) -> ModerationActionRead:
    return _action_read(service.decide_report(session, admin_user, report_id, data.action, data.reason))


@admin.post(
    "/actions",
    operation_id="moderation_act",
    response_model=ModerationActionRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 422),
    summary="Act on a clip, comment or user without a report",
    description="Admins. Logged with who and why. Problems: `target_not_found` (404), "
    "`invalid_moderation_action` (422).",
)
def act(data: ModerationActionIn, admin_user: AdminUser, session: SessionDep) -> ModerationActionRead:
    return _action_read(
        service.moderate(
            session,
            admin_user,
            target_type=data.target_type,
            target_id=data.target_id,
            action=data.action,
            reason=data.reason,
        )
    )


@admin.get(
    "/actions",
    operation_id="moderation_log",
    response_model=ModerationActionPage,
    responses=problem_responses(400, 401, 403),
    summary="The decision log, newest first",
    description="Admins. Filter by target. Problems: `invalid_cursor` (400).",
)
def decision_log(
    _: AdminUser,
    session: SessionDep,
    target_type: TargetType | None = None,
    target_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ModerationActionPage:
    rows, next_cursor = service.decisions(
        session, target_type=target_type, target_id=target_id, cursor=cursor, limit=limit
    )
    return ModerationActionPage(items=[_action_read(r) for r in rows], next_cursor=next_cursor)


@admin.get(
    "/blocked-words",
    operation_id="moderation_list_blocked_words",
    response_model=list[BlockedWordRead],
    responses=problem_responses(401, 403),
    summary="Words refused in comments and polls",
    description="Admins. (`CLIPSHOP_BLOCKED_WORDS` adds words from the configuration.)",
)
def list_words(_: AdminUser, session: SessionDep) -> list[BlockedWordRead]:
    return [
        BlockedWordRead(id=w.id, word=w.word, created_at=w.created_at)
        for w in service.list_blocked_words(session)
    ]


@admin.post(
    "/blocked-words",
    operation_id="moderation_add_blocked_word",
    response_model=BlockedWordRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
    summary="Block a word",
    description="Admins. Whole words, any case.",
)
def add_word(data: BlockedWordIn, admin_user: AdminUser, session: SessionDep) -> BlockedWordRead:
    w = service.add_blocked_word(session, admin_user, data.word)
    return BlockedWordRead(id=w.id, word=w.word, created_at=w.created_at)


@admin.delete(
    "/blocked-words/{word_id}",
    operation_id="moderation_remove_blocked_word",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403),
    summary="Unblock a word",
    description="Admins.",
)
def remove_word(word_id: uuid.UUID, _: AdminUser, session: SessionDep) -> Response:
    service.remove_blocked_word(session, word_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router.include_router(comments)
router.include_router(shares)
router.include_router(polls)
router.include_router(blocks)
router.include_router(moderation)
router.include_router(admin)
