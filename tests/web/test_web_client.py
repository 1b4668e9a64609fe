"""The built web client itself: the feed's first load stays within its budget (feature screens
are separate chunks loaded on demand), the shell's inline script is valid JavaScript, and every
English string has its French translation."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.conftest import WEB

FEED_BUDGET_BYTES = 200 * 1024  # compressed, everything the feed needs before its first clip plays


def test_feed_first_load_stays_within_budget_and_screens_load_on_demand(web_dist: Path) -> None:
    html = (web_dist / "index.html").read_text()
    preloaded = re.findall(r'<link rel="modulepreload" href="/app/assets/([^"]+)">', html)
    styles = re.findall(r'<link rel="stylesheet" href="/app/assets/([^"]+)">', html)
    assert preloaded and styles
    assets = web_dist / "assets"
    # hls.js is fetched by the feed where the browser has no native HLS: counted too
    hls = [p.name for p in assets.glob("hls*.js")]
    first_load = set(preloaded) | set(styles) | set(hls)
    total = sum((assets / f"{name}.gz").stat().st_size for name in first_load)
    assert total <= FEED_BUDGET_BYTES, f"the feed's first load is {total / 1024:.0f} KiB compressed"
    # the other screens are not part of it
    for screen in ("social", "search", "profile", "inbox", "studio", "merchant", "admin", "moderation", "analytics"):
        assert not any(name.startswith(f"{screen}-") for name in preloaded), screen
        assert any(p.name.startswith(f"{screen}-") for p in assets.glob("*.js")), f"no {screen} chunk"


def test_shell_inline_script_is_valid_javascript(web_dist: Path, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.fail("Node.js is needed for the web client")
    html = (web_dist / "index.html").read_text()
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert inline, "the shell's feed prefetch script is missing"
    script = tmp_path / "inline.js"
    script.write_text(inline[0])
    subprocess.run(["node", "--check", str(script)], check=True, capture_output=True, timeout=60)
    # it runs before the stylesheet (a script after one waits for it to load) and preloads the
    # hls.js chunk that exists, for browsers without native HLS
    assert html.index("<script>") < html.index('<link rel="stylesheet"')
    (hls,) = re.findall(r'"/app/assets/(hls[^"]+\.js)"', inline[0])
    assert (web_dist / "assets" / hls).is_file()
    assert "hls_start_segment_url" in inline[0]


def _dictionary(source: str, start: str, end: str) -> dict[str, str]:
    body = source[source.index(start) : source.index(end)]
    return {k: v for k, v in re.findall(r'^\s+"([^"]+)":\s*"((?:[^"\\]|\\.)*)",?$', body, flags=re.M)}


def test_every_string_is_translated_into_french_with_the_same_placeholders() -> None:
    source = (WEB / "src" / "core" / "i18n.ts").read_text()
    english = _dictionary(source, "const en = {", "export type Key")
    french = _dictionary(source, "const fr:", "export type Lang")
    assert len(english) > 300
    missing = sorted(set(english) - set(french) - {"app.name"})
    assert missing == [], f"no French for: {missing}"
    assert sorted(set(french) - set(english)) == []
    for key, text in french.items():
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", english[key])), key


def test_the_client_knows_every_notification_kind_the_api_sends() -> None:
    from app.notifications.models import NotificationKind

    source = (WEB / "src" / "core" / "types.ts").read_text()
    union = source[source.index("export type NotificationKind =") : source.index("export interface Notification ")]
    assert set(re.findall(r'"(\w+)"', union)) == {k.value for k in NotificationKind}
