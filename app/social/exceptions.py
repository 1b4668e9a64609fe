from app.errors import Conflict, Forbidden, NotFound, Unprocessable


class CommentNotFound(NotFound):
    code = "comment_not_found"


class ShareNotFound(NotFound):
    code = "share_not_found"


class PollNotFound(NotFound):
    code = "poll_not_found"


class PollOptionNotFound(Unprocessable):
    code = "poll_option_not_found"


class PollClosed(Conflict):
    code = "poll_closed"


class ReportNotFound(NotFound):
    code = "report_not_found"


class TargetNotFound(NotFound):
    code = "target_not_found"


class NotCommentAuthor(Forbidden):
    code = "not_comment_author"


class NotClipCreator(Forbidden):
    code = "not_clip_creator"


class BlockedByCreator(Forbidden):
    code = "blocked_by_creator"


class BlockedWordUsed(Unprocessable):
    code = "blocked_word"


class CannotBlockSelf(Unprocessable):
    code = "cannot_block_self"


class AlreadyReported(Conflict):
    code = "already_reported"


class InvalidModerationAction(Unprocessable):
    code = "invalid_moderation_action"


class NotPollOwner(Forbidden):
    code = "not_poll_owner"
