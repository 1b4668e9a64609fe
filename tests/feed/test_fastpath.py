"""``GET /v1/feed`` is answered by an ASGI fast path; it must behave exactly like the declared route."""

from __future__ import annotations

from typing import Any

import pytest

from app.feed.fastpath import parse_query
from tests.feed.test_feed_api import catalogue, page  # noqa: F401  (fixture)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (None, 10)),
        (b"limit=5", (None, 5)),
        (b"limit=50&cursor=abc_DEF-9", ("abc_DEF-9", 50)),
        (b"cursor=abc&utm_source=push", ("abc", 10)),  # unknown parameters are ignored, as by the route
        (b"limit=5&", (None, 5)),
    ],
)
def test_plain_queries_are_served_by_the_fast_path(query: bytes, expected: Any) -> None:
    assert parse_query(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"limit=0",
        b"limit=51",
        b"limit=05",
        b"limit=ten",
        b"limit=5&limit=6",
        b"cursor=",
        b"cursor=a%2Bb",
        b"cursor=" + b"a" * 201,
        b"cu%72sor=abc",
    ],
)
def test_anything_unusual_is_left_to_the_declared_route(query: bytes) -> None:
    assert parse_query(query) is None


def test_fast_path_and_declared_route_give_the_same_answers(
    client: Any,
    make_user: Any,
    catalogue: Any,  # noqa: F811
) -> None:
    _, viewer = make_user("viewer")
    first = client.get("/v1/feed?limit=4", headers=viewer)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-request-id"]
    assert len(first.json()["items"]) == 4
    # "limit=04" is not plain: the declared route serves it, from the same session
    cursor = first.json()["next_cursor"]
    second = client.get(f"/v1/feed?limit=04&cursor={cursor}", headers=viewer)
    assert second.status_code == 200 and len(second.json()["items"]) == 4
    assert not {i["clip"]["id"] for i in first.json()["items"]} & {
        i["clip"]["id"] for i in second.json()["items"]
    }
    # the same card fields on both paths (the start of playback included)
    for path_page in (first.json(), second.json()):
        playback = path_page["items"][0]["clip"]["playback"]
        assert set(playback) == {"hls_url", "mp4_url", "hls_start_playlist_url", "hls_start_segment_url"}
        assert playback["hls_start_segment_url"].endswith("/hls/360p/seg_0000.ts")
    # the same query twice (a retried page) gives the same page, whichever path answers
    again = client.get(f"/v1/feed?limit=4&cursor={cursor}", headers=viewer)
    assert [i["clip"]["id"] for i in again.json()["items"]] == [
        i["clip"]["id"] for i in second.json()["items"]
    ]


def test_errors_have_the_same_problem_shape_on_both_paths(
    client: Any,
    make_user: Any,
    catalogue: Any,  # noqa: F811
) -> None:
    _, viewer = make_user("viewer")
    fast = client.get("/v1/feed?cursor=AAAAAAAA", headers=viewer)
    declared = client.get("/v1/feed?cursor=AAAAAAAA&cursor=AAAAAAAA", headers=viewer)
    for r in (fast, declared):
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["code"] == "invalid_cursor" and body["status"] == 400
        assert body["request_id"] == r.headers["x-request-id"]
    assert {k for k in fast.json() if k != "request_id"} == {k for k in declared.json() if k != "request_id"}

    bad_token = {"Authorization": "Bearer not.a.token"}
    for url in ("/v1/feed", "/v1/feed?limit=05"):
        r = client.get(url, headers=bad_token)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == "invalid_token"

    # query validation stays with the declared route: the standard field errors
    r = client.get("/v1/feed?limit=0", headers=viewer)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["query.limit"]


def test_feed_requests_are_counted_under_their_route(
    client: Any,
    make_user: Any,
    catalogue: Any,  # noqa: F811
) -> None:
    _, viewer = make_user("viewer")
    page(client, viewer, limit=3)
    metrics = client.get("/metrics").text
    assert 'route="/v1/feed",status="200"' in metrics


def test_new_picks_reach_the_next_session_at_once(
    client: Any,
    make_user: Any,
    catalogue: Any,  # noqa: F811
) -> None:
    # onboarding picks are cached per viewer between sessions; changing them must not wait
    _, viewer = make_user("viewer")
    page(client, viewer, limit=10)  # reads (and caches) "no picks"
    r = client.put("/v1/me/interests", json={"slugs": ["pets"]}, headers=viewer)
    assert r.status_code == 200, r.text
    items = page(client, viewer, limit=10)["items"]
    pets = [i for i in items if catalogue["interest_of"][i["clip"]["id"]] == "pets"]
    assert len(pets) >= 4, [catalogue["interest_of"][i["clip"]["id"]] for i in items]
