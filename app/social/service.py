"""The social layer: comments, shares, polls, blocks and moderation.

Public API for other domains (call these, never the tables):

* :func:`hidden_clip_ids` / :func:`is_hidden` — what moderation hid (the feed, search and
  storefronts leave it out).
* :func:`blocked_user_ids` — whom a viewer blocked (their clips and comments are not shown to
  the viewer).
* :func:`record_share_views` — viewers who watched a clip through a share link (feed events
  carrying ``share_code``).
* :func:`attribute_checkout` / :func:`share_order_paid` — orders placed through a share link,
  counted to the share and its sharer once paid.

Counts that must be exact under concurrency (comments per clip, replies per comment, shares,
share views and purchases) are changed by guarded increments in SQL, in the transaction that
makes the change; poll results are counted from the votes when read.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.catalog import service as catalog_service
from app.clips import service as clips_service
from app.clips.exceptions import ClipNotFound
from app.clips.models import Clip, ClipStatus, Visibility
from app.config import get_settings
from app.db import is_postgres, on_commit, utcnow
from app.errors import Forbidden
from app.feed import service as feed_service
from app.notifications import service as notifications
from app.pagination import decode_cursor, encode_cursor
from app.social.exceptions import (
    AlreadyReported,
    BlockedByCreator,
    BlockedWordUsed,
    CannotBlockSelf,
    CommentNotFound,
    InvalidModerationAction,
    NotClipCreator,
    NotCommentAuthor,
    NotPollOwner,
    PollClosed,
    PollNotFound,
    PollOptionNotFound,
    ReportNotFound,
    ShareNotFound,
    TargetNotFound,
)
from app.social.models import (
    BlockedWord,
    ClipSocialStat,
    Comment,
    CommentStatus,
    HiddenContent,
    ModerationAction,
    Poll,
    PollOption,
    PollVote,
    Report,
    ReportReason,
    ReportStatus,
    Share,
    ShareOrder,
    ShareView,
    TargetType,
    UserBlock,
)

MENTION = re.compile(r"(?<![\w@])@([a-z0-9_](?:[a-z0-9_.]{1,28})[a-z0-9_])", re.IGNORECASE)
MAX_MENTIONS = 10
SHARE_CODE_BYTES = 6  # 8 URL-safe characters


# ---------------------------------------------------------------------------- shared helpers


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if is_postgres(session) else sqlite
    return dialect.insert(table)


def _bump_clip(session: Session, clip_id: uuid.UUID, *, comments: int = 0, shares: int = 0) -> None:
    """Add to a clip's exact counts: an increment in SQL (row-locked on PostgreSQL until commit,
    so concurrent writers queue instead of losing updates)."""
    session.execute(
        _insert(session, ClipSocialStat)
        .values(clip_id=clip_id, comments=0, shares=0)
        .on_conflict_do_nothing(index_elements=["clip_id"])
    )
    session.execute(
        update(ClipSocialStat)
        .where(ClipSocialStat.clip_id == clip_id)
        .values(comments=ClipSocialStat.comments + comments, shares=ClipSocialStat.shares + shares)
    )


def clip_counts(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """clip id -> (comments, shares), exact."""
    if not clip_ids:
        return {}
    rows = session.execute(
        select(ClipSocialStat.clip_id, ClipSocialStat.comments, ClipSocialStat.shares).where(
            ClipSocialStat.clip_id.in_(clip_ids)
        )
    )
    found = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    return {clip_id: found.get(clip_id, (0, 0)) for clip_id in clip_ids}


def _blocked_words(session: Session) -> set[str]:
    words = set(get_settings().blocked_words)
    words.update(w.lower() for w in session.scalars(select(BlockedWord.word)))
    return words


def check_text(session: Session, *texts: str) -> None:
    """Refuse text containing a blocked word (whole words, any case): 422 ``blocked_word``."""
    words = _blocked_words(session)
    if not words:
        return
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words)) + r")\b", re.IGNORECASE)
    for text in texts:
        if text and pattern.search(text):
            raise BlockedWordUsed("The text contains a word that is not allowed here")


def hidden_clip_ids(session: Session, among: list[uuid.UUID] | None = None) -> set[uuid.UUID]:
    """Clips hidden by moderation (all of them, or those among ``among``)."""
    query = select(HiddenContent.target_id).where(HiddenContent.target_type == TargetType.clip)
    if among is not None:
        if not among:
            return set()
        query = query.where(HiddenContent.target_id.in_(among))
    return set(session.scalars(query))


def is_hidden(session: Session, target_type: str, target_id: uuid.UUID) -> bool:
    """Whether moderation hid this clip, comment or user's content."""
    if target_type == TargetType.comment:
        status = session.scalar(select(Comment.status).where(Comment.id == target_id))
        return status is CommentStatus.hidden
    return session.get(HiddenContent, (TargetType(target_type), target_id)) is not None


