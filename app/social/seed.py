"""Demo conversation for ``clipshop seed-demo``: comments, a creator's reply and a poll on the demo
clips, so that the web client shows a social feed on a fresh install. Idempotent: a clip that
already has comments (or a poll) is left as it is."""

from __future__ import annotations

from typing import Any

from app.accounts import service as accounts_service
from app.clips import service as clips_service
from app.db import session_scope
from app.social import service

# (commenter e-mail, comment) per demo clip, the clip's creator answering the first one
DEMO_COMMENTS = [
    ("viewer@demo.clipshop", "Where did you get this? I need it for this weekend"),
    ("lea.style@demo.clipshop", "Love this, the colours are perfect together"),
    ("sam.brews@demo.clipshop", "Adding this to my list, thanks for the tip!"),
]
DEMO_REPLY = "Thank you! The link is in the product card, it is back in stock"
DEMO_POLL = ("Which one should I try next?", ["The same in black", "The light version"])


def seed_demo_social(creator_emails: list[str]) -> dict[str, Any]:
    comments = polls = 0
    with session_scope() as session:
        people = {
            email: accounts_service.get_user_by_email(session, email) for email, _ in DEMO_COMMENTS
        }
        for email in creator_emails:
            creator = accounts_service.get_user_by_email(session, email)
            if creator is None:
                continue
            clips, _ = clips_service.list_creator_clips(session, creator, 0, 50)
            ready = [clip for clip in clips if clips_service.is_public_playback(clip)]
            counts = service.clip_counts(session, [clip.id for clip in ready])
            for index, clip in enumerate(ready):
                if counts.get(clip.id, (0, 0))[0]:
                    continue
                first = None
                for author_email, body in DEMO_COMMENTS:
                    author = people.get(author_email)
                    if author is None or author.id == creator.id:
                        continue
                    comment = service.create_comment(session, author, clip.id, body)
                    first = first or comment
                    comments += 1
                if first is not None:
                    service.create_comment(session, creator, clip.id, DEMO_REPLY, parent_id=first.id)
                    comments += 1
                if index == 0:
                    question, options = DEMO_POLL
                    service.create_poll(
                        session, creator, clip.id, question=question,
                        options=[(label, None) for label in options], closes_at=None,
                    )  # fmt: skip
                    polls += 1
    return {"social": f"{comments} comments and {polls} polls added"}
