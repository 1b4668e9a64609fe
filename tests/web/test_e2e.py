"""End to end in headless Chromium against the real server (see conftest): a guest onboards,
swipes, sees a product card at its time, buys and sees the stock drop; a creator uploads a real
video, tags it and sees it playable; a merchant edits stock and imports a CSV with errors. Every
page visited is checked with axe-core."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import shared_data
from tests.web.conftest import LiveServer, assert_accessible

pytestmark = pytest.mark.browser

CURRENT_SLIDE = """() => {
  const slides = [...document.querySelectorAll('.slide')];
  const feed = document.querySelector('.feed');
  const top = feed.getBoundingClientRect().top;
  const el = slides.find(s => Math.abs(s.getBoundingClientRect().top - top) < 4);
  return el ? el.dataset.clip : null;
}"""


def _current_video_playing(page: Any) -> None:
    page.wait_for_function(
        """() => { const feed = document.querySelector('.feed'); const top = feed.getBoundingClientRect().top;
          const s = [...document.querySelectorAll('.slide')].find(s => Math.abs(s.getBoundingClientRect().top - top) < 4);
          const v = s && s.querySelector('video'); return v && v.readyState >= 2 && v.currentTime > 0.05 && !v.paused; }""",
        timeout=15_000,
    )


def _events(server: LiveServer) -> list[tuple[str, str]]:
    with sqlite3.connect(server.root / "e2e.db") as connection:
        return [(str(kind), str(clip)) for kind, clip in connection.execute("SELECT type, clip_id FROM feed_event")]


def test_guest_onboards_swipes_sees_card_at_its_time_and_buys(page: Any, live_server: LiveServer) -> None:
    page.goto("/")
    dialog = page.get_by_role("dialog", name="What do you like?")
    dialog.wait_for()
    assert_accessible(page, "onboarding")
    dialog.get_by_role("button", name="Skincare").click()
    dialog.get_by_role("button", name="Sneakers").click()
    assert dialog.get_by_role("button", name="Skincare").get_attribute("aria-pressed") == "true"
    dialog.get_by_role("button", name="Start watching").click()
    dialog.wait_for(state="detached")

    # first clip autoplays muted
    _current_video_playing(page)
    assert page.evaluate("() => document.querySelector('.slide video').muted") is True
    assert_accessible(page, "feed")
    seen = [page.evaluate(CURRENT_SLIDE)]
    # swipe: arrow key, wheel, arrow key
    for move in ("key", "wheel"):
        if move == "key":
            page.keyboard.press("ArrowDown")
        else:
            page.mouse.move(195, 300)
            page.mouse.wheel(0, 700)
        page.wait_for_function(f"() => ({CURRENT_SLIDE})() && ({CURRENT_SLIDE})() !== {seen[-1]!r}")
        _current_video_playing(page)
        seen.append(page.evaluate(CURRENT_SLIDE))
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"() => ({CURRENT_SLIDE})() === {seen[-2]!r}")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"() => ({CURRENT_SLIDE})() === {seen[-1]!r}")
    assert len(set(seen)) == 3, seen

    # the card of the clip on screen appears only inside its tag's time window (seeded from 1 s)
    clip_id = seen[-1]
    slide = page.locator(f'.slide[data-clip="{clip_id}"]')
    tags = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}/tags").json()["items"]
    tag = next(t for t in tags if t["availability"] != "out_of_stock")
    assert tag["start_ms"] > 0
    card = slide.locator(f'.card[data-tag="{tag["id"]}"]')
    start = tag["start_ms"] / 1000
    page.evaluate(f"() => document.querySelector('.slide[data-clip=\"{clip_id}\"] video').currentTime = 0")
    before = page.evaluate(
        f"""() => new Promise(done => {{ const v = document.querySelector('.slide[data-clip="{clip_id}"] video');
             const c = document.querySelector('.card[data-tag="{tag["id"]}"]');
             const check = () => v.currentTime > 0.05 && v.currentTime < {start} - 0.2 ? done({{t: v.currentTime, hidden: c.hidden}}) : requestAnimationFrame(check);
             check(); }})"""
    )
    assert before["hidden"] is True, before
    card.wait_for(state="visible")
    assert page.evaluate(f"() => document.querySelector('.slide[data-clip=\"{clip_id}\"] video').currentTime") >= start - 0.3
    # price and live stock on the card; the point on the frame shows too
    assert "€" in card.locator(".price").inner_text()
    stock_before = int(card.locator(".stock").get_attribute("data-stock"))
    assert stock_before == tag["available"]
    assert slide.locator(".dot:not([hidden])").count() >= 1

    page.evaluate("() => document.querySelectorAll('.slide video').forEach(v => v.pause())")
    card.get_by_role("button", name=f"Buy {tag['title']}").click()
    page.locator("#toast", has_text="Order paid. Thank you!").wait_for()
    page.wait_for_function(
        f"""() => Number(document.querySelector('.card[data-tag="{tag["id"]}"] .stock').dataset.stock) === {stock_before - 1}"""
    )
    assert httpx.get(f"{live_server.base_url}/v1/skus/{tag['sku_id']}").json()["available"] == stock_before - 1

    # the interactions reached the server as events
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(2500)
    kinds = {kind for kind, clip in _events(live_server) if clip.replace("-", "") in {s.replace("-", "") for s in seen}}
    assert {"impression", "product_tap", "add_to_cart", "purchase"} <= kinds, kinds


def test_creator_uploads_real_video_tags_it_and_sees_it_playable(page: Any, live_server: LiveServer) -> None:
    video = shared_data("video", "mp4", "sample_portrait.mp4")
    page.goto("/app/studio")
    page.get_by_label("Email").fill("creator@demo.clipshop")
    page.get_by_label("Password").fill("clipshop-demo")
    assert_accessible(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Creator studio").wait_for()
    assert_accessible(page, "studio")

    page.get_by_label("Video file").set_input_files(str(video))
    page.get_by_label("Caption").fill("Morning routine with the vitamin C serum")
    page.get_by_role("button", name="Upload").click()
    page.locator("label[for=up-progress]", has_text="Uploaded").wait_for(timeout=60_000)
    assert page.locator("#up-progress").evaluate("p => p.value") == 100
    row = page.locator(".clip-row", has_text="Morning routine with the vitamin C serum")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.clip-row')].some(r => r.textContent.includes('Morning routine') && r.dataset.status === 'ready')""",
        timeout=120_000,
    )
    row.get_by_role("link", name="Tag products").click()
    page.get_by_role("heading", name="Tagging editor: Morning routine with the vitamin C serum").wait_for()

    # playable: the editor's player gets frames
    page.wait_for_function("() => { const v = document.querySelector('.editor-frame video'); return v && v.readyState >= 2 && v.duration > 0; }")
    page.get_by_label("Search the catalogue").fill("serum")
    page.get_by_role("button", name="Choose: Vitamin C serum").click()
    page.get_by_label("From (seconds)").fill("0.2")
    page.get_by_label("To (seconds)").fill("0.9")
    page.locator(".editor-frame").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, -120)")  # clear of the sticky header
    box = page.locator(".editor-frame").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    assert page.get_by_label("x", exact=True).input_value() != ""
    assert_accessible(page, "tagging editor")
    page.get_by_role("button", name="Add tag").click()
    page.locator(".tag-row", has_text="Vitamin C serum").wait_for()

    clip_id = page.url.rstrip("/").split("/")[-1]
    clip = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}").json()
    assert clip["status"] == "ready" and clip["playback"]["hls"]
    assert [(t["start_ms"], t["end_ms"]) for t in clip["tags"]] == [(200, 900)]
    assert clip["tags"][0]["x"] is not None