def _viewable_clip(session: Session, clip_id: uuid.UUID, viewer: User | None) -> Clip:
    """A clip the viewer may see and interact with: ready, not private (unless theirs), not
    hidden by moderation (unless theirs or the viewer is an admin)."""
    clip = clips_service.get_clip(session, clip_id)
    if not clips_service.can_view(clip, viewer) or clip.status is not ClipStatus.ready:
        raise ClipNotFound("No such clip.")
    privileged = viewer is not None and (viewer.id == clip.creator_id or viewer.role is Role.admin)
    if not privileged and is_hidden(session, TargetType.clip, clip.id):
        raise ClipNotFound("No such clip.")
    return clip


# ---------------------------------------------------------------------------- blocks


_BLOCKS = UserBlock.__table__


def blocked_user_ids(session: Session, user_id: uuid.UUID) -> set[uuid.UUID]:
    """Users (creators included) that ``user_id`` blocked (Core: it runs when feed sessions start)."""
    query = select(_BLOCKS.c.blocked_id).where(_BLOCKS.c.blocker_id == user_id)
    return {row[0] for row in session.connection().execute(query)}


def has_blocked(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    return session.get(UserBlock, (blocker_id, blocked_id)) is not None


def block(session: Session, user: User, *, user_id: uuid.UUID | None, handle: str | None) -> User:
    target = (
        accounts_service.get_user(session, accounts_service.get_creator_by_handle(session, handle).user_id)
        if handle
        else accounts_service.get_user(session, user_id)  # type: ignore[arg-type]
    )
    if target.id == user.id:
        raise CannotBlockSelf("You cannot block yourself")
    session.execute(
        _insert(session, UserBlock)
        .values(blocker_id=user.id, blocked_id=target.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["blocker_id", "blocked_id"])
    )
    session.flush()
    _after_blocks_change(session, user.id)
    return target


def unblock(session: Session, user: User, blocked_id: uuid.UUID) -> None:
    session.execute(
        delete(UserBlock).where(UserBlock.blocker_id == user.id, UserBlock.blocked_id == blocked_id)
    )
    session.flush()
    _after_blocks_change(session, user.id)


def list_blocks(session: Session, user: User) -> list[tuple[UserBlock, User]]:
    rows = list(
        session.scalars(
            select(UserBlock).where(UserBlock.blocker_id == user.id).order_by(UserBlock.created_at.desc())
        )
    )
    return [(row, accounts_service.get_user(session, row.blocked_id)) for row in rows]


def _after_blocks_change(session: Session, user_id: uuid.UUID) -> None:
    blocked = blocked_user_ids(session, user_id)

    def apply() -> None:
        from app.feed import runtime as feed_runtime

        feed_runtime.viewer_blocks_changed(user_id, blocked)

    on_commit(session, apply)


# ---------------------------------------------------------------------------- comments


def _mentions(session: Session, body: str) -> list[dict[str, Any]]:
    found = [(m.group(1).lower(), m.start(), m.end()) for m in MENTION.finditer(body)][:MAX_MENTIONS]
    profiles = accounts_service.get_creators_by_handles(session, [h for h, _, _ in found])
    return [
        {"handle": handle, "user_id": str(profiles[handle].user_id), "start": start, "end": end}
        for handle, start, end in found
        if handle in profiles
    ]


def _check_body(session: Session, body: str) -> str:
    body = body.strip()
    limit = get_settings().comment_max_length
    if not body or len(body) > limit:
        raise BlockedWordUsed(f"A comment has 1 to {limit} characters", code="invalid_comment")
    check_text(session, body)
    return body


def _handle_of(session: Session, user_id: uuid.UUID) -> str | None:
    profile = accounts_service.get_creator_profile(session, user_id)
    return profile.handle if profile else None


def _notify_mentions(
    session: Session,
    comment: Comment,
    author: User,
    already: set[uuid.UUID],
    previous: frozenset[str] | set[str] = frozenset(),
) -> None:
    handle = _handle_of(session, author.id)
    who = f"@{handle}" if handle else (author.display_name or "Someone")
    for mention in comment.mentions or []:
        target = uuid.UUID(mention["user_id"])
        if target == author.id or target in already or mention["user_id"] in previous:
            continue
        if has_blocked(session, target, author.id):
            continue
        already.add(target)
        notifications.notify(
            session,
            user_id=target,
            kind=notifications.NotificationKind.mention,
            title=f"{who} mentioned you in a comment",
            body=comment.body[:200],
            data={"clip_id": str(comment.clip_id), "comment_id": str(comment.id)},
        )


def create_comment(
    session: Session, user: User, clip_id: uuid.UUID, body: str, parent_id: uuid.UUID | None = None
) -> Comment:
    clip = _viewable_clip(session, clip_id, user)
    if has_blocked(session, clip.creator_id, user.id):
        raise BlockedByCreator("The creator of this clip does not accept your comments")
    body = _check_body(session, body)
    parent: Comment | None = None
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.clip_id != clip.id or parent.status is not CommentStatus.visible:
            raise CommentNotFound("The comment you reply to does not exist")
        if parent.parent_id is not None:  # one level of threading: a reply to a reply joins the thread
            parent = session.get(Comment, parent.parent_id)
            assert parent is not None
    comment = Comment(
        id=uuid.uuid4(),
        clip_id=clip.id,
        author_id=user.id,
        parent_id=parent.id if parent else None,
        body=body,
        mentions=_mentions(session, body),
        status=CommentStatus.visible,
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    _bump_clip(session, clip.id, comments=1)
    _comment_event(session, comment, clip.creator_id, posted=True)
    notified: set[uuid.UUID] = set()
    if parent is not None:
        session.execute(
            update(Comment).where(Comment.id == parent.id).values(reply_count=Comment.reply_count + 1)
        )
        if parent.author_id != user.id and not has_blocked(session, parent.author_id, user.id):
            handle = _handle_of(session, user.id)
            notifications.notify(
                session,
                user_id=parent.author_id,
                kind=notifications.NotificationKind.reply,
                title=f"@{handle} replied to your comment" if handle else "New reply to your comment",
                body=body[:200],
                data={"clip_id": str(clip.id), "comment_id": str(comment.id), "parent_id": str(parent.id)},
            )
            notified.add(parent.author_id)
    _notify_mentions(session, comment, user, notified)
    session.flush()
    return comment


def _comment_event(session: Session, comment: Comment, creator_id: uuid.UUID | None, *, posted: bool) -> None:
    """A comment posted or shown again (``comment``), deleted or hidden (``uncomment``), as an
    event of its author's on the clip: what the analytics count as comments (exactly once, with
    the rest of the log; flagged accounts' comments are filtered like their likes)."""
    kind = feed_service.EventType.comment if posted else feed_service.EventType.uncomment
    feed_service.record_server_event(
        session, comment.author_id, kind, clip_id=comment.clip_id, creator_id=creator_id
    )


def get_comment(session: Session, comment_id: uuid.UUID) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.status is CommentStatus.deleted:
        raise CommentNotFound("No such comment")
    return comment


def _change_status(
    session: Session, comment: Comment, new: CommentStatus, hidden_by: str | None = None
) -> bool:
    """Move a comment to ``new`` with a guarded update (two concurrent deletes count once) and
    keep the counts exact. Returns whether it changed."""
    old = comment.status
    if old is new:
        return False
    changed = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status == old)
        .values(status=new, hidden_by=hidden_by if new is CommentStatus.hidden else None)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        session.refresh(comment)
        return False
    delta = (new is CommentStatus.visible) - (old is CommentStatus.visible)
    if delta:
        _bump_clip(session, comment.clip_id, comments=delta)
        _comment_event(session, comment, None, posted=delta > 0)
        if comment.parent_id is not None:
            session.execute(
                update(Comment)
                .where(Comment.id == comment.parent_id)
                .values(reply_count=Comment.reply_count + delta)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    session.refresh(comment)
    return True


def edit_comment(session: Session, user: User, comment_id: uuid.UUID, body: str) -> Comment:
    comment = get_comment(session, comment_id)
    if comment.author_id != user.id:
        raise NotCommentAuthor("Only the author can edit a comment")
    body = _check_body(session, body)
    previous = {m["user_id"] for m in comment.mentions or []}
    comment.body = body
    comment.mentions = _mentions(session, body)
    comment.edited_at = utcnow()
    session.flush()
    _notify_mentions(session, comment, user, set(), previous)
    return comment


def delete_comment(session: Session, user: User, comment_id: uuid.UUID) -> None:
    """The author, the clip's creator or an admin."""
    comment = get_comment(session, comment_id)
    if comment.author_id != user.id and user.role is not Role.admin:
        clip = clips_service.get_clip(session, comment.clip_id, include_deleted=True)
        if clip.creator_id != user.id:
            raise NotCommentAuthor("Only the author or the clip's creator can delete a comment")
    comment.pinned_at = None
    _change_status(session, comment, CommentStatus.deleted)


def _owned_clip_comment(session: Session, user: User, comment_id: uuid.UUID) -> tuple[Comment, Clip]:
    comment = get_comment(session, comment_id)
    clip = clips_service.get_clip(session, comment.clip_id)
    if clip.creator_id != user.id and user.role is not Role.admin:
        raise NotClipCreator("Only the clip's creator can do this")
    return comment, clip


def creator_set_hidden(
    session: Session, user: User, comment_id: uuid.UUID, hidden: bool, reason: str | None
) -> Comment:
    comment, _clip = _owned_clip_comment(session, user, comment_id)
    if not hidden and comment.hidden_by == "moderator" and user.role is not Role.admin:
        raise Forbidden("A moderator hid this comment", code="hidden_by_moderator")
    if _change_status(session, comment, CommentStatus.hidden if hidden else CommentStatus.visible, "creator"):
        if hidden:
            comment.pinned_at = None
        _log(
            session,
            actor=user,
            actor_role="creator",
            action="hide" if hidden else "restore",
            target_type=TargetType.comment,
            target_id=comment.id,
            subject_user_id=None,  # a creator's choice on their clip is no strike against the author
            reason=reason or ("hidden by the clip's creator" if hidden else "restored by the clip's creator"),
        )
    return comment


def set_pinned(session: Session, user: User, comment_id: uuid.UUID, pinned: bool) -> Comment:
    """One pinned comment per clip: pinning another unpins the previous one."""
    comment, clip = _owned_clip_comment(session, user, comment_id)
    if pinned:
        if comment.parent_id is not None or comment.status is not CommentStatus.visible:
            raise BlockedWordUsed("Only visible top-level comments can be pinned", code="cannot_pin")
        session.execute(
            update(Comment)
            .where(Comment.clip_id == clip.id, Comment.pinned_at.is_not(None))
            .values(pinned_at=None)
            .execution_options(synchronize_session=False)
        )
        comment.pinned_at = utcnow()
    else:
        comment.pinned_at = None
    session.flush()
    session.refresh(comment)
    return comment


def is_clip_owner(session: Session, user: User | None, clip_id: uuid.UUID) -> bool:
    """The clip's creator or an admin (they see comments hidden on it)."""
    if user is None:
        return False
    if user.role is Role.admin:
        return True
    return clips_service.get_clip(session, clip_id, include_deleted=True).creator_id == user.id


def list_comments(
    session: Session,
    viewer: User | None,
    clip_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None = None,
    sort: str = "newest",
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[Comment], str | None]:
    """Top-level comments (pinned first on the first page) or the replies of ``parent_id``
    (oldest first). Comments by users the viewer blocked are left out; hidden ones are shown to
    the clip's creator only; a removed comment with replies stays as a placeholder."""
    clip = _viewable_clip(session, clip_id, viewer)
    is_creator = viewer is not None and (viewer.id == clip.creator_id or viewer.role is Role.admin)
    query = select(Comment).where(Comment.clip_id == clip.id)
    if parent_id is None:
        query = query.where(Comment.parent_id.is_(None))
    else:
        query = query.where(Comment.parent_id == parent_id)
    shown = [CommentStatus.visible, CommentStatus.hidden] if is_creator else [CommentStatus.visible]
    placeholder = (Comment.status != CommentStatus.visible) & (Comment.reply_count > 0)
    query = query.where(Comment.status.in_(shown) | placeholder)
    if viewer is not None:
        blocked = blocked_user_ids(session, viewer.id)
        if blocked:
            query = query.where(Comment.author_id.not_in(blocked))
    pinned: list[Comment] = []
    if parent_id is None:
        if cursor is None:
            pinned = list(session.scalars(query.where(Comment.pinned_at.is_not(None))))
        query = query.where(Comment.pinned_at.is_(None))
    if parent_id is not None:
        order: list[Any] = [Comment.created_at.asc(), Comment.id.asc()]
        key = decode_cursor(cursor, 2)
        if key is not None:
            at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
            query = query.where(
                (Comment.created_at > at) | ((Comment.created_at == at) & (Comment.id > last))
            )
    elif sort == "top":
        order = [Comment.reply_count.desc(), Comment.created_at.desc(), Comment.id.desc()]
        key = decode_cursor(cursor, 3)
        if key is not None:
            n, at, last = int(key[0]), datetime.fromisoformat(key[1]), uuid.UUID(key[2])
            query = query.where(
                (Comment.reply_count < n)
                | ((Comment.reply_count == n) & (Comment.created_at < at))
                | ((Comment.reply_count == n) & (Comment.created_at == at) & (Comment.id < last))
            )
    else:
        order = [Comment.created_at.desc(), Comment.id.desc()]
        key = decode_cursor(cursor, 2)
        if key is not None:
            at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
            query = query.where(
                (Comment.created_at < at) | ((Comment.created_at == at) & (Comment.id < last))
            )
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last_row = rows[-1]
        if parent_id is None and sort == "top":
            next_cursor = encode_cursor(last_row.reply_count, last_row.created_at.isoformat(), last_row.id)
        else:
            next_cursor = encode_cursor(last_row.created_at.isoformat(), last_row.id)
    return pinned + rows, next_cursor


@dataclass
class Author:
    id: uuid.UUID
    handle: str | None
    display_name: str | None


def authors(session: Session, comments: list[Comment]) -> dict[uuid.UUID, Author]:
    ids = list({c.author_id for c in comments})
    profiles = accounts_service.get_creator_profiles(session, ids)
    out = {}
    for user_id in ids:
        profile = profiles.get(user_id)
        if profile is not None:
            out[user_id] = Author(user_id, profile.handle, profile.display_name)
        else:
            user = accounts_service.get_user(session, user_id)
            out[user_id] = Author(user_id, None, user.display_name)
    return out


# ---------------------------------------------------------------------------- shares


def share_url(code: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/s/{code}"


def create_share(session: Session, user: User, clip_id: uuid.UUID, channel: str | None) -> Share:
    clip = _viewable_clip(session, clip_id, user)
    if clip.visibility is Visibility.private:
        raise ClipNotFound("Private clips cannot be shared.")
    share = Share(
        id=uuid.uuid4(),
        code=secrets.token_urlsafe(SHARE_CODE_BYTES),
        clip_id=clip.id,
        sharer_id=user.id,
        channel=channel,
        created_at=utcnow(),
    )
    session.add(share)
    session.flush()
    _bump_clip(session, clip.id, shares=1)
    session.flush()
    return share


def resolve_share(session: Session, code: str, *, count_open: bool = True) -> tuple[Share, Clip]:
    """The share and its clip, if the clip can still be watched (ready, not private, not hidden
    by moderation: a hidden clip's link stops working at once)."""
    share = session.scalar(select(Share).where(Share.code == code))
    if share is None:
        raise ShareNotFound("This share link does not exist")
    try:
        clip = clips_service.get_ready_public_clip(session, share.clip_id)
    except ClipNotFound:
        raise ShareNotFound("The shared clip is no longer available") from None
    if is_hidden(session, TargetType.clip, clip.id):
        raise ShareNotFound("The shared clip is no longer available")
    if count_open:
        session.execute(update(Share).where(Share.id == share.id).values(opens=Share.opens + 1))
    return share, clip


def record_share_views(session: Session, views: list[tuple[str, uuid.UUID, uuid.UUID]]) -> int:
    """``(share code, viewer, clip)`` of view events that carried a share code: each viewer is
    counted once per share (and only for the share's own clip; the sharer's own views never).
    Returns how many new views were counted."""
    counted = 0
    for code, viewer_id, clip_id in set(views):
        share = session.scalar(select(Share).where(Share.code == code))
        if share is None or share.clip_id != clip_id or share.sharer_id == viewer_id:
            continue
        inserted = session.execute(
            _insert(session, ShareView)
            .values(share_id=share.id, viewer_id=viewer_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["share_id", "viewer_id"])
            .returning(ShareView.share_id)
        ).first()
        if inserted is not None:  # (a new viewer of this share; the row count is not reliable here)
            session.execute(update(Share).where(Share.id == share.id).values(views=Share.views + 1))
            counted += 1
    session.flush()
    return counted


def attribute_checkout(
    session: Session, *, order_id: uuid.UUID, share_code: str, buyer_id: uuid.UUID
) -> bool:
    """Remember that an order was placed through a share link (not the sharer's own order).
    An unknown code is ignored: attribution never fails a checkout."""
    share = session.scalar(select(Share).where(Share.code == share_code))
    if share is None or share.sharer_id == buyer_id:
        return False
    session.execute(
        _insert(session, ShareOrder)
        .values(order_id=order_id, share_id=share.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["order_id"])
    )
    return True


def share_order_paid(session: Session, *, order_id: uuid.UUID, total_minor: int) -> None:
    """An order was paid: counted to its share once (a guarded update), whatever the provider resends."""
    paid = session.execute(
        update(ShareOrder)
        .where(ShareOrder.order_id == order_id, ShareOrder.paid_at.is_(None))
        .values(paid_at=utcnow())
        .returning(ShareOrder.share_id)
    ).first()
    if paid is not None:
        session.execute(
            update(Share)
            .where(Share.id == paid[0])
            .values(purchases=Share.purchases + 1, revenue_minor=Share.revenue_minor + total_minor)
        )


def my_shares(
    session: Session, user: User, *, cursor: str | None, limit: int
) -> tuple[list[Share], str | None, dict[str, int]]:
    query = select(Share).where(Share.sharer_id == user.id)
    key = decode_cursor(cursor, 2)
    if key is not None:
        at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        query = query.where((Share.created_at < at) | ((Share.created_at == at) & (Share.id < last)))
    rows = list(session.scalars(query.order_by(Share.created_at.desc(), Share.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Share.opens), 0),
            func.coalesce(func.sum(Share.views), 0),
            func.coalesce(func.sum(Share.purchases), 0),
            func.coalesce(func.sum(Share.revenue_minor), 0),
        ).where(Share.sharer_id == user.id)
    ).one()
    return (
        rows,
        next_cursor,
        {
            "shares": int(totals[0]),
            "opens": int(totals[1]),
            "views": int(totals[2]),
            "purchases": int(totals[3]),
            "revenue_minor": int(totals[4]),
        },
    )


# ---------------------------------------------------------------------------- polls


def create_poll(
    session: Session,
    user: User,
    clip_id: uuid.UUID,
    *,
    question: str,
    options: list[tuple[str, uuid.UUID | None]],
    closes_at: datetime | None,
) -> Poll:
    """The clip's creator, or a merchant whose products are among the options."""
    clip = _viewable_clip(session, clip_id, user)
    organisation_id = None
    if user.role is Role.merchant:
        organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
        products = [p for _, p in options if p is not None]
        if organisation_id is None or not products:
            raise NotPollOwner("A merchant's poll offers at least one of its own products")
        for owned_product in products:
            catalog_service.get_owned_product(session, organisation_id, owned_product)
    elif clip.creator_id != user.id and user.role is not Role.admin:
        raise NotPollOwner("Only the clip's creator or a merchant can ask a poll")
    else:
        for _, option_product in options:
            if option_product is not None:
                catalog_service.get_public_product(session, option_product)
    check_text(session, question, *(label for label, _ in options))
    poll = Poll(
        id=uuid.uuid4(),
        clip_id=clip.id,
        author_id=user.id,
        organisation_id=organisation_id,
        question=question.strip(),
        closes_at=closes_at,
        created_at=utcnow(),
    )
    session.add(poll)
    session.flush()
    for position, (label, product_id) in enumerate(options):
        session.add(
            PollOption(
                id=uuid.uuid4(),
                poll_id=poll.id,
                position=position,
                label=label.strip(),
                product_id=product_id,
            )
        )
    session.flush()
    return poll


def get_poll(session: Session, poll_id: uuid.UUID) -> Poll:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise PollNotFound("No such poll")
    return poll


def poll_is_open(poll: Poll, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return poll.closed_at is None and (poll.closes_at is None or poll.closes_at > now)


def poll_options(session: Session, poll_id: uuid.UUID) -> list[PollOption]:
    return list(
        session.scalars(select(PollOption).where(PollOption.poll_id == poll_id).order_by(PollOption.position))
    )


def poll_results(session: Session, poll_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """option id -> votes, counted from the votes (exact, whatever the concurrency)."""
    rows = session.execute(
        select(PollVote.option_id, func.count())
        .where(PollVote.poll_id == poll_id)
        .group_by(PollVote.option_id)
    )
    return {r[0]: int(r[1]) for r in rows}


def my_vote(session: Session, poll_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(PollVote.option_id).where(PollVote.poll_id == poll_id, PollVote.user_id == user_id)
    )


def can_see_results(session: Session, poll: Poll, user: User | None, voted: bool) -> bool:
    if voted or not poll_is_open(poll):
        return True
    if user is None:
        return False
    if user.id == poll.author_id or user.role is Role.admin:
        return True
    if poll.organisation_id is not None:
        return accounts_service.get_merchant_organisation_id(session, user.id) == poll.organisation_id
    clip = clips_service.get_clip(session, poll.clip_id, include_deleted=True)
    return clip.creator_id == user.id


def vote(session: Session, user: User, poll_id: uuid.UUID, option_id: uuid.UUID) -> Poll:
    """One vote per viewer (the primary key); voting again changes it, until the poll closes."""
    poll = get_poll(session, poll_id)
    _viewable_clip(session, poll.clip_id, user)
    if not poll_is_open(poll):
        raise PollClosed("This poll is closed")
    if option_id not in {o.id for o in poll_options(session, poll.id)}:
        raise PollOptionNotFound("No such option in this poll")
    now = utcnow()
    session.execute(
        _insert(session, PollVote)
        .values(poll_id=poll.id, user_id=user.id, option_id=option_id, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=["poll_id", "user_id"], set_={"option_id": option_id, "updated_at": now}
        )
    )
    session.flush()
    return poll


def close_poll(session: Session, user: User, poll_id: uuid.UUID) -> Poll:
    poll = get_poll(session, poll_id)
    owner = user.id == poll.author_id or user.role is Role.admin
    if not owner and poll.organisation_id is not None:
        owner = accounts_service.get_merchant_organisation_id(session, user.id) == poll.organisation_id
    if not owner:
        raise NotPollOwner("Only the poll's author can close it")
    if poll.closed_at is None:
        poll.closed_at = utcnow()
    session.flush()
    return poll


def clip_polls(session: Session, viewer: User | None, clip_id: uuid.UUID) -> list[Poll]:
    clip = _viewable_clip(session, clip_id, viewer)
    return list(session.scalars(select(Poll).where(Poll.clip_id == clip.id).order_by(Poll.created_at.desc())))


def organisation_polls(
    session: Session, organisation_id: uuid.UUID, *, cursor: str | None, limit: int
) -> tuple[list[Poll], str | None]:
    query = select(Poll).where(Poll.organisation_id == organisation_id)
    key = decode_cursor(cursor, 2)
    if key is not None:
        at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        query = query.where((Poll.created_at < at) | ((Poll.created_at == at) & (Poll.id < last)))
    rows = list(session.scalars(query.order_by(Poll.created_at.desc(), Poll.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)
    return rows, next_cursor


# ---------------------------------------------------------------------------- moderation


def _log(
    session: Session,
    *,
    actor: User | None,
    actor_role: str,
    action: str,
    target_type: TargetType,
    target_id: uuid.UUID,
    subject_user_id: uuid.UUID | None,
    reason: str,
    report_id: uuid.UUID | None = None,
) -> ModerationAction:
    entry = ModerationAction(
        id=uuid.uuid4(),
        actor_id=actor.id if actor else None,
        actor_role=actor_role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        subject_user_id=subject_user_id,
        report_id=report_id,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def _subject_of(session: Session, target_type: TargetType, target_id: uuid.UUID) -> uuid.UUID:
    """Who is responsible for the target; 404 ``target_not_found`` when there is no such target."""
    try:
        if target_type is TargetType.clip:
            return clips_service.get_clip(session, target_id).creator_id
        if target_type is TargetType.comment:
            return get_comment(session, target_id).author_id
        return accounts_service.get_user(session, target_id).id
    except Exception as exc:
        if getattr(exc, "status_code", None) == 404:
            raise TargetNotFound(f"No such {target_type.value}") from None
        raise


def strikes(session: Session, user_id: uuid.UUID) -> int:
    """Upheld decisions against this user's content or account."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ModerationAction)
            .where(
                ModerationAction.subject_user_id == user_id, ModerationAction.action.in_(("hide", "suspend"))
            )
        )
        or 0
    )


def report(
    session: Session,
    reporter: User,
    *,
    target_type: TargetType,
    target_id: uuid.UUID,
    reason: ReportReason,
    note: str | None,
) -> Report:
    subject = _subject_of(session, target_type, target_id)
    if target_type is TargetType.clip:
        _viewable_clip(session, target_id, reporter)
    if subject == reporter.id:
        raise InvalidModerationAction("You cannot report your own content")
    existing = session.scalar(
        select(Report.id).where(
            Report.reporter_id == reporter.id,
            Report.target_type == target_type,
            Report.target_id == target_id,
        )
    )
    if existing is not None:
        raise AlreadyReported("You already reported this")
    escalated = strikes(session, subject) >= get_settings().moderation_escalation_strikes
    row = Report(
        id=uuid.uuid4(),
        reporter_id=reporter.id,
        target_type=target_type,
        target_id=target_id,
        subject_user_id=subject,
        reason=reason,
        note=note,
        status=ReportStatus.open,
        escalated=escalated,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if escalated:
        _log(
            session,
            actor=None,
            actor_role="system",
            action="escalate",
            target_type=target_type,
            target_id=target_id,
            subject_user_id=None,
            report_id=row.id,
            reason=f"repeat offender: {strikes(session, subject)} upheld decisions",
        )
    return row


def get_report(session: Session, report_id: uuid.UUID) -> Report:
    row = session.get(Report, report_id)
    if row is None:
        raise ReportNotFound("No such report")
    return row


def queue(
    session: Session, *, status: ReportStatus, cursor: str | None, limit: int
) -> tuple[list[Report], str | None]:
    """Escalated reports first, then the oldest first."""
    query = select(Report).where(Report.status == status)
    key = decode_cursor(cursor, 3)
    if key is not None:
        esc, at, last = bool(int(key[0])), datetime.fromisoformat(key[1]), uuid.UUID(key[2])
        after_same = (Report.escalated == esc) & (
            (Report.created_at > at) | ((Report.created_at == at) & (Report.id > last))
        )
        query = query.where(after_same | (Report.escalated.is_(False)) if esc else after_same)
    rows = list(
        session.scalars(
            query.order_by(Report.escalated.desc(), Report.created_at.asc(), Report.id.asc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        r = rows[-1]
        next_cursor = encode_cursor(int(r.escalated), r.created_at.isoformat(), r.id)
    return rows, next_cursor


def report_context(session: Session, row: Report) -> dict[str, Any]:
    """What an operator needs to decide: the target as it is, how many reported it, the
    subject's record."""
    context: dict[str, Any] = {"hidden": False}
    try:
        if row.target_type is TargetType.clip:
            clip = clips_service.get_clip(session, row.target_id, include_deleted=True)
            context.update(
                caption=clip.caption,
                status=clip.status.value,
                visibility=clip.visibility.value,
                creator_handle=_handle_of(session, clip.creator_id),
                poster_url=clips_service.playback(clip)["poster"],
                hidden=is_hidden(session, TargetType.clip, clip.id),
            )
        elif row.target_type is TargetType.comment:
            comment = session.get(Comment, row.target_id)
            if comment is not None:
                context.update(
                    body=comment.body,
                    clip_id=str(comment.clip_id),
                    status=comment.status.value,
                    hidden=comment.status is CommentStatus.hidden,
                    author_handle=_handle_of(session, comment.author_id),
                )
        else:
            user = accounts_service.get_user(session, row.target_id)
            context.update(
                display_name=user.display_name,
                handle=_handle_of(session, user.id),
                is_active=user.is_active,
                role=user.role.value,
            )
    except Exception as exc:
        if getattr(exc, "status_code", None) != 404:
            raise
        context["missing"] = True
    context["reports_on_target"] = int(
        session.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.target_type == row.target_type, Report.target_id == row.target_id)
        )
        or 0
    )
    if row.subject_user_id is not None:
        context["subject_strikes"] = strikes(session, row.subject_user_id)
    return context


ACTIONS = {
    TargetType.clip: ("hide", "restore", "dismiss"),
    TargetType.comment: ("hide", "restore", "dismiss"),
    TargetType.user: ("suspend", "unsuspend", "dismiss"),
}


def moderate(
    session: Session,
    admin: User,
    *,
    target_type: TargetType,
    target_id: uuid.UUID,
    action: str,
    reason: str,
    report_id: uuid.UUID | None = None,
) -> ModerationAction:
    """Apply an operator's decision, resolve the open reports on the target and log it."""
    if action not in ACTIONS[target_type]:
        raise InvalidModerationAction(
            f"A {target_type.value} can be: {', '.join(ACTIONS[target_type])}",
            allowed=list(ACTIONS[target_type]),
        )
    subject = _subject_of_any(session, target_type, target_id)
    if target_type is TargetType.clip and action in ("hide", "restore"):
        _set_clip_hidden(session, admin, target_id, action == "hide", reason)
    elif target_type is TargetType.comment and action in ("hide", "restore"):
        comment = session.get(Comment, target_id)
        assert comment is not None
        if comment.status is not CommentStatus.deleted:
            _change_status(
                session,
                comment,
                CommentStatus.hidden if action == "hide" else CommentStatus.visible,
                "moderator",
            )
            if action == "hide":  # hidden by its clip's creator before: now the moderators' call
                comment.hidden_by = "moderator"
                comment.pinned_at = None
    elif target_type is TargetType.user and action in ("suspend", "unsuspend"):
        accounts_service.set_user_active(session, target_id, action == "unsuspend")
    resolved = (
        ReportStatus.dismissed if action in ("dismiss", "restore", "unsuspend") else ReportStatus.actioned
    )
    session.execute(
        update(Report)
        .where(
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.status == ReportStatus.open,
        )
        .values(status=resolved, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    entry = _log(
        session,
        actor=admin,
        actor_role="admin",
        action=action,
        target_type=target_type,
        target_id=target_id,
        subject_user_id=subject,
        report_id=report_id,
        reason=reason,
    )
    if action in ("hide", "suspend") and subject is not None:
        notifications.notify(
            session,
            user_id=subject,
            kind=notifications.NotificationKind.moderation,
            title="Your clip was hidden"
            if target_type is TargetType.clip
            else (
                "Your comment was hidden"
                if target_type is TargetType.comment
                else "Your account was suspended"
            ),
            body=reason,
            data={"target_type": target_type.value, "target_id": str(target_id), "action": action},
        )
    session.expire_all()
    return entry


def _subject_of_any(session: Session, target_type: TargetType, target_id: uuid.UUID) -> uuid.UUID | None:
    if target_type is TargetType.comment:
        comment = session.get(Comment, target_id)
        if comment is None:
            raise TargetNotFound("No such comment")
        return comment.author_id
    if target_type is TargetType.clip:
        try:
            return clips_service.get_clip(session, target_id, include_deleted=True).creator_id
        except ClipNotFound:
            raise TargetNotFound("No such clip") from None
    return _subject_of(session, target_type, target_id)


def _set_clip_hidden(session: Session, admin: User, clip_id: uuid.UUID, hidden: bool, reason: str) -> None:
    if hidden:
        session.execute(
            _insert(session, HiddenContent)
            .values(
                target_type=TargetType.clip,
                target_id=clip_id,
                hidden_at=utcnow(),
                hidden_by=admin.id,
                reason=reason,
            )
            .on_conflict_do_nothing(index_elements=["target_type", "target_id"])
        )
    else:
        session.execute(
            delete(HiddenContent).where(
                HiddenContent.target_type == TargetType.clip, HiddenContent.target_id == clip_id
            )
        )
    # every process's feed engine sees the change in its scan of recently updated clips; this
    # process drops the clip at once
    clips_service.touch_clip(session, clip_id)
    session.flush()
    on_commit(session, lambda: _clip_visibility_changed(clip_id, hidden))


def _clip_visibility_changed(clip_id: uuid.UUID, hidden: bool) -> None:
    from app.feed import runtime as feed_runtime

    feed_runtime.clip_moderated(clip_id, hidden)


def decide_report(
    session: Session, admin: User, report_id: uuid.UUID, action: str, reason: str
) -> ModerationAction:
    row = get_report(session, report_id)
    return moderate(
        session,
        admin,
        target_type=row.target_type,
        target_id=row.target_id,
        action=action,
        reason=reason,
        report_id=row.id,
    )


def decisions(
    session: Session,
    *,
    target_type: TargetType | None,
    target_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ModerationAction], str | None]:
    query = select(ModerationAction)
    if target_type is not None:
        query = query.where(ModerationAction.target_type == target_type)
    if target_id is not None:
        query = query.where(ModerationAction.target_id == target_id)
    key = decode_cursor(cursor, 2)
    if key is not None:
        at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        query = query.where(
            (ModerationAction.created_at < at)
            | ((ModerationAction.created_at == at) & (ModerationAction.id < last))
        )
    rows = list(
        session.scalars(
            query.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)
    return rows, next_cursor


def list_blocked_words(session: Session) -> list[BlockedWord]:
    return list(session.scalars(select(BlockedWord).order_by(BlockedWord.word)))


def add_blocked_word(session: Session, admin: User, word: str) -> BlockedWord:
    word = word.strip().lower()
    existing = session.scalar(select(BlockedWord).where(BlockedWord.word == word))
    if existing is not None:
        return existing
    row = BlockedWord(id=uuid.uuid4(), word=word, created_by=admin.id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def remove_blocked_word(session: Session, word_id: uuid.UUID) -> None:
    session.execute(delete(BlockedWord).where(BlockedWord.id == word_id))
    session.flush()
