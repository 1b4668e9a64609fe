"""Search end to end through the API, on whichever database the suite runs (SQLite FTS5 or
PostgreSQL FTS + pg_trgm)."""

from __future__ import annotations

import time
import types
import uuid

import pytest

from tests.search.conftest import product_body


def _search(client, q, type_="clips", headers=None, **params):
    response = client.get("/v1/search", params={"q": q, "type": type_, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page):
    return [item["id"] for item in page["items"]]


def test_more_engaged_clip_wins_between_equal_text_matches(client, creator, clip, stats, reindex):
    (a, _), (b, _) = creator(), creator()
    quiet = clip(a["id"], "Summer linen shirt outfit")
    loved = clip(b["id"], "Summer linen shirt outfit")
    stats(loved, likes=250, shares=30, views=4000, completes=2600)
    stats(quiet, likes=1, views=4000, completes=300)
    reindex()
    page = _search(client, "linen shirt", debug="true")
    assert _ids(page)[:2] == [str(loved), str(quiet)]
    top, second = page["items"]
    # the same text relevance; the social signals make the difference, and debug says so
    assert top["debug"]["text"] == second["debug"]["text"]
    assert top["debug"]["social"]["multiplier"] > second["debug"]["social"]["multiplier"]
    assert top["debug"]["social"]["likes"] == 250 and top["likes"] == 250


def test_followers_lift_a_creators_clip(client, make_user, creator, clip, reindex):
    (popular, _), (newcomer, _) = creator(), creator()
    for _ in range(3):
        _, viewer = make_user("viewer")
        assert client.post(
            f"/v1/creators/{popular['creator']['handle']}/follow", headers=viewer
        ).status_code in (200, 201, 204)
    first = clip(newcomer["id"], "Vintage denim jacket haul")
    second = clip(popular["id"], "Vintage denim jacket haul")
    reindex()
    assert _ids(_search(client, "denim jacket")) == [str(second), str(first)]
    creators = _search(client, popular["creator"]["handle"], "creators")
    assert creators["items"][0]["followers"] == 3


def test_prefix_and_typo_matches(client, creator, clip, reindex):
    maker, _ = creator()
    sneakers = clip(maker["id"], "Unboxing my new sneakers #streetwear")
    lipstick = clip(maker["id"], "Matte lipstick swatches")
    reindex()
    # as-you-type: the last word is a prefix
    assert _ids(_search(client, "unbox"))[:1] == [str(sneakers)]
    assert _ids(_search(client, "matte lipst"))[:1] == [str(lipstick)]
    # one typo (a transposition, a missing letter) still finds it
    assert str(sneakers) in _ids(_search(client, "sneakres"))
    assert str(lipstick) in _ids(_search(client, "lipstik"))
    # hashtags are searchable words
    assert str(sneakers) in _ids(_search(client, "streetwear"))


def test_semantic_match_without_a_shared_word(client, creator, clip, reindex):
    maker, _ = creator()
    cream = clip(maker["id"], "my hydrating cream routine")
    clip(maker["id"], "fixing a flat tyre on my road bike")
    clip(maker["id"], "three easy pasta recipes for weeknights")
    reindex()
    page = _search(client, "moisturiser for dry skin", debug="true")
    assert _ids(page)[:1] == [str(cream)]
    top = page["items"][0]["debug"]
    assert top["text_rank"] is None and top["semantic"] >= 0.3


def test_french_stemming(client, creator, clip, reindex):
    maker, _ = creator()
    french = clip(maker["id"], "Ma routine avec une crème hydratante pour la peau sèche")
    clip(maker["id"], "A quick guide to cast iron pans")
    reindex()
    assert _ids(_search(client, "crèmes hydratantes"))[:1] == [str(french)]
    assert _ids(_search(client, "creme hydratant"))[:1] == [str(french)]


def test_english_stemming(client, creator, clip, reindex):
    maker, _ = creator()
    running = clip(maker["id"], "My favourite running shoes for long runs")
    reindex()
    assert _ids(_search(client, "run shoe"))[:1] == [str(running)]


def test_only_public_ready_clips_and_moderation_and_blocks(
    client, make_user, creator, clip, reindex, monkeypatch
):
    (maker, maker_h), (other, _) = creator(), creator()
    public = clip(maker["id"], "Ceramic vase glazing")
    clip(maker["id"], "Ceramic vase glazing private", visibility="private")
    clip(maker["id"], "Ceramic vase glazing unlisted", visibility="unlisted")
    clip(maker["id"], "Ceramic vase glazing processing", status="processing")
    hidden = clip(other["id"], "Ceramic vase glazing again")
    blocked_creator_clip = clip(other["id"], "Ceramic vase glazing by the other one")
    reindex()
    assert set(_ids(_search(client, "ceramic vase"))) == {str(public), str(hidden), str(blocked_creator_clip)}

    _, viewer = make_user("viewer")
    from app.search import sources

    social = types.SimpleNamespace(
        hidden_clip_ids=lambda session: {hidden},
        blocked_user_ids=lambda session, viewer_id: {uuid.UUID(other["id"])},
    )
    monkeypatch.setattr(sources, "_social_service", lambda: social)
    # moderation hides a clip for everyone; a viewer's block hides the blocked creator's clips
    assert set(_ids(_search(client, "ceramic vase"))) == {str(public), str(blocked_creator_clip)}
    assert _ids(_search(client, "ceramic vase", headers=viewer)) == [str(public)]
    # a deleted clip leaves the index at the next round
    assert client.delete(f"/v1/clips/{public}", headers=maker_h).status_code == 204
    reindex()
    assert _ids(_search(client, "ceramic vase", headers=viewer)) == []


def test_new_and_edited_clips_become_searchable(client, creator, clip, reindex):
    maker, maker_h = creator()
    reindex()
    assert _search(client, "kombucha")["items"] == []
    fresh = clip(maker["id"], "Home brewed kombucha")
    reindex()
    assert _ids(_search(client, "kombucha")) == [str(fresh)]
    response = client.patch(
        f"/v1/clips/{fresh}", json={"caption": "Sourdough starter day 3"}, headers=maker_h
    )
    assert response.status_code == 200, response.text
    reindex()
    assert _search(client, "kombucha")["items"] == []
    assert _ids(_search(client, "sourdough")) == [str(fresh)]


def test_products_by_title_and_brand_with_live_availability(client, make_user, reindex):
    _, merchant = make_user("merchant")
    in_stock = client.post(
        "/v1/merchant/products", json=product_body("Hydra Boost Day Cream", brand="Aurora"), headers=merchant
    ).json()
    sold_out = client.post(
        "/v1/merchant/products",
        json=product_body("Hydra Boost Night Cream", brand="Aurora", quantity=0),
        headers=merchant,
    ).json()
    reindex()
    page = _search(client, "aurora", "products", debug="true")
    assert _ids(page) == [in_stock["id"], sold_out["id"]]
    first, second = page["items"]
    assert (first["availability"], first["price_minor"], first["currency"]) == ("in_stock", 2490, "EUR")
    assert second["availability"] == "out_of_stock" and second["debug"]["availability"] < 1
    # stock is read live: restocking changes the order without reindexing
    sku = sold_out["skus"][0]
    restock = client.post(
        f"/v1/merchant/skus/{sku['id']}/stock/adjustments",
        json={"delta": 50, "reason": "restock"},
        headers=merchant,
    )
    assert restock.status_code in (200, 201), restock.text
    page = _search(client, "hydra boost cream", "products")
    assert {item["availability"] for item in page["items"]} == {"in_stock"}


def test_creators_by_name_and_handle_and_hashtags(client, creator, clip, reindex):
    maya, _ = creator(handle="maya.makes", name="Maya Lindqvist")
    clip(maya["id"], "Knitting a scarf #knitting #diy")
    clip(maya["id"], "Chunky yarn blanket #knitting")
    reindex()
    assert _ids(_search(client, "lindqvist", "creators")) == [maya["id"]]
    assert _ids(_search(client, "maya.makes", "creators")) == [maya["id"]]
    tags = _search(client, "knit", "hashtags")["items"]
    assert tags[0]["tag"] == "knitting" and tags[0]["clips"] == 2


def test_suggest_as_you_type(client, make_user, creator, clip, reindex):
    maya, _ = creator(handle="maya.makes", name="Maya Lindqvist")
    clip(maya["id"], "Glass skin routine #skincare")
    _, merchant = make_user("merchant")
    client.post(
        "/v1/merchant/products", json=product_body("Hydrating Cream 50 ml", brand="Aurora"), headers=merchant
    )
    reindex()

    def texts(q):
        response = client.get("/v1/search/suggest", params={"q": q})
        assert response.status_code == 200, response.text
        return [(s["type"], s["text"]) for s in response.json()["items"]]

    assert ("hashtag", "#skincare") in texts("skin")
    assert ("creator", "Maya Lindqvist") in texts("maya")
    assert ("creator", "Maya Lindqvist") in texts("lindq")  # any word of the name
    assert ("product", "Hydrating Cream 50 ml") in texts("cream")
    assert ("brand", "Aurora") in texts("auro")
    assert ("product", "Hydrating Cream 50 ml") in texts("hydratin")
    assert ("product", "Hydrating Cream 50 ml") in texts("hydarting")  # typo in the last word
    assert client.get("/v1/search/suggest", params={"q": ""}).status_code == 422


def test_hashtag_page_ranked_and_filtered(client, creator, clip, stats, reindex):
    maker, _ = creator()
    low = clip(maker["id"], "Morning pages #journaling")
    high = clip(maker["id"], "Bullet journal setup #Journaling #plannerlove")
    clip(maker["id"], "Private diary #journaling", visibility="private")
    stats(high, likes=90, shares=10, views=500, completes=400)
    reindex()
    response = client.get("/v1/hashtags/journaling", params={"limit": 1})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["tag"] == "journaling" and page["clips"] == 2
    assert _ids(page) == [str(high)]
    second = client.get("/v1/hashtags/JOURNALING", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert _ids(second) == [str(low)] and second["next_cursor"] is None
    assert client.get("/v1/hashtags/journaling", params={"cursor": "nonsense!"}).status_code == 400


def test_tag_suggestions_follow_tagging_rules(client, make_user, creator, clip, reindex):
    maker, maker_h = creator()
    _, merchant = make_user("merchant")
    _, other_merchant = make_user("merchant")
    cream = client.post(
        "/v1/merchant/products",
        json=product_body("Intense moisturiser for very dry skin", brand="Aurora"),
        headers=merchant,
    ).json()
    client.post("/v1/merchant/products", json=product_body("Carbon road bike helmet"), headers=merchant)
    other = client.post(
        "/v1/merchant/products",
        json=product_body("Rich face moisturizer", brand="Other"),
        headers=other_merchant,
    ).json()
    inactive = client.post(
        "/v1/merchant/products", json=product_body("Moisturising body lotion"), headers=merchant
    ).json()
    client.patch(f"/v1/merchant/products/{inactive['id']}", json={"active": False}, headers=merchant)
    clip_id = clip(maker["id"], "my hydrating cream routine #skincare")
    reindex()

    response = client.get(f"/v1/clips/{clip_id}/tag-suggestions", headers=maker_h)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ids = [item["product_id"] for item in items]
    assert set(ids[:2]) == {cream["id"], other["id"]}  # creators may tag any merchant's products
    assert inactive["id"] not in ids
    assert items[0]["sku_id"] and items[0]["similarity"] > 0.3

    # a merchant is offered its own products only
    mine = client.get(f"/v1/clips/{clip_id}/tag-suggestions", headers=merchant).json()["items"]
    assert mine[0]["product_id"] == cream["id"] and other["id"] not in [i["product_id"] for i in mine]
    # viewers may not, anonymous callers must sign in, unknown clips are 404
    _, viewer = make_user("viewer")
    assert client.get(f"/v1/clips/{clip_id}/tag-suggestions", headers=viewer).status_code == 403
    assert client.get(f"/v1/clips/{clip_id}/tag-suggestions").status_code == 401
    missing = client.get(f"/v1/clips/{uuid.uuid4()}/tag-suggestions", headers=maker_h)
    assert missing.status_code == 404 and missing.json()["code"] == "clip_not_found"


def test_pages_and_bad_input(client, creator, clip, reindex):
    maker, _ = creator()
    made = {clip(maker["id"], f"Watercolour sketch number {i}") for i in range(5)}
    reindex()
    first = _search(client, "watercolour", limit=3)
    second = _search(client, "watercolour", limit=3, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert set(_ids(first)) | set(_ids(second)) == {str(c) for c in made}
    assert client.get("/v1/search", params={"q": "x", "type": "videos"}).status_code == 422
    assert client.get("/v1/search", params={"q": "x", "cursor": "zzz"}).json()["code"] == "invalid_cursor"
    # punctuation only: nothing to match, not an error
    assert _search(client, "!!!")["items"] == []


@pytest.mark.parametrize(
    "query", ['"unbalanced', "a & b | !c", "o'reilly:*", "<-> (", "NEAR(x y)", "{title}: x"]
)
def test_query_syntax_is_never_an_error(client, creator, clip, reindex, query):
    maker, _ = creator()
    clip(maker["id"], "O'Reilly books about syntax")
    reindex()
    _search(client, query)
    _search(client, query, "products")
    assert client.get("/v1/search/suggest", params={"q": query}).status_code == 200


def test_admin_reindex_is_admin_only(client, make_user, creator, clip):
    from app import jobs

    maker, _ = creator()
    made = clip(maker["id"], "Origami crane folding")
    _, admin = make_user("admin")
    _, viewer = make_user("viewer")
    assert client.post("/v1/admin/search/reindex", headers=viewer).status_code == 403
    assert client.post("/v1/admin/search/reindex", headers=admin).status_code == 202
    # The job row is relayed to the in-process broker after commit: wait for what a user sees
    # (the clip found), not for the queue, which may still be empty at this point.
    deadline = time.monotonic() + 60
    while _ids(_search(client, "origami")) != [str(made)] and time.monotonic() < deadline:
        jobs.broker.join("default", timeout=5_000)
        time.sleep(0.2)
    assert _ids(_search(client, "origami")) == [str(made)]


def test_full_text_structures_are_kept_by_the_database(db):
    """The tsvector column (PostgreSQL) and the FTS5 tables (SQLite) follow plain writes to
    ``search_document``: no application code keeps them."""
    from sqlalchemy import delete, insert, update

    from app.db import utcnow
    from app.search import service
    from app.search.models import SearchDocument

    now = utcnow()
    values = dict(
        kind="product", entity_id=uuid.uuid4(), title="Copper kettle", subtitle="", hashtags="", body=""
    )
    values.update(
        language="english", stems="", names="copper kettle", visible=True, popularity=0.0, text_hash=""
    )
    values.update(source_created_at=now, updated_at=now)
    values.update({f: 0 for f in ("followers", "likes", "shares", "views", "completes", "comments")})
    doc_id = db.execute(insert(SearchDocument).values(values).returning(SearchDocument.id)).scalar()
    assert list(service.text_matches(db, "product", "kettles", 10)) == [doc_id]  # stemmed
    assert list(service.text_matches(db, "product", "copp", 10)) == [doc_id]  # prefix
    db.execute(
        update(SearchDocument)
        .where(SearchDocument.id == doc_id)
        .values(title="Enamel teapot", names="enamel teapot")
    )
    assert service.text_matches(db, "product", "kettle", 10) == {}
    assert list(service.text_matches(db, "product", "teapots", 10)) == [doc_id]
    db.execute(delete(SearchDocument).where(SearchDocument.id == doc_id))
    assert service.text_matches(db, "product", "teapot", 10) == {}
    db.rollback()


def test_product_pages_with_availability_read_lazily_match_the_full_ranking(client, make_user, reindex, db):
    """Availability is read for the best candidates only when a page is asked for (``need``):
    pages must list what the full ranking lists, in its order, sold-out products included."""
    from app.search import service

    _, merchant = make_user("merchant")
    quantities = [0, 1, 50, 0, 3, 80, 2, 0, 40, 1, 0, 60]
    for i, quantity in enumerate(quantities):
        body = product_body(f"Ceramic mug {'large ' * (i % 3)}{i}", brand="Potter", quantity=quantity)
        assert client.post("/v1/merchant/products", json=body, headers=merchant).status_code == 201
    reindex()
    full = [r.doc.entity_id for r in service.search_documents(db, "product", "ceramic mug", None)]
    assert len(full) == len(quantities)
    for need in (1, 2, 5, 8):
        lazy = service.search_documents(db, "product", "ceramic mug", None, need=need)
        assert [r.doc.entity_id for r in lazy][:need] == full[:need]
    db.rollback()  # (SQLite: the API's requests write)
    # and through the API, page by page
    seen, cursor = [], None
    while True:
        page = _search(client, "ceramic mug", "products", limit=5, **({"cursor": cursor} if cursor else {}))
        seen += [uuid.UUID(i) for i in _ids(page)]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == full


def test_common_and_rare_words_rank_alike_on_postgres(creator, clip, stats, reindex, db, monkeypatch):
    """PostgreSQL ranks a word matching more than ``BROAD_MATCHES`` documents from its most
    popular matches, and a rarer one from all its matches: when the candidates hold every match,
    both ways answer the same."""
    from app.db import is_postgres
    from app.search import service
    from app.search.runtime import get_runtime

    if not is_postgres(db):
        pytest.skip("the two ways are PostgreSQL's")
    maker, _ = creator()
    for i in range(12):
        made = clip(maker["id"], f"Walnut desk tour {'walnut ' * (i % 4)}setup {i}")
        stats(made, likes=i * 7 % 5, views=100 + i)
    reindex()
    get_runtime().ensure_fresh(db)  # (the typo matcher corrects words with the process's vocabulary)
    rare = service.text_matches(db, "clip", "walnut desk", 50)
    typo = service.trigram_matches(db, "clip", "walnutt", 50)
    monkeypatch.setattr(service, "BROAD_MATCHES", 3)
    assert service.text_matches(db, "clip", "walnut desk", 50) == rare
    assert service.trigram_matches(db, "clip", "walnutt", 50) == typo
    assert len(rare) == 12 and len(typo) == 12
    # the broad way keeps only the most popular candidates
    assert len(service.text_matches(db, "clip", "walnut desk", 5)) == 5
