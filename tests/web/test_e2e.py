"""End to end in headless Chromium against the real server (see conftest): a guest onboards,
swipes, sees a product card at its time, buys and sees the stock drop; a creator uploads a real
video, tags it (scrubbing its storyboard) and sees it playable; a merchant edits stock and imports
a CSV with errors; a viewer votes in a poll and comments in the feed; search suggestions lead to a
creator's profile; a merchant reads analytics (one SKU's too) and opens a collaboration; a creator
reads the inbox and the programme status; an admin edits a threshold, blocks a word and reads the
analytics; a creator adds a webhook and reads its delivery log, edits an idea list and reads the
share statistics; a moderator hides a reported clip and it leaves the feed; a returning viewer's
first clip has its master, first playlist and first segment fetched together (native HLS and
hls.js). Every page visited is checked with axe-core."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
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
    # the storyboard (WebVTT sprite) is a strip of frames to jump from
    clip_id = page.url.rstrip("/").split("/")[-1]
    board = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}").json()["playback"]["storyboard"]
    assert board and board["count"] >= 1, board
    page.get_by_role("list", name="Storyboard: jump to a moment").wait_for()
    tiles = page.get_by_role("button", name=re.compile(r"^Jump to "))
    assert tiles.count() == board["count"]
    last = (board["count"] - 1) * board["interval_s"]
    page.evaluate(f"() => document.querySelector('.editor-frame video').currentTime = {last} + 0.4")
    tiles.last.click()
    page.wait_for_function(f"() => Math.abs(document.querySelector('.editor-frame video').currentTime - {last}) < 0.05")
    assert page.locator("#tag-scrub").input_value() == str(last * 1000)
    # moving over the playhead slider previews the frame there
    page.locator("#tag-scrub").hover()
    page.locator(".storyboard-preview").wait_for()
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


@pytest.mark.parametrize("path", ["/", "/?player=hlsjs"])
def test_returning_viewer_gets_the_first_clips_start_in_one_round_trip(
    page: Any, live_server: LiveServer, path: str
) -> None:
    page.goto(path)
    page.get_by_role("dialog").get_by_role("button", name="Skip").click()
    _current_video_playing(page)
    # the next visit, with a cold HTTP cache: the shell's script fetches the first clip's master,
    # lowest rung's playlist and first segment together, not one after the other
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    sent: dict[str, list[float]] = {}
    answered: dict[str, list[float]] = {}
    cdp.on("Network.requestWillBeSent", lambda e: sent.setdefault(e["request"]["url"], []).append(e["timestamp"]))
    cdp.on("Network.responseReceived", lambda e: answered.setdefault(e["response"]["url"], []).append(e["timestamp"]))
    page.goto(path)
    page.locator(".slide").first.wait_for()
    _current_video_playing(page)
    clip = page.evaluate("() => document.querySelector('.slide').dataset.clip")
    start = [
        f"{live_server.base_url}/v1/media/clips/{clip}/hls/{name}"
        for name in ("master.m3u8", "360p/index.m3u8", "360p/seg_0000.ts")
    ]
    assert all(url in sent and url in answered for url in start), sorted(sent)
    assert max(min(sent[url]) for url in start) < min(min(answered[url]) for url in start)
    assert page.evaluate("() => document.querySelector('.slide').dataset.player") == (
        "hls.js" if "hlsjs" in path else "native-hls"
    )
    cdp.detach()


def _sign_in(page: Any, email: str, path: str) -> None:
    page.goto(f"/app/login?next={path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("clipshop-demo")
    page.get_by_role("button", name="Sign in").click()


def _auth(server: LiveServer, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(email)}"}


def _clips_of(server: LiveServer, email: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.base_url}/v1/me/clips", headers=_auth(server, email))
    answer.raise_for_status()
    return [c for c in answer.json()["items"] if c["status"] == "ready"]


def test_viewer_votes_in_a_poll_and_comments_in_the_feed(page: Any, live_server: LiveServer) -> None:
    # every demo clip carries a poll its creator asked (through the API)
    for email in ("creator@demo.clipshop", "lea.style@demo.clipshop", "sam.brews@demo.clipshop"):
        headers = _auth(live_server, email)
        for clip in _clips_of(live_server, email):
            httpx.post(
                f"{live_server.base_url}/v1/clips/{clip['id']}/polls",
                headers=headers,
                json={"question": "Which colour next?", "options": [{"label": "Blue"}, {"label": "Green"}]},
            ).raise_for_status()

    _sign_in(page, "viewer@demo.clipshop", "/")
    page.get_by_role("dialog", name="What do you like?").get_by_role("button", name="Skip").click()
    slide = page.locator(".slide").first
    poll = slide.locator(".poll", has_text="Which colour next?")  # (the demo data asks one too)
    poll.get_by_text("Which colour next?").wait_for()
    assert poll.get_by_text("Vote to see the results.").is_visible()
    poll.get_by_role("button", name="Blue").click()
    poll.get_by_text("1 votes in all").wait_for()
    chosen = poll.locator(".poll-option.chosen")
    assert chosen.get_attribute("aria-pressed") == "true" and "100%" in chosen.inner_text()
    assert_accessible(page, "feed with a poll voted")

    # comments in a sheet: post with a mention, reply, edit
    clip_id = slide.get_attribute("data-clip")
    slide.get_by_role("button", name="Comments").click()
    sheet = page.get_by_role("dialog", name="Comments")
    sheet.locator("li.comment").first.wait_for()  # the demo data's conversation
    sheet.get_by_label("Add a comment").fill("Which shade is this, @lea.style?")
    sheet.get_by_role("button", name="Post").click()
    sheet.locator("li.comment", has_text="Which shade is this").wait_for()
    comment_id = sheet.locator("li.comment", has_text="Which shade is this").get_attribute("data-comment")
    comment = sheet.locator(f'li.comment[data-comment="{comment_id}"]')
    mention = comment.get_by_role("link", name="@lea.style")
    assert mention.get_attribute("href") == "/app/creators/lea.style"
    comment.get_by_role("button", name="Reply").click()
    reply_form = comment.locator(".reply-form")
    reply_form.get_by_label("Reply to Demo Viewer").fill("And does it come in blue?")
    reply_form.get_by_role("button", name="Reply").click()
    comment.locator(".replies li.comment", has_text="And does it come in blue?").wait_for()
    assert comment.get_by_role("button", name="Replies (1)").is_visible()
    comment.get_by_role("button", name="Edit").first.click()
    comment.get_by_label("Edit your comment").fill("Which shade is this one, @lea.style?")
    comment.get_by_role("button", name="Save").click()
    comment.locator(".comment-body", has_text="Which shade is this one").first.wait_for()
    assert comment.locator(".comment-head").first.get_by_text("edited").is_visible()
    assert_accessible(page, "comments sheet")
    page.keyboard.press("Escape")
    sheet.wait_for(state="detached")

    comments = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}/comments").json()
    assert comments["items"][0]["body"] == "Which shade is this one, @lea.style?"  # newest first
    assert comments["items"][0]["reply_count"] == 1
    polls = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}/polls", headers=_auth(live_server, "viewer@demo.clipshop")).json()
    asked = next(p for p in polls if p["question"] == "Which colour next?")
    assert asked["my_vote"] == next(o["id"] for o in asked["options"] if o["label"] == "Blue")


def test_search_suggestions_lead_to_a_creator_profile_to_follow(page: Any, live_server: LiveServer) -> None:
    before = httpx.get(f"{live_server.base_url}/v1/creators/demo.creator").json()["follower_count"]
    # the search index follows the database within seconds (the demo data was written by another process)
    deadline = time.monotonic() + 30
    while not any(
        s["text"] == "Demo Creator"
        for s in httpx.get(f"{live_server.base_url}/v1/search/suggest", params={"q": "demo cre"}).json()["items"]
    ):
        assert time.monotonic() < deadline, "the search index never listed the demo creator"
        time.sleep(0.5)
    page.goto("/app/search")
    box = page.get_by_role("combobox", name="Search clips, products, creators and hashtags")
    box.press_sequentially("demo cre", delay=40)
    option = page.get_by_role("option", name=re.compile("Demo Creator"))
    option.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert_accessible(page, "search suggestions")
    # keyboard: down to the creator's suggestion, Enter
    target = option.get_attribute("id")
    for _ in range(10):
        box.press("ArrowDown")
        if box.get_attribute("aria-activedescendant") == target:
            break
    assert option.get_attribute("aria-selected") == "true"
    box.press("Enter")
    page.get_by_role("heading", level=1, name="Demo Creator").wait_for()
    assert page.url.endswith("/app/creators/demo.creator")
    shop = page.get_by_role("region", name="Storefront")
    shop.get_by_text("Vitamin C serum").wait_for()
    assert page.locator(".tiles .tile").count() >= 3
    assert_accessible(page, "creator profile")
    follow = page.get_by_role("button", name="Follow", exact=True)
    follow.click()
    page.get_by_role("button", name="Following").wait_for()
    page.get_by_text(f"{before + 1} followers").wait_for()
    assert httpx.get(f"{live_server.base_url}/v1/creators/demo.creator").json()["follower_count"] == before + 1
    # back on the profile later, the button starts as "Following" (the API says so)
    page.reload()
    page.get_by_role("heading", level=1, name="Demo Creator").wait_for()
    assert page.get_by_role("button", name="Following").get_attribute("aria-pressed") == "true"

    # a full search: products
    page.goto("/app/search?q=serum&type=products")
    page.locator(".hit", has_text="Vitamin C serum").wait_for()
    assert page.get_by_role("button", name="Products").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("page", [{"width": 1280, "height": 900}], indirect=True)
def test_merchant_reads_analytics_and_opens_a_collaboration(page: Any, live_server: LiveServer) -> None:
    _sign_in(page, "merchant@demo.clipshop", "/app/merchant/analytics")
    page.get_by_role("heading", name="Analytics", level=2).wait_for()
    page.locator(".stat", has_text="Revenue").wait_for()
    for figure in ("Orders", "Conversion", "ROI", "Commission"):
        assert page.locator(".stat dt", has_text=figure).count() >= 1, figure
    assert page.locator("figure.chart svg[role=img]").count() == 2
    page.get_by_role("table", name="Per SKU").get_by_role("rowheader", name=re.compile("DEMO-SERUM-30")).wait_for()
    assert_accessible(page, "merchant analytics")
    with page.expect_download() as download:
        page.get_by_role("button", name="Per day (CSV)").click()
    saved = download.value
    assert saved.suggested_filename.endswith(".csv")
    assert Path(saved.path()).read_text().splitlines()[0].startswith("day")

    page.get_by_role("tab", name="Collaborations").click()
    page.get_by_role("heading", name="Commission rates").wait_for()
    page.get_by_label("Default rate (%)").fill("8")
    page.get_by_role("button", name="Save the rates").click()
    page.locator("#toast", has_text="Rates saved").wait_for()
    page.get_by_label("Invited creators only").check()
    page.get_by_label("Creators to invite").fill("lea.style")
    page.get_by_label("Rate (%)", exact=True).fill("15")
    page.get_by_label("Brief").fill("Rainy day looks")
    page.get_by_role("button", name="Create the collaboration").click()
    created = page.locator("li.collab", has_text="Rainy day looks")
    created.get_by_text("@lea.style: invited").wait_for()
    assert "15%" in created.inner_text()
    assert_accessible(page, "merchant collaborations")
    headers = _auth(live_server, "merchant@demo.clipshop")
    rates = httpx.get(f"{live_server.base_url}/v1/merchant/commission-rates", headers=headers).json()
    assert rates["default_rate_bps"] == 800
    collabs = httpx.get(f"{live_server.base_url}/v1/merchant/collaborations", headers=headers).json()["items"]
    mine = next(c for c in collabs if c["brief"] == "Rainy day looks")
    assert mine["kind"] == "targeted" and mine["rate_bps"] == 1500
    assert [i["handle"] for i in mine["invitations"]] == ["lea.style"]

    page.get_by_role("tab", name="Creators").click()
    page.get_by_role("heading", name="Shortlist").wait_for()
    assert_accessible(page, "creator discovery")

    # one SKU's own figures, from the per-SKU table
    page.get_by_role("tab", name="Analytics").click()
    page.get_by_role("button", name=re.compile("^Figures of .*DEMO-SERUM-30")).click()
    report = page.locator(".entity-report")
    report.locator(".stat", has_text="Product taps").wait_for()
    assert report.locator("figure.chart svg[role=img]").count() == 2
    assert_accessible(page, "one SKU's analytics")
    page.get_by_role("tab", name="Webhooks").click()
    page.get_by_role("heading", name="Add an endpoint").wait_for()
    assert_accessible(page, "merchant webhooks")


def test_creator_reads_notifications_and_programme_status(page: Any, live_server: LiveServer) -> None:
    # a merchant invites the creator: an invitation lands in the inbox
    httpx.post(
        f"{live_server.base_url}/v1/merchant/collaborations",
        headers=_auth(live_server, "merchant@demo.clipshop"),
        json={"kind": "targeted", "rate_bps": 1200, "brief": "Autumn skincare", "creator_handles": ["demo.creator"]},
    ).raise_for_status()
    headers = _auth(live_server, "creator@demo.clipshop")
    unread = httpx.get(f"{live_server.base_url}/v1/me/notifications?unread=true", headers=headers).json()["unread_count"]
    assert unread >= 2

    _sign_in(page, "creator@demo.clipshop", "/app/studio")
    inbox = page.get_by_role("link", name=f"Inbox, {unread} unread")
    inbox.wait_for()
    assert page.locator("#unread-badge").inner_text() == str(unread)
    inbox.click()
    page.get_by_role("heading", name="Notifications").wait_for()
    invitation = page.locator("li.note", has_text="Collaboration invitation").first
    invitation.wait_for()
    assert_accessible(page, "inbox")
    invitation.get_by_role("button", name="Mark as read").click()
    page.get_by_role("link", name=f"Inbox, {unread - 1} unread").wait_for()
    page.locator("li.note.read", has_text="Collaboration invitation").get_by_role("button", name="Mark as unread").wait_for()
    page.get_by_role("button", name="Unread", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('li.note.read').length === 0")
    page.get_by_role("button", name="Mark all as read").click()
    page.get_by_role("link", name="Inbox", exact=True).wait_for()
    assert page.locator("#unread-badge").is_hidden()
    assert httpx.get(f"{live_server.base_url}/v1/me/notifications?unread=true", headers=headers).json()["unread_count"] == 0

    # the invitation's link leads to the collaborations: accept it
    page.get_by_role("button", name="All", exact=True).click()
    page.locator("li.note", has_text="Collaboration invitation").first.get_by_role("link").click()
    offer = page.locator("li.collab", has_text="Autumn skincare")
    offer.get_by_role("button", name="Accept").click()
    page.locator("li.collab", has_text="Autumn skincare").get_by_text("accepted").wait_for()
    assert_accessible(page, "studio collaborations")

    # the programme: apply, read the status and each criterion in plain words
    page.get_by_role("tab", name="Programme").click()
    page.get_by_role("heading", name="Programme status").wait_for()
    page.get_by_role("button", name=re.compile("^(Apply|Ask to be evaluated again)$")).click()
    status = page.locator(".programme-status")
    page.wait_for_function("() => document.querySelector('.programme-status').dataset.status !== 'none'")
    admission = httpx.get(f"{live_server.base_url}/v1/me/creator-programme/application", headers=headers).json()
    labels = {"admitted": "Admitted", "waitlisted": "On the waiting list", "rejected": "Not admitted yet", "suspended": "Suspended"}
    assert status.inner_text() == labels[admission["status"]]
    page.locator('li[data-criterion="followers"]', has_text="followers on ClipShop; this category asks for").wait_for()
    assert page.locator(".criteria li").count() == len(admission["evaluation"])
    assert_accessible(page, "programme status")
    page.get_by_label("Language").select_option("fr")
    page.locator('li[data-criterion="followers"]', has_text="abonnés sur ClipShop ; cette catégorie en demande").wait_for()
    assert_accessible(page, "programme status (French)")
    page.get_by_label("Langue").select_option("en")

    # on their own clip the creator pins one comment and hides another
    clip_id = _clips_of(live_server, "creator@demo.clipshop")[0]["id"]
    viewer = _auth(live_server, "viewer@demo.clipshop")
    for body in ("Where is the serum from?", "Buy followers at spam.example"):
        httpx.post(f"{live_server.base_url}/v1/clips/{clip_id}/comments", headers=viewer, json={"body": body}).raise_for_status()
    page.goto(f"/app/clips/{clip_id}")
    question = page.locator("li.comment", has_text="Where is the serum from?")
    question.get_by_role("button", name="Pin").click()
    page.locator("li.comment.pinned", has_text="Where is the serum from?").get_by_text("Pinned").wait_for()
    page.locator("li.comment", has_text="Buy followers").get_by_role("button", name="Hide").click()
    page.locator("li.comment.hidden", has_text="Buy followers").get_by_text("Hidden from others").wait_for()
    assert_accessible(page, "clip page with comments, as its creator")
    public = httpx.get(f"{live_server.base_url}/v1/clips/{clip_id}/comments").json()["items"]
    assert public[0]["body"] == "Where is the serum from?" and public[0]["pinned"]
    assert all(c["body"] != "Buy followers at spam.example" for c in public)


def test_admin_edits_a_threshold_blocks_a_word_and_reads_analytics(page: Any, live_server: LiveServer) -> None:
    admin = _auth(live_server, "admin@demo.clipshop")
    thresholds = f"{live_server.base_url}/v1/admin/creator-programme/thresholds"
    before = next(r for r in httpx.get(thresholds, headers=admin).json()["items"] if r["category"] == "default")
    _sign_in(page, "admin@demo.clipshop", "/app/admin/programme")
    followers = page.get_by_label("Default: Followers")
    followers.wait_for()
    assert followers.input_value() == str(int(before["thresholds"]["followers"]))
    assert page.get_by_label("Default: Engagement").input_value() == f"{before['thresholds']['engagement_rate'] * 100:g}"
    assert_accessible(page, "admissions and thresholds")
    followers.fill("150")
    page.get_by_role("button", name="Save the thresholds of Default").click()
    page.locator("#toast", has_text="Thresholds of Default saved").wait_for()
    try:
        after = next(r for r in httpx.get(thresholds, headers=admin).json()["items"] if r["category"] == "default")
        assert after["thresholds"] == {**before["thresholds"], "followers": 150}
    finally:
        httpx.put(f"{thresholds}/default", headers=admin, json={"thresholds": before["thresholds"]}).raise_for_status()

    # a blocked word: listed, refused in comments, unblocked
    page.get_by_role("tab", name="Moderation").click()
    page.get_by_role("heading", name="Blocked words").wait_for()
    page.get_by_label("Word to block").fill("knockoffz")
    page.get_by_role("button", name="Block it").click()
    page.locator("li.word", has_text="knockoffz").wait_for()
    assert_accessible(page, "moderation with blocked words")
    clip_id = _clips_of(live_server, "creator@demo.clipshop")[0]["id"]
    refused = httpx.post(
        f"{live_server.base_url}/v1/clips/{clip_id}/comments",
        headers=_auth(live_server, "viewer@demo.clipshop"),
        json={"body": "cheap knockoffz here"},
    )
    assert refused.status_code == 422, refused.text
    page.get_by_role("button", name="Unblock “knockoffz”").click()
    page.locator("li.word", has_text="knockoffz").wait_for(state="detached")
    words = httpx.get(f"{live_server.base_url}/v1/admin/moderation/blocked-words", headers=admin).json()
    assert all(w["word"] != "knockoffz" for w in words)

    # the service's figures and the flagged accounts
    page.get_by_role("tab", name="Analytics").click()
    page.get_by_role("heading", name="Flagged accounts").wait_for()
    page.locator(".stat", has_text="Views").wait_for()
    assert page.locator("figure.chart svg[role=img]").count() == 2
    assert_accessible(page, "admin analytics")


def test_creator_adds_a_webhook_edits_an_idea_list_and_reads_shares(page: Any, live_server: LiveServer) -> None:
    headers = _auth(live_server, "creator@demo.clipshop")
    # the endpoint answers 405 (a GET-only route): the delivery log shows the failed attempt
    target = f"{live_server.base_url}/healthz"
    _sign_in(page, "creator@demo.clipshop", "/app/studio/webhooks")
    page.get_by_label("Endpoint URL").fill(target)
    page.get_by_label("Description (optional)").fill("My shop sync")
    page.get_by_label("clip.ready").check()
    page.get_by_role("button", name="Add the endpoint").click()
    endpoint = page.locator("article.webhook", has_text=target)
    endpoint.get_by_text("My shop sync").wait_for()
    endpoint.get_by_role("button", name="Send a test event").click()
    log = endpoint.get_by_role("table", name=f"Deliveries to {target}")
    log.get_by_text("webhook.test").wait_for()
    deadline = time.monotonic() + 20
    while not log.get_by_text("HTTP 405").count():
        assert time.monotonic() < deadline, "the test delivery was never attempted"
        page.wait_for_timeout(500)
        endpoint.get_by_role("button", name="Refresh").click()
    assert_accessible(page, "creator webhooks with the delivery log")
    log.get_by_role("button", name="Details").first.click()
    details = page.get_by_role("dialog", name="Delivery: webhook.test")
    details.get_by_role("table", name="Attempts").get_by_text("HTTP 405").first.wait_for()
    assert_accessible(page, "delivery details")
    details.get_by_role("button", name="Close").click()
    log.get_by_role("button", name="Send again").first.click()
    page.locator("#toast", has_text="Delivery queued again").wait_for()
    hooks = httpx.get(f"{live_server.base_url}/v1/me/webhooks", headers=headers).json()
    mine = next(h for h in hooks if h["url"] == target)
    assert mine["event_types"] == ["clip.ready"] and mine["description"] == "My shop sync"

    # the endpoint edited: another address and one more event
    moved = f"{live_server.base_url}/readyz"
    endpoint.get_by_text("Edit the address and events").click()
    endpoint.get_by_label("Endpoint URL").fill(moved)
    endpoint.get_by_label("clip.failed").check()
    endpoint.get_by_role("button", name="Save the endpoint").click()
    page.locator("article.webhook", has_text=moved).wait_for()
    hooks = httpx.get(f"{live_server.base_url}/v1/me/webhooks", headers=headers).json()
    mine = next(h for h in hooks if h["id"] == mine["id"])
    assert mine["url"] == moved and sorted(mine["event_types"]) == ["clip.failed", "clip.ready"]

    # an idea list from the storefront's products, then renamed
    page.get_by_role("tab", name="Storefront").click()
    page.get_by_role("heading", name="Idea lists").wait_for()
    page.locator('.shop-item[data-product]').first.wait_for()
    page.get_by_role("button", name="New idea list").click()
    page.get_by_label("Name").fill("Rainy day picks")
    page.get_by_role("button", name="+ Vitamin C serum").click()
    page.get_by_role("button", name="Save").click()
    page.locator("article.idea-list", has_text="Rainy day picks").get_by_text("Vitamin C serum").wait_for()
    assert_accessible(page, "storefront and idea lists")
    page.locator("article.idea-list", has_text="Rainy day picks").get_by_role("button", name="Edit").click()
    page.get_by_label("Name").fill("Rainy day favourites")
    page.get_by_role("button", name="Save").click()
    page.locator("article.idea-list h3", has_text="Rainy day favourites").wait_for()
    lists = httpx.get(f"{live_server.base_url}/v1/me/idea-lists", headers=headers).json()["items"]
    renamed = next(i for i in lists if i["name"] == "Rainy day favourites")
    assert [p["title"] for p in renamed["items"]] == ["Vitamin C serum"]

    # share statistics
    clip_id = _clips_of(live_server, "creator@demo.clipshop")[0]["id"]
    share = httpx.post(f"{live_server.base_url}/v1/clips/{clip_id}/shares", headers=headers, json={"channel": "web"}).json()
    page.get_by_role("tab", name="Shares").click()
    page.get_by_role("rowheader", name=f"/s/{share['code']}").wait_for()
    page.locator(".stat", has_text="Share links").wait_for()
    assert_accessible(page, "share statistics")


def test_moderator_hides_a_reported_clip_and_it_leaves_the_feed(page: Any, live_server: LiveServer, browser: Any) -> None:
    clip = _clips_of(live_server, "sam.brews@demo.clipshop")[0]
    guest = httpx.post(f"{live_server.base_url}/v1/auth/guest").json()["access_token"]

    def feed_clips(token: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page_ = httpx.get(
                f"{live_server.base_url}/v1/feed", params={"limit": 10, **({"cursor": cursor} if cursor else {})},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            seen += [item["clip"]["id"] for item in page_["items"]]
            cursor = page_["next_cursor"]
            if not cursor or not page_["items"]:
                return seen

    assert clip["id"] in feed_clips(guest)

    # a viewer reports the clip from its page
    _sign_in(page, "viewer@demo.clipshop", f"/app/clips/{clip['id']}?by=sam.brews")
    page.get_by_role("heading", level=1, name=clip["caption"]).wait_for()
    page.get_by_role("button", name="More").click()
    page.get_by_role("dialog", name="More").get_by_role("button", name="Report this clip").click()
    report = page.get_by_role("dialog", name="Report this clip")
    report.get_by_label("Counterfeit product").check()
    report.get_by_label("Anything else (optional)").fill("These beans are not what the label says")
    assert_accessible(page, "report dialog")
    report.get_by_role("button", name="Send report").click()
    page.locator("#toast", has_text="Thanks. A moderator will look at it.").wait_for()
    page.get_by_role("button", name="Sign out").click()

    # the moderator hides it, with a reason kept in the decision log
    _sign_in(page, "admin@demo.clipshop", "/app/admin/moderation")
    item = page.locator(f'li.report[data-target="{clip["id"]}"]')
    item.get_by_text("Counterfeit product").wait_for()
    item.get_by_text(clip["caption"]).wait_for()
    assert_accessible(page, "moderation queue")
    item.get_by_label("Decision").select_option("hide")
    item.get_by_label("Reason (kept in the log)").fill("Counterfeit goods, confirmed with the brand")
    item.get_by_role("button", name="Apply").click()
    page.locator("#toast", has_text="Decision recorded").wait_for()
    logged = page.locator(f'li.decision[data-target="{clip["id"]}"]')
    logged.get_by_text("Counterfeit goods, confirmed with the brand").wait_for()
    assert logged.get_by_text("Hide").is_visible()
    page.get_by_role("button", name="Actioned").click()
    page.locator(f'li.report[data-target="{clip["id"]}"]').get_by_text("Actioned").wait_for()

    # gone from the feed: the API's and a new visitor's swipe feed in the browser
    assert clip["id"] not in feed_clips(guest)
    visitor = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.base_url, locale="en-GB")
    try:
        tab = visitor.new_page()
        tab.goto("/")
        tab.get_by_role("dialog").get_by_role("button", name="Skip").click()
        tab.locator(".slide").first.wait_for()
        for _ in range(8):
            if tab.locator(".feed-end").count():
                break
            tab.keyboard.press("ArrowDown")
            tab.wait_for_timeout(600)
        tab.locator(".feed-end").wait_for(state="attached")
        shown = tab.evaluate("() => [...document.querySelectorAll('.slide')].map(s => s.dataset.clip)")
        assert shown and clip["id"] not in shown, shown
    finally:
        visitor.close()
        # leave the demo data as it was for whoever runs after
        httpx.post(
            f"{live_server.base_url}/v1/admin/moderation/actions",
            headers=_auth(live_server, "admin@demo.clipshop"),
            json={"action": "restore", "reason": "end of the test", "target_type": "clip", "target_id": clip["id"]},
        ).raise_for_status()


def test_merchant_refunds_some_units_of_an_order(page: Any, live_server: LiveServer) -> None:
    # a viewer buys two serums (checkout and the demo payment, through the API)
    products = httpx.get(f"{live_server.base_url}/v1/merchant/products", headers=_auth(live_server, "merchant@demo.clipshop")).json()
    sku = next(s for p in products["items"] for s in p["skus"] if s["sku"] == "DEMO-SERUM-30")
    buyer = _auth(live_server, "viewer@demo.clipshop")
    order = httpx.post(
        f"{live_server.base_url}/v1/checkout",
        headers={**buyer, "Idempotency-Key": uuid.uuid4().hex},
        json={"lines": [{"sku_id": sku["id"], "quantity": 2}]},
    )
    order.raise_for_status()
    order_id = order.json()["id"]
    httpx.post(f"{live_server.base_url}/v1/demo/orders/{order_id}/pay", headers=buyer).raise_for_status()

    _sign_in(page, "merchant@demo.clipshop", "/app/merchant/orders")
    row = page.locator(f'tr[data-order="{order_id}"]')
    row.get_by_role("button", name="Refund some units").click()
    row.get_by_label(re.compile("Units of .* to refund \\(of 2\\)")).fill("1")
    row.get_by_label("Reason (optional)").fill("One arrived damaged")
    assert_accessible(page, "merchant partial refund")
    row.get_by_role("button", name="Refund these units").click()
    page.get_by_text("Order refunded").first.wait_for()
    row.get_by_text("partially_refunded").wait_for()
    row.get_by_text(re.compile("Refunded so far")).wait_for()

    refunds = httpx.get(
        f"{live_server.base_url}/v1/merchant/orders/{order_id}/refunds", headers=_auth(live_server, "merchant@demo.clipshop")
    ).json()
    assert len(refunds) == 1 and refunds[0]["reason"] == "One arrived damaged"
    assert [(line["quantity"], line["restocked_quantity"]) for line in refunds[0]["lines"]] == [(1, 1)]
