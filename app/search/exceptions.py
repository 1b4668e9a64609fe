from app.errors import BadRequest, Forbidden, NotFound


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class ClipNotFound(NotFound):
    code = "clip_not_found"


class TagSuggestionsForbidden(Forbidden):
    code = "tag_suggestions_forbidden"
