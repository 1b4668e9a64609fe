"""Demo catalog for ``clipshop seed-demo``: products and SKUs for the demo merchant, product
images drawn with Pillow, and tags on the demo creator's ready clips. Safe to run again."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from app.accounts import service as accounts_service
from app.catalog import service
from app.catalog.models import Product
from app.catalog.schemas import ProductCreate
from app.db import session_scope

DEMO_MERCHANT = "merchant@demo.clipshop"
DEMO_CREATOR = "creator@demo.clipshop"

DEMO_PRODUCTS: list[dict[str, Any]] = [
    {
        "handle": "demo-everyday-hoodie",
        "title": "Everyday hoodie",
        "brand": "Demo Goods",
        "category": "Clothing > Hoodies",
        "description": "Heavy brushed cotton, relaxed fit.",
        "colour": (52, 84, 140),
        "skus": [
            {"sku": f"DEMO-HOODIE-{size}", "price_minor": 5900, "currency": "EUR", "quantity": qty, "options": {"size": size}}
            for size, qty in (("S", 12), ("M", 20), ("L", 4), ("XL", 0))
        ],
    },
    {
        "handle": "demo-court-sneaker",
        "title": "Court sneaker",
        "brand": "Demo Goods",
        "category": "Shoes > Sneakers",
        "description": "Leather low-top with a gum sole.",
        "colour": (230, 230, 225),
        "skus": [
            {"sku": f"DEMO-SNEAKER-{size}", "price_minor": 8900, "compare_at_minor": 10900, "currency": "EUR", "quantity": 6, "options": {"size": str(size)}}
            for size in (40, 41, 42, 43, 44)
        ],
    },
    {
        "handle": "demo-vitamin-c-serum",
        "title": "Vitamin C serum",
        "brand": "Demo Skin",
        "category": "Beauty > Skincare",
        "description": "15% ascorbic acid, 30 ml.",
        "colour": (240, 170, 60),
        "skus": [{"sku": "DEMO-SERUM-30", "price_minor": 2450, "currency": "EUR", "quantity": 40, "options": {}}],
    },
    {
        "handle": "demo-single-origin-beans",
        "title": "Single-origin coffee beans",
        "brand": "Demo Roasters",
        "category": "Kitchen > Coffee",
        "description": "Washed Ethiopian, light roast.",
        "colour": (110, 70, 40),
        "skus": [
            {"sku": f"DEMO-BEANS-{grams}", "price_minor": price, "currency": "EUR", "quantity": 25, "options": {"weight": f"{grams} g"}}
            for grams, price in ((250, 1400), (1000, 4800))
        ],
    },
]  # fmt: skip


def _picture(colour: tuple[int, int, int], title: str) -> bytes:
    image = Image.new("RGB", (1080, 1080), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((140, 140, 940, 940), outline=(255, 255, 255), width=12)
    draw.text((180, 500), title, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def seed_demo_catalog() -> dict[str, Any]:
    created = 0
    with session_scope() as session:
        merchant = accounts_service.get_user_by_email(session, DEMO_MERCHANT)
        if merchant is None:
            return {"catalog": "no demo merchant"}
        organisation_id = service.organisation_id_for(session, merchant)
        for spec in DEMO_PRODUCTS:
            exists = session.scalar(
                select(Product.id).where(
                    Product.organisation_id == organisation_id, Product.handle == spec["handle"]
                )
            )
            if exists:
                continue
            body = {k: v for k, v in spec.items() if k != "colour"}
            product = service.create_product(
                session, organisation_id, ProductCreate.model_validate(body), merchant.id
            )
            service.add_image(session, product, _picture(spec["colour"], spec["title"]), alt=spec["title"])
            created += 1
    tagged = tag_demo_clips()
    return {"catalog": f"{created} demo products created", "tags": f"{tagged} demo tags created"}


# Caption words -> the demo product a clip shows (the first match wins).
CAPTION_PRODUCTS = [
    ("serum", "demo-vitamin-c-serum"),
    ("skincare", "demo-vitamin-c-serum"),
    ("hoodie", "demo-everyday-hoodie"),
    ("sneaker", "demo-court-sneaker"),
    ("coffee", "demo-single-origin-beans"),
    ("beans", "demo-single-origin-beans"),
]
DEMO_CREATORS = [DEMO_CREATOR, "lea.style@demo.clipshop", "sam.brews@demo.clipshop"]


def tag_demo_clips() -> int:
    """Tag each ready clip of the demo creators that has no tags yet with the demo product its
    caption names (else one in turn), from 1 s in (or a third of a short clip) to the end, at the
    point where the demo picture shows the product."""
    from app.accounts.models import User
    from app.clips.models import Clip, ClipStatus
    from app.tags import service as tags_service
    from app.tags.models import ProductTag
    from app.tags.schemas import TagCreate

    count = 0
    with session_scope() as session:
        merchant = accounts_service.get_user_by_email(session, DEMO_MERCHANT)
        if merchant is None:
            return 0
        organisation_id = service.organisation_id_for(session, merchant)
        products = list(
            session.scalars(
                select(Product).where(Product.organisation_id == organisation_id).order_by(Product.handle)
            )
        )
        by_handle = {p.handle: p for p in products if p.skus}
        in_turn = [p for p in products if p.skus]
        n = 0
        for email in DEMO_CREATORS:
            creator = accounts_service.get_user_by_email(session, email)
            if creator is None:
                continue
            clips = list(
                session.scalars(
                    select(Clip)
                    .where(Clip.creator_id == creator.id, Clip.status == ClipStatus.ready)
                    .where(~select(ProductTag.id).where(ProductTag.clip_id == Clip.id).exists())
                    .order_by(Clip.created_at)
                )
            )
            user = session.get(User, creator.id)
            assert user is not None
            for clip in clips:
                if not in_turn or not clip.duration_ms or clip.duration_ms < 200:
                    continue
                caption = (clip.caption or "").lower()
                handle = next((h for word, h in CAPTION_PRODUCTS if word in caption and h in by_handle), None)
                product = by_handle[handle] if handle else in_turn[n % len(in_turn)]
                n += 1
                sku = next((s for s in product.skus if s.quantity > 0), product.skus[0])
                start = min(1000, clip.duration_ms // 3)
                data = TagCreate(
                    sku_id=sku.id, start_ms=start, end_ms=clip.duration_ms, x=0.5, y=0.42, label=product.title[:80]
                )
                tags_service.create_tag(session, clip.id, user, data)
                count += 1
    return count