def test_merchant_edits_stock_and_imports_csv_with_error_report(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page.goto("/app/login?next=/app/merchant")
    page.get_by_label("Email").fill("merchant@demo.clipshop")
    page.get_by_label("Password").fill("clipshop-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Merchant console").wait_for()
    page.locator(".product").first.wait_for()
    assert_accessible(page, "merchant products")

    # stock edit with If-Match: a change made elsewhere meanwhile is refused and shown
    row = page.locator('tr[data-sku="DEMO-SERUM-30"]')
    token = live_server.token("merchant@demo.clipshop")
    sku_id = next(
        s["id"]
        for p in httpx.get(f"{live_server.base_url}/v1/merchant/products", headers={"Authorization": f"Bearer {token}"}).json()["items"]
        for s in p["skus"]
        if s["sku"] == "DEMO-SERUM-30"
    )
    httpx.post(
        f"{live_server.base_url}/v1/merchant/skus/{sku_id}/stock/adjustments",
        headers={"Authorization": f"Bearer {token}"},
        json={"delta": 1, "reason": "found one"},
    ).raise_for_status()
    row.get_by_label("Set stock of DEMO-SERUM-30").fill("33")
    row.get_by_role("button", name="Save").click()
    page.locator("#toast", has_text="The stock changed since you opened it").wait_for()
    row.get_by_label("Set stock of DEMO-SERUM-30").fill("33")
    row.get_by_role("button", name="Save").click()
    page.locator("#toast", has_text="Stock saved").wait_for()
    stock = httpx.get(f"{live_server.base_url}/v1/merchant/skus/{sku_id}/stock", headers={"Authorization": f"Bearer {token}"}).json()
    assert stock["quantity"] == 33

    csv = tmp_path / "catalogue.csv"
    csv.write_text(
        "handle,title,description,brand,category,interests,image_urls,sku,price,currency,compare_at_price,quantity,options\n"
        "e2e-tote,Canvas tote,Sturdy,Demo,Bags,,,E2E-TOTE,19.90,EUR,,10,\n"
        "e2e-bad,Broken price,,,,,,E2E-BAD,not-a-price,EUR,,5,\n"
        "e2e-neg,Negative stock,,,,,,E2E-NEG,9.90,EUR,,-3,\n"
    )
    page.get_by_role("tab", name="Import a catalogue").click()
    page.get_by_label("Catalogue file").set_input_files(str(csv))
    page.get_by_role("button", name="Import").click()
    page.locator(".import-result .notice", has_text="Import finished: 1 products and 1 SKUs written.").wait_for()
    report = page.locator(".import-report")
    report.get_by_role("heading", name="2 rows could not be imported").wait_for()
    rows = report.locator("tbody tr").all_inner_texts()
    assert len(rows) == 2
    assert "2" in rows[0] and "E2E-BAD" in rows[0] and "not a number" in rows[0]
    assert "3" in rows[1] and "quantity" in rows[1] and "negative" in rows[1]
    assert page.locator("#imp-progress").evaluate("p => p.value === p.max")
    assert_accessible(page, "merchant import report")

    page.get_by_role("tab", name="Orders").click()
    page.get_by_role("heading", name="Orders").wait_for()
    assert_accessible(page, "merchant orders")


def test_admin_users_and_french(page: Any, live_server: LiveServer) -> None:
    page.goto("/app/admin")
    page.get_by_label("Email").fill("admin@demo.clipshop")
    page.get_by_label("Password").fill("clipshop-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Users").wait_for()
    page.get_by_role("rowheader", name="merchant@demo.clipshop").wait_for()
    assert_accessible(page, "admin users")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("heading", name="Utilisateurs").wait_for()
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    assert_accessible(page, "admin users (French)")


@pytest.mark.parametrize("page", [{"width": 1366, "height": 800}], indirect=True)
def test_desktop_feed_plays_through_hlsjs_and_unmutes(page: Any, live_server: LiveServer) -> None:
    page.goto("/?player=hlsjs")  # Chromium has native HLS: force the hls.js path
    page.get_by_role("dialog").get_by_role("button", name="Skip").click()
    _current_video_playing(page)
    assert page.evaluate("() => document.querySelector('.slide').dataset.player") == "hls.js"
    page.get_by_role("button", name="Tap to unmute").first.click()
    assert page.evaluate("() => document.querySelector('.slide video').muted") is False
    assert_accessible(page, "desktop feed")
