"""Any sequence of comment, reply, delete, hide and unhide keeps the counts equal to what is visible."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPS = st.lists(
    st.tuples(st.sampled_from(["comment", "reply", "delete", "hide", "unhide", "mod_hide", "restore"]), st.integers(0, 30)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_counts_match_what_is_visible(ops: list[tuple[str, int]], make_clip: Any, bulk_users: Any) -> None:
    from sqlalchemy import select

    from app.accounts.models import Role, User
    from app.db import session_scope
    from app.social import service
    from app.social.models import Comment, CommentStatus, TargetType

    creator_id, author_id, admin_id = bulk_users(3)
    with session_scope() as session:
        session.get(User, admin_id).role = Role.admin  # type: ignore[union-attr]
    clip = make_clip(creator_id)
    ids: list[uuid.UUID] = []
    for op, n in ops:
        with session_scope() as session:
            creator, author, admin = (session.get(User, i) for i in (creator_id, author_id, admin_id))
            assert creator is not None and author is not None and admin is not None
            target = ids[n % len(ids)] if ids else None
            try:
                if op == "comment" or target is None:
                    ids.append(service.create_comment(session, author, clip, f"c{n}").id)
                elif op == "reply":
                    ids.append(service.create_comment(session, author, clip, f"r{n}", target).id)
                elif op == "delete":
                    service.delete_comment(session, author, target)
                elif op in ("hide", "unhide"):
                    service.creator_set_hidden(session, creator, target, op == "hide", None)
                else:
                    service.moderate(
                        session,
                        admin,
                        target_type=TargetType.comment,
                        target_id=target,
                        action="hide" if op == "mod_hide" else "restore",
                        reason="test",
                    )
            except Exception as exc:  # refusals are part of the game (deleted target, reply to hidden...)
                if getattr(exc, "status_code", 500) >= 500:
                    raise
    with session_scope() as session:
        rows = list(session.scalars(select(Comment).where(Comment.clip_id == clip)))
        visible = [c for c in rows if c.status is CommentStatus.visible]
        assert service.clip_counts(session, [clip])[clip][0] == len(visible)
        for c in rows:
            if c.parent_id is None:
                assert c.reply_count == sum(1 for r in visible if r.parent_id == c.id)
