from app.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)


class ProductNotFound(NotFound):
    code = "product_not_found"


class SkuNotFound(NotFound):
    code = "sku_not_found"


class ImportNotFound(NotFound):
    code = "import_not_found"


class NotYourProduct(Forbidden):
    code = "not_your_product"


class NoOrganisation(Forbidden):
    code = "no_merchant_organisation"


class SkuCodeTaken(Conflict):
    code = "sku_code_taken"


class HandleTaken(Conflict):
    code = "product_handle_taken"


class SkuHasOrders(Conflict):
    code = "sku_has_orders"


class ProductHasOrders(Conflict):
    code = "product_has_orders"


class StockBelowReserved(Conflict):
    code = "stock_below_reserved"


class VersionMismatch(PreconditionFailed):
    code = "version_mismatch"


class PreconditionRequired(DomainError):
    status_code = 428
    code = "precondition_required"


class InvalidImage(Unprocessable):
    code = "invalid_image"


class ImageTooLarge(DomainError):
    status_code = 413
    code = "image_too_large"


class InvalidImport(BadRequest):
    code = "invalid_import"


class ImportTooLarge(DomainError):
    status_code = 413
    code = "import_too_large"


class InsufficientStock(Conflict):
    """One error for the whole cart: ``lines`` lists every short line with what is available."""

    code = "insufficient_stock"


class InvalidProductCursor(BadRequest):
    code = "invalid_cursor"
