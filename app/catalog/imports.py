"""Bulk catalog import: parse a file into product drafts, then upsert them in a background job.

Formats (README "Catalog import" documents the columns and the mappings):

- ``native_csv``: one row per SKU; rows with the same ``handle`` form one product.
- ``native_jsonl``: one product per line, the body of ``POST /v1/merchant/products`` plus ``handle``
  and ``images`` (URLs).
- ``shopify_csv``: Shopify's product CSV. Shopify exports leave ``Variant SKU`` empty unless the
  shop set one; the code is then derived as ``<Handle>`` + ``-<option value>`` for each option value
  (slugified; the placeholder option ``Default Title`` is dropped), which is stable across exports.
- ``woocommerce_csv``: WooCommerce's product CSV; ``simple`` rows are one-SKU products, ``variable``
  rows are products whose SKUs are the ``variation`` rows pointing at them through ``Parent``.
  ``grouped`` and ``external`` rows have nothing to sell and are reported as skipped rows.
- ``saleor_json``: a Saleor ``populatedb``-style Django fixture (product, productvariant,
  productvariantchannellisting, warehouse.stock, category, productmedia).

Re-importing is idempotent: products match on ``handle`` and SKUs on their code within the
merchant; unchanged values write nothing (no ledger entry when the quantity is the same). Each
product is written inside a savepoint: one bad row leaves its whole product untouched.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.exceptions import ImportNotFound, InvalidImport
from app.catalog.models import (
    CatalogImport,
    ImportStatus,
    LedgerReason,
    Product,
    ProductImage,
    Sku,
)
from app.catalog.schemas import MAX_MINOR, MAX_QUANTITY, ImportErrorRead, ImportRead, SkuCreate
from app.config import get_settings
from app.db import as_utc, session_scope, utcnow
from app.jobs import actor, enqueue
from app.storage import get_storage

logger = logging.getLogger("clipshop.catalog.imports")
_FINISHED = (ImportStatus.succeeded, ImportStatus.completed_with_errors, ImportStatus.failed)


class ImportFormat(StrEnum):
    native_csv = "native_csv"
    native_jsonl = "native_jsonl"
    shopify_csv = "shopify_csv"
    woocommerce_csv = "woocommerce_csv"
    saleor_json = "saleor_json"


ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}
DEFAULT_CURRENCY = "USD"
# Stock for sources that do not track it (WooCommerce "Stock" empty while "In stock?" is 1).
UNTRACKED_QUANTITY = 100
PRODUCTS_PER_TRANSACTION = 25


class RowError(Exception):
    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field_name


@dataclass
class SkuDraft:
    row: int
    code: str
    price_minor: int
    currency: str
    quantity: int
    options: dict[str, str] = field(default_factory=dict)
    compare_at_minor: int | None = None


@dataclass
class ProductDraft:
    handle: str
    title: str = ""
    description: str | None = None
    brand: str | None = None
    category: str | None = None
    interests: list[str] | None = None
    images: list[str] = field(default_factory=list)
    skus: list[SkuDraft] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, row: int, message: str, field_name: str | None = None, sku: str | None = None) -> None:
        self.errors.append({"row": row, "sku": sku, "field": field_name, "message": message})


@dataclass
class ParsedFile:
    products: list[ProductDraft]
    total_rows: int
    # Rows that belong to no product (skipped types, unparseable lines).
    orphan_errors: list[dict[str, Any]] = field(default_factory=list)


# --- value parsing ------------------------------------------------------------------------------

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(value: str) -> str:
    return _SLUG.sub("-", value.lower()).strip("-")


def money_to_minor(value: str | int | float | None, currency: str, field_name: str) -> int:
    if value is None or str(value).strip() == "":
        raise RowError(f"{field_name} is required", field_name)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowError(f"{field_name} {value!r} is not a number", field_name)
    if amount < 0:
        raise RowError(f"{field_name} must not be negative", field_name)
    if amount > MAX_MINOR:
        raise RowError(f"{field_name} is too large", field_name)
    exponent = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise RowError(f"{field_name} {value!r} has more decimals than {currency} allows", field_name)
    return int(minor)


def optional_money(value: str | None, currency: str, field_name: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    return money_to_minor(value, currency, field_name)


def parse_int(value: Any, field_name: str, default: int | None = None) -> int:
    if value is None or str(value).strip() == "":
        if default is not None:
            return default
        raise RowError(f"{field_name} is required", field_name)
    try:
        number = int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise RowError(f"{field_name} {value!r} is not a whole number", field_name)
    if number < 0:
        raise RowError(f"{field_name} must not be negative", field_name)
    if number > MAX_QUANTITY:
        raise RowError(f"{field_name} is larger than {MAX_QUANTITY}", field_name)
    return number


def _shopify_quantity(value: str | None) -> int:
    """Shopify allows negative inventory (oversold): nothing is available then."""
    try:
        quantity = int(Decimal((value or "0").strip()))
    except (InvalidOperation, ValueError):
        raise RowError(f"{value!r} is not a whole number", "Variant Inventory Qty")
    return parse_int(max(0, quantity), "Variant Inventory Qty")


def parse_currency(value: str | None, default: str) -> str:
    code = (value or default).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise RowError(f"currency {value!r} is not an ISO 4217 code", "currency")
    return code


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidImport("The file is not UTF-8 text")
    # strict: a stray or unbalanced quote is an error, not a field that silently swallows the
    # rows after it (the csv module's default reads on to the end of the file)
    reader = csv.DictReader(io.StringIO(text), strict=True)
    rows: list[dict[str, str]] = []
    try:
        if not reader.fieldnames:
            raise InvalidImport("The CSV file has no header row")
        for row in reader:
            rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None})
    except csv.Error as exc:
        data_row = len(rows) + 1
        raise InvalidImport(
            f"Row {data_row}: malformed CSV ({exc}); check for an unbalanced quote",
            code="malformed_csv",
            rows=[{"row": data_row, "sku": None, "field": None, "message": f"malformed CSV: {exc}"}],
        )
    return rows


def _group(drafts: dict[str, ProductDraft], handle: str) -> ProductDraft:
    if handle not in drafts:
        drafts[handle] = ProductDraft(handle=handle)
    return drafts[handle]


def _guarded(draft: ProductDraft, row: int, sku: str | None, fn: Callable[[], None]) -> None:
    try:
        fn()
    except RowError as exc:
        draft.fail(row, exc.message, exc.field, sku)


# --- native formats -----------------------------------------------------------------------------

NATIVE_COLUMNS = [
    "handle", "title", "description", "brand", "category", "interests", "image_urls",
    "sku", "price", "currency", "compare_at_price", "quantity", "options",
]  # fmt: skip


def _options_from_text(value: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise RowError(f"option {part!r} must look like name=value", "options")
        name, val = part.split("=", 1)
        options[name.strip()] = val.strip()
    return options


def parse_native_csv(data: bytes, currency: str) -> ParsedFile:
    rows = _csv_rows(data)
    if rows and "sku" not in rows[0]:
        raise InvalidImport(f"Native CSV needs the columns {', '.join(NATIVE_COLUMNS)}")
    drafts: dict[str, ProductDraft] = {}
    for number, row in enumerate(rows, start=1):
        handle = row.get("handle") or slugify(row.get("title", "")) or f"row-{number}"
        draft = _group(drafts, handle)
        draft.rows.append(number)
        if row.get("title") and not draft.title:
            draft.title = row["title"]
            draft.description = row.get("description") or None
            draft.brand = row.get("brand") or None
            draft.category = row.get("category") or None
            if row.get("interests"):
                draft.interests = [s for s in row["interests"].split("|") if s.strip()]
        draft.images += [u.strip() for u in row.get("image_urls", "").split("|") if u.strip()]

        def add(row: dict[str, str] = row, number: int = number, draft: ProductDraft = draft) -> None:
            code = row.get("sku", "")
            if not code:
                raise RowError("sku is required", "sku")
            cur = parse_currency(row.get("currency"), currency)
            draft.skus.append(
                SkuDraft(
                    row=number,
                    code=code,
                    price_minor=money_to_minor(row.get("price"), cur, "price"),
                    currency=cur,
                    quantity=parse_int(row.get("quantity"), "quantity", default=0),
                    options=_options_from_text(row.get("options", "")),
                    compare_at_minor=optional_money(row.get("compare_at_price"), cur, "compare_at_price"),
                )
            )

        _guarded(draft, number, row.get("sku") or None, add)
    return ParsedFile(list(drafts.values()), len(rows))


def parse_native_jsonl(data: bytes, currency: str) -> ParsedFile:
    drafts: list[ProductDraft] = []
    orphans: list[dict[str, Any]] = []
    lines = [line for line in data.decode("utf-8-sig", errors="replace").splitlines()]
    total = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        total += 1
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("each line must be a JSON object")
        except ValueError as exc:
            orphans.append({"row": number, "sku": None, "field": None, "message": f"invalid JSON: {exc}"})
            continue
        draft = ProductDraft(
            handle=str(item.get("handle") or slugify(str(item.get("title", ""))) or f"line-{number}")
        )
        draft.rows.append(number)
        draft.title = str(item.get("title") or "")
        draft.description = item.get("description")
        draft.brand = item.get("brand")
        draft.category = item.get("category")
        draft.interests = item.get("interests")
        draft.images = [str(u) for u in item.get("images") or []]
        for sku in item.get("skus") or []:

            def add(sku: dict[str, Any] = sku, draft: ProductDraft = draft, number: int = number) -> None:
                if not isinstance(sku, dict) or not sku.get("sku"):
                    raise RowError("sku is required", "skus.sku")
                cur = parse_currency(sku.get("currency"), currency)
                price = sku.get("price_minor")
                if not isinstance(price, int) or price < 0:
                    raise RowError("price_minor must be a non-negative integer", "skus.price_minor")
                options = sku.get("options") or {}
                if not isinstance(options, dict):
                    raise RowError("options must be an object", "skus.options")
                compare = sku.get("compare_at_minor")
                draft.skus.append(
                    SkuDraft(
                        row=number,
                        code=str(sku["sku"]),
                        price_minor=price,
                        currency=cur,
                        quantity=parse_int(sku.get("quantity"), "skus.quantity", default=0),
                        options={str(k): str(v) for k, v in options.items()},
                        compare_at_minor=int(compare) if compare is not None else None,
                    )
                )

            _guarded(draft, number, sku.get("sku") if isinstance(sku, dict) else None, add)
        drafts.append(draft)
    return ParsedFile(drafts, total, orphans)


# --- Shopify ------------------------------------------------------------------------------------


def shopify_sku_code(handle: str, option_values: list[str]) -> str:
    parts = [slugify(v) for v in option_values if v and v != "Default Title"]
    return "-".join([handle, *[p for p in parts if p]])


def parse_shopify_csv(data: bytes, currency: str) -> ParsedFile:
    rows = _csv_rows(data)
    if rows and "Handle" not in rows[0]:
        raise InvalidImport("Not a Shopify product CSV (no Handle column)")
    drafts: dict[str, ProductDraft] = {}
    option_names: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        handle = row.get("Handle", "")
        draft = _group(drafts, handle or f"row-{number}")
        draft.rows.append(number)
        if not handle:
            draft.fail(number, "Handle is required", "Handle")
            continue
        if row.get("Title") and not draft.title:
            draft.title = row["Title"]
            draft.description = row.get("Body (HTML)") or None
            draft.brand = row.get("Vendor") or None
            draft.category = row.get("Type") or None
            option_names[handle] = [row.get(f"Option{i} Name", "") for i in (1, 2, 3)]
        if row.get("Image Src"):
            draft.images.append(row["Image Src"])
        values = [row.get(f"Option{i} Value", "") for i in (1, 2, 3)]
        if not row.get("Variant Price") and not any(values):
            continue  # an image-only row

        def add(
            row: dict[str, str] = row,
            number: int = number,
            draft: ProductDraft = draft,
            values: list[str] = values,
        ) -> None:
            names = option_names.get(draft.handle, ["", "", ""])
            code = row.get("Variant SKU") or shopify_sku_code(draft.handle, values)
            draft.skus.append(
                SkuDraft(
                    row=number,
                    code=code,
                    price_minor=money_to_minor(row.get("Variant Price"), currency, "Variant Price"),
                    currency=currency,
                    quantity=_shopify_quantity(row.get("Variant Inventory Qty")),
                    options={
                        (names[i] or f"option{i + 1}"): v
                        for i, v in enumerate(values)
                        if v and v != "Default Title"
                    },
                    compare_at_minor=optional_money(
                        row.get("Variant Compare At Price"), currency, "Variant Compare At Price"
                    ),
                )
            )

        _guarded(draft, number, row.get("Variant SKU") or None, add)
    return ParsedFile(list(drafts.values()), len(rows))


# --- WooCommerce --------------------------------------------------------------------------------


def _woo_quantity(row: dict[str, str]) -> int:
    if row.get("Stock"):
        return parse_int(row["Stock"], "Stock")
    return UNTRACKED_QUANTITY if row.get("In stock?", "1") in ("1", "yes", "instock") else 0


def _woo_prices(row: dict[str, str], currency: str) -> tuple[int, int | None]:
    regular = money_to_minor(row.get("Regular price"), currency, "Regular price")
    sale = optional_money(row.get("Sale price"), currency, "Sale price")
    if sale is not None and sale < regular:
        return sale, regular
    return regular, None


def _woo_options(row: dict[str, str]) -> dict[str, str]:
    options = {}
    for i in (1, 2, 3):
        name, value = row.get(f"Attribute {i} name", ""), row.get(f"Attribute {i} value(s)", "")
        if name and value and "," not in value:
            options[name] = value
    return options


def _woo_sku(draft: ProductDraft, number: int, row: dict[str, str], code: str, currency: str) -> None:
    def add() -> None:
        price, compare = _woo_prices(row, currency)
        draft.skus.append(
            SkuDraft(number, code, price, currency, _woo_quantity(row), _woo_options(row), compare)
        )

    _guarded(draft, number, code, add)


def parse_woocommerce_csv(data: bytes, currency: str) -> ParsedFile:
    rows = _csv_rows(data)
    if rows and "Type" not in rows[0]:
        raise InvalidImport("Not a WooCommerce product CSV (no Type column)")
    drafts: dict[str, ProductDraft] = {}
    by_id: dict[str, str] = {}
    orphans: list[dict[str, Any]] = []
    variations: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(rows, start=1):
        kinds = {k.strip() for k in row.get("Type", "").split(",")}
        key = row.get("SKU") or f"woo-{row.get('ID') or number}"
        if "variation" in kinds:
            variations.append((number, row))
            continue
        if "simple" not in kinds and "variable" not in kinds:
            orphans.append(
                {
                    "row": number,
                    "sku": row.get("SKU") or None,
                    "field": "Type",
                    "message": f"skipped: {row.get('Type')!r} products have no stock of their own",
                }
            )
            continue
        draft = _group(drafts, key)
        by_id[row.get("ID", "")] = key
        draft.rows.append(number)
        draft.title = row.get("Name", "")
        draft.description = row.get("Description") or row.get("Short description") or None
        draft.category = (row.get("Categories") or "").split(",")[0].strip() or None
        draft.images = [u.strip() for u in (row.get("Images") or "").split(",") if u.strip()]
        if "simple" in kinds:
            _woo_sku(draft, number, row, key, currency)
    for number, row in variations:
        parent = row.get("Parent", "")
        parent_key = by_id.get(parent.removeprefix("id:")) if parent.startswith("id:") else parent
        if not parent_key or parent_key not in drafts:
            orphans.append(
                {
                    "row": number,
                    "sku": row.get("SKU") or None,
                    "field": "Parent",
                    "message": f"variation of unknown parent {parent!r}",
                }
            )
            continue
        draft = drafts[parent_key]
        draft.rows.append(number)
        _woo_sku(draft, number, row, row.get("SKU") or f"woo-{row.get('ID') or number}", currency)
    return ParsedFile(list(drafts.values()), len(rows), orphans)


# --- Saleor -------------------------------------------------------------------------------------


def parse_saleor_json(data: bytes, currency: str) -> ParsedFile:
    try:
        fixture = json.loads(data)
    except ValueError as exc:
        raise InvalidImport(f"The file is not JSON: {exc}")
    if not isinstance(fixture, list):
        raise InvalidImport("A Saleor fixture is a JSON list of {model, pk, fields} objects")
    by_model: dict[str, list[dict[str, Any]]] = {}
    for obj in fixture:
        if isinstance(obj, dict) and "model" in obj:
            by_model.setdefault(obj["model"], []).append(obj)
    categories = {c["pk"]: c["fields"] for c in by_model.get("product.category", [])}

    def category_path(pk: int | None) -> str | None:
        names: list[str] = []
        while pk is not None and pk in categories and len(names) < 10:
            names.insert(0, categories[pk]["name"])
            pk = categories[pk].get("parent")
        return " > ".join(names) or None

    prices: dict[int, str] = {}
    for listing in by_model.get("product.productvariantchannellisting", []):
        f = listing["fields"]
        if f.get("currency") == currency and f.get("price_amount") is not None:
            prices[f["variant"]] = f["price_amount"]
    stock: dict[int, int] = {}
    for row in by_model.get("warehouse.stock", []):
        f = row["fields"]
        stock[f["product_variant"]] = stock.get(f["product_variant"], 0) + int(f.get("quantity") or 0)
    media: dict[int, list[tuple[int, str]]] = {}
    for m in by_model.get("product.productmedia", []):
        f = m["fields"]
        if f.get("image"):
            media.setdefault(f["product"], []).append((f.get("sort_order") or 0, f["image"]))
    drafts: dict[int, ProductDraft] = {}
    for p in by_model.get("product.product", []):
        f = p["fields"]
        drafts[p["pk"]] = ProductDraft(
            handle=f.get("slug") or f"saleor-{p['pk']}",
            title=f.get("name") or "",
            description=f.get("description_plaintext") or None,
            category=category_path(f.get("category")),
            images=[path for _, path in sorted(media.get(p["pk"], []))],
        )
    orphans: list[dict[str, Any]] = []
    variants = by_model.get("product.productvariant", [])
    for number, v in enumerate(variants, start=1):
        f = v["fields"]
        draft = drafts.get(f.get("product"))
        if draft is None:
            orphans.append(
                {"row": number, "sku": f.get("sku"), "field": "product", "message": "unknown product"}
            )
            continue
        draft.rows.append(number)
        code = f.get("sku") or f"{draft.handle}-v{v['pk']}"

        def add(
            v: dict[str, Any] = v,
            f: dict[str, Any] = f,
            draft: ProductDraft = draft,
            number: int = number,
            code: str = code,
        ) -> None:
            if v["pk"] not in prices:
                raise RowError(f"no channel listing in {currency}", "price_amount")
            draft.skus.append(
                SkuDraft(
                    row=number,
                    code=code,
                    price_minor=money_to_minor(prices[v["pk"]], currency, "price_amount"),
                    currency=currency,
                    quantity=stock.get(v["pk"], 0),
                    options={"variant": f["name"]} if f.get("name") else {},
                )
            )

        _guarded(draft, number, code, add)
    return ParsedFile([d for d in drafts.values() if d.rows], len(variants), orphans)


def parse(fmt: ImportFormat, data: bytes, currency: str) -> ParsedFile:
    """Parse ``data``; a file that does not have the shape of ``fmt`` is an :class:`InvalidImport`."""
    try:
        return PARSERS[fmt](data, currency)
    except InvalidImport:
        raise
    except (csv.Error, KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise InvalidImport(f"The file cannot be read as {fmt.value}: {exc.__class__.__name__}")


PARSERS: dict[ImportFormat, Callable[[bytes, str], ParsedFile]] = {
    ImportFormat.native_csv: parse_native_csv,
    ImportFormat.native_jsonl: parse_native_jsonl,
    ImportFormat.shopify_csv: parse_shopify_csv,
    ImportFormat.woocommerce_csv: parse_woocommerce_csv,
    ImportFormat.saleor_json: parse_saleor_json,
}


def guess_format(data: bytes, filename: str) -> ImportFormat:
    head = data[:4096].decode("utf-8-sig", errors="replace").lstrip()
    if head.startswith("["):
        return ImportFormat.saleor_json
    if head.startswith("{") or filename.endswith((".jsonl", ".ndjson")):
        return ImportFormat.native_jsonl
    header = head.splitlines()[0] if head else ""
    if "Handle" in header and "Variant Price" in header:
        return ImportFormat.shopify_csv
    if "Type" in header and "Regular price" in header:
        return ImportFormat.woocommerce_csv
    return ImportFormat.native_csv


# --- applying drafts ----------------------------------------------------------------------------


def _validate(draft: ProductDraft) -> None:
    first_row = draft.rows[0] if draft.rows else 0
    if not draft.title:
        draft.fail(first_row, "the product has no title", "title")
    if len(draft.title) > 200:
        draft.fail(first_row, "title is longer than 200 characters", "title")
    texts = [draft.handle, draft.title, draft.description, draft.brand, draft.category, *draft.images]
    if any("\x00" in t for t in texts if t):
        draft.fail(first_row, "text contains NUL characters", None)
    seen: set[str] = set()
    for sku in draft.skus:
        if "\x00" in sku.code or any("\x00" in k + v for k, v in sku.options.items()):
            draft.fail(sku.row, "text contains NUL characters", "sku", None)
        if sku.code in seen:
            draft.fail(sku.row, f"SKU code {sku.code!r} repeated in the file", "sku", sku.code)
        seen.add(sku.code)
        if len(sku.code) > 100:
            draft.fail(sku.row, "SKU code is longer than 100 characters", "sku", sku.code)


def apply_draft(
    session: Session, organisation_id: uuid.UUID, draft: ProductDraft, actor_id: uuid.UUID | None
) -> int:
    """Upsert one product and its SKUs (caller holds a savepoint). Returns SKUs written."""
    from app.catalog import service

    product = session.scalar(
        select(Product).where(Product.organisation_id == organisation_id, Product.handle == draft.handle)
    )
    if product is None:
        product = Product(organisation_id=organisation_id, handle=draft.handle, title=draft.title)
        session.add(product)
        session.flush()
    for name in ("title", "description", "brand", "category"):
        value = getattr(draft, name)
        if getattr(product, name) != value:
            setattr(product, name, value)
    service._set_interests(session, product, draft.interests)
    existing_urls = [i.source_url for i in product.images if i.key_prefix is None]
    if existing_urls != draft.images:
        for image in [i for i in product.images if i.key_prefix is None]:
            product.images.remove(image)
        offset = len(product.images)
        for position, url in enumerate(draft.images):
            product.images.append(
                ProductImage(source_url=url[:1000], position=offset + position, variants=[])
            )
    codes = [s.code for s in draft.skus]
    current = {
        s.code: s
        for s in session.scalars(
            select(Sku).where(Sku.organisation_id == organisation_id, Sku.code.in_(codes))
        )
    }
    locked = service.lock_and_release_expired(session, [s.id for s in current.values()])
    for sku_draft in draft.skus:
        sku = current.get(sku_draft.code)
        if sku is None:
            new = SkuCreate(
                sku=sku_draft.code,
                price_minor=sku_draft.price_minor,
                currency=sku_draft.currency,
                quantity=sku_draft.quantity,
                options=sku_draft.options,
                compare_at_minor=sku_draft.compare_at_minor,
            )
            sku = service._add_sku(session, product, new, actor_id, LedgerReason.import_)
            on_hand = sku_draft.quantity
        else:
            if sku.product_id != product.id:
                raise RowError(f"SKU {sku.code!r} belongs to another product of your catalog", "sku")
            for name in ("options", "price_minor", "currency", "compare_at_minor"):
                if getattr(sku, name) != getattr(sku_draft, name):
                    setattr(sku, name, getattr(sku_draft, name))
            on_hand, reserved, _ = locked[sku.id]
            if sku_draft.quantity < reserved:
                raise RowError(
                    f"quantity {sku_draft.quantity} is below the {reserved} units reserved by orders",
                    "quantity",
                )
        if sku_draft.quantity != on_hand:
            service.change_stock(
                session,
                sku.id,
                reason=LedgerReason.import_,
                quantity_delta=sku_draft.quantity - on_hand,
                actor_id=actor_id,
                note="catalog import",
            )
    session.flush()
    return len(draft.skus)


def start_import(
    session: Session,
    organisation_id: uuid.UUID,
    actor_id: uuid.UUID,
    data: bytes,
    fmt: ImportFormat | None,
    filename: str,
    currency: str = DEFAULT_CURRENCY,
) -> CatalogImport:
    if not data.strip():
        raise InvalidImport("The file is empty")
    if b"\x00" in data:
        raise InvalidImport("The file is binary, not CSV or JSON text")
    fmt = fmt or guess_format(data, filename)
    try:
        currency = parse_currency(currency, DEFAULT_CURRENCY)
    except RowError as exc:
        raise InvalidImport(exc.message)
    # Parse once now so that an unreadable file is a 4xx for the caller, not a failed job later.
    parsed = parse(fmt, data, currency)
    job = CatalogImport(
        organisation_id=organisation_id,
        created_by=actor_id,
        format=fmt.value,
        currency=currency,
        file_key="",
        total_rows=parsed.total_rows,
        errors=[],
    )
    session.add(job)
    session.flush()
    job.file_key = f"imports/{organisation_id}/{job.id}/source"
    get_storage().put_bytes(job.file_key, data, "application/octet-stream")
    session.flush()
    enqueue(session, run_import, str(job.id))
    return job


def _chunks(items: list[ProductDraft], size: int) -> Iterator[list[ProductDraft]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def process_import(import_id: uuid.UUID) -> None:
    with session_scope() as session:
        job = session.get(CatalogImport, import_id)
        if job is None or job.status in (ImportStatus.succeeded, ImportStatus.completed_with_errors):
            if job is not None:
                _drop_file(job.file_key)
            return
        job.status = ImportStatus.running
        job.done_rows = 0
        job.products_written = 0
        job.skus_written = 0
        job.errors = []
        fmt = ImportFormat(job.format)
        currency = job.currency
        file_key, organisation_id, actor_id = job.file_key, job.organisation_id, job.created_by
    with get_storage().open(file_key) as handle:
        data = handle.read()
    try:
        parsed = parse(fmt, data, currency)
    except InvalidImport as exc:
        with session_scope() as session:
            job = session.get(CatalogImport, import_id)
            assert job is not None
            job.status = ImportStatus.failed
            job.errors = [{"row": 0, "sku": None, "field": None, "message": exc.detail or str(exc)}]
            job.finished_at = utcnow()
        _drop_file(file_key)
        return
    errors = list(parsed.orphan_errors)
    done = len(parsed.orphan_errors)
    products_written = skus_written = 0
    # Short transactions: progress is visible while the import runs, and on SQLite the write lock
    # is never held for the whole file.
    for chunk in _chunks(parsed.products, PRODUCTS_PER_TRANSACTION):
        with session_scope() as session:
            for draft in chunk:
                _validate(draft)
                if not draft.errors:
                    try:
                        with session.begin_nested():
                            skus_written += apply_draft(session, organisation_id, draft, actor_id)
                        products_written += 1
                    except RowError as exc:
                        draft.fail(draft.rows[0] if draft.rows else 0, exc.message, exc.field)
                if draft.errors:
                    errors += draft.errors
                done += len(draft.rows)
            job = session.get(CatalogImport, import_id)
            assert job is not None
            job.done_rows = done
            job.products_written = products_written
            job.skus_written = skus_written
            job.errors = list(errors)
    with session_scope() as session:
        job = session.get(CatalogImport, import_id)
        assert job is not None
        job.done_rows = parsed.total_rows
        job.status = ImportStatus.completed_with_errors if errors else ImportStatus.succeeded
        job.finished_at = utcnow()
    _drop_file(file_key)


def _drop_file(file_key: str) -> None:
    """An import's source file is only needed until the import is done (the sweep below catches
    any left behind by a crash)."""
    try:
        get_storage().delete(file_key)
    except Exception:  # the sweep retries; the import's outcome stands
        logger.warning("import file not deleted", extra={"key": file_key}, exc_info=True)


def purge_import_files(retention: timedelta | None = None) -> int:
    """Delete import source files whose import is finished (or unknown) or older than
    ``CLIPSHOP_IMPORT_FILE_RETENTION_SECONDS``; a file of an unknown import is kept for that
    long too (its import may not be committed yet)."""
    retention = retention or timedelta(seconds=get_settings().import_file_retention_seconds)
    storage = get_storage()
    cutoff = utcnow() - retention
    removed = 0
    for key in list(storage.list_keys("imports/")):
        parts = key.split("/")
        try:
            import_id = uuid.UUID(parts[2])
        except (IndexError, ValueError):
            import_id = None
        with session_scope() as session:
            job = session.get(CatalogImport, import_id) if import_id else None
            finished = job is not None and job.status in _FINISHED
            created = as_utc(job.created_at) if job is not None else None
        if created is None:
            head = storage.head(key)
            created = head.modified_at if head is not None else None
        if finished or (created is not None and created < cutoff):
            storage.delete(key)
            removed += 1
    return removed


@actor(queue="default", max_retries=3, min_backoff=1000)
def run_import(import_id: str) -> None:
    process_import(uuid.UUID(import_id))


def get_import(session: Session, organisation_id: uuid.UUID, import_id: uuid.UUID) -> CatalogImport:
    job = session.get(CatalogImport, import_id)
    if job is None or job.organisation_id != organisation_id:
        raise ImportNotFound("No such import")
    return job


def import_read(job: CatalogImport) -> ImportRead:
    return ImportRead(
        id=job.id,
        format=job.format,
        status=job.status.value,
        total_rows=job.total_rows,
        done_rows=job.done_rows,
        products_written=job.products_written,
        skus_written=job.skus_written,
        errors=[ImportErrorRead(**e) for e in job.errors or []],
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
