from app.errors import Conflict, Forbidden, NotFound, Unprocessable


class TagNotFound(NotFound):
    code = "tag_not_found"


class TagForbidden(Forbidden):
    code = "tag_forbidden"


class TagLimitReached(Conflict):
    code = "tag_limit_reached"


class TagOutsideClip(Unprocessable):
    code = "tag_outside_clip"


class ClipNotTaggable(Conflict):
    code = "clip_not_taggable"


class TagNotPending(Conflict):
    code = "tag_not_pending"


class SkuNotTaggable(Unprocessable):
    code = "sku_not_taggable"
