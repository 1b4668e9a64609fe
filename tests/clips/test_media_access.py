"""Who may fetch what under /v1/media: originals and import files never, public ready clips'
renditions anyone, every other clip only through the signed URLs the API issues; playlists carry
the signature to every file they list; HEAD, ETag and If-Modified-Since behave as caches expect."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

MASTER = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=360x640\n360p/index.m3u8\n"
VARIANT = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nseg_000.m4s\n#EXTINF:1.0,\nseg_001.m4s\n#EXT-X-ENDLIST\n'
)
STORYBOARD = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite.jpg#xywh=0,0,160,90\n"
FILES = {
    "source": b"ORIGINAL-UPLOAD-BYTES",
    "hls/master.m3u8": MASTER.encode(),
    "hls/360p/index.m3u8": VARIANT.encode(),
    "hls/360p/init.mp4": b"INIT",
    "hls/360p/seg_000.m4s": b"SEGMENT0",
    "hls/360p/seg_001.m4s": b"SEGMENT1",
    "video.mp4": b"MP4-BYTES",
    "poster.jpg": b"\xff\xd8POSTER",
    "storyboard/storyboard.vtt": STORYBOARD.encode(),
    "storyboard/sprite.jpg": b"\xff\xd8SPRITE",
}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def published(settings: Any, make_user: Any) -> Any:
    """A factory of clips with published files on the local backend (no transcode needed)."""
    from app.clips.models import Clip, ClipStatus, Visibility
    from app.db import session_scope

    def factory(creator: dict[str, Any], visibility: str = "public", status: str = "ready") -> uuid.UUID:
        clip_id = uuid.uuid4()
        prefix = f"clips/{clip_id}/"
        for name, data in FILES.items():
            path = settings.media_root / prefix / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        with session_scope() as session:
            session.add(
                Clip(
                    id=clip_id,
                    creator_id=uuid.UUID(creator["id"]),
                    status=ClipStatus(status),
                    visibility=Visibility(visibility),
                    caption="media",
                    duration_ms=3000,
                    storage_prefix=prefix,
                    source_key=prefix + "source",
                    hls_master_key=prefix + "hls/master.m3u8",
                    mp4_key=prefix + "video.mp4",
                    poster_key=prefix + "poster.jpg",
                    thumbnail_keys={"jpeg": {"180": prefix + "storyboard/sprite.jpg"}},
                    renditions=[],
                )
            )
        return clip_id

    return factory


def _set(clip_id: uuid.UUID, **fields: Any) -> None:
    from app.clips.models import Clip
    from app.db import session_scope

    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        for name, value in fields.items():
            setattr(clip, name, value)


def test_originals_and_import_files_are_never_served_whatever_the_spelling(
    client: Any, make_user: Any, published: Any, settings: Any
) -> None:
    creator, _ = make_user("creator")
    clip_id = published(creator)
    org = uuid.uuid4()
    imp = settings.media_root / "imports" / str(org) / str(uuid.uuid4())
    imp.mkdir(parents=True)
    (imp / "source").write_bytes(b"sku,price\nSECRET,1\n")
    import_key = imp.relative_to(settings.media_root).as_posix()
    c = str(clip_id)
    spellings = [
        f"clips/{c}/source",
        f"clips/{c}/source/",
        f"clips/{c}//source",
        f"clips//{c}/source",
        f"/clips/{c}/source",
        f"clips/{c}/./source",
        f"clips/{c}/hls/../source",
        f"clips/{c}/hls/360p/../../source",
        f"clips/{c}%2fsource",
        f"clips/{c}%2Fsource%2F",
        f"clips%2f{c}%2fsource",
        f"clips/{c}%252fsource",
        f"clips/{c}/hls%2f..%2fsource",
        f"clips/{c}/SOURCE",
        f"clips/{c}/Source/",
        f"clips/{c.upper()}/source",
        f"CLIPS/{c}/source",
        f"clips/{c}/source.mp4",
        f"clips/{c}/hls\\..\\source",
        f"clips/{c}/.source",
        f"{import_key}/source",
        f"{import_key}/source/",
        f"{import_key}//source",
        f"{import_key.replace('/', '%2f')}%2fsource",
        f"IMPORTS/{import_key[8:]}/source",
        f"clips/../{import_key}/source",
        f"avatars/../{import_key}/source",
        f"products/..%2f{import_key}/source",
        "../media/x",
        "..%2f..%2fetc%2fpasswd",
    ]
    for spelling in spellings:
        for method in ("GET", "HEAD"):
            response = client.request(method, f"/v1/media/{spelling}")
            assert response.status_code == 404, (method, spelling, response.status_code)
            assert b"ORIGINAL" not in response.content and b"SECRET" not in response.content
    # The same clip's renditions are served (the refusals above are not a blanket 404).
    assert client.get(f"/v1/media/clips/{c}/video.mp4").content == b"MP4-BYTES"
    assert client.get(f"/v1/media/clips/{c}//hls/./360p/seg_000.m4s/").content == b"SEGMENT0"


def _follow_hls(client: Any, master_url: str) -> dict[str, bytes]:
    """Fetch the master, every variant and every file they reference, as a player would."""
    fetched: dict[str, bytes] = {}
    master = client.get(_path(master_url))
    assert master.status_code == 200, master.text
    for line in master.text.splitlines():
        if line and not line.startswith("#"):
            variant_url = urljoin(master_url, line)
            variant = client.get(_path(variant_url))
            assert variant.status_code == 200, (variant_url, variant.text)
            refs = [ln for ln in variant.text.splitlines() if ln and not ln.startswith("#")]
            refs += re.findall(r'URI="([^"]+)"', variant.text)
            for ref in refs:
                url = urljoin(variant_url, ref)
                response = client.get(_path(url))
                assert response.status_code == 200, (url, response.text)
                fetched[urlsplit(url).path.rsplit("/", 1)[-1]] = response.content
    return fetched


def test_public_ready_clip_plays_for_anyone_and_caches(client: Any, make_user: Any, published: Any) -> None:
    creator, _ = make_user("creator")
    clip_id = published(creator)
    clip = client.get(f"/v1/clips/{clip_id}").json()
    assert "token=" not in clip["playback"]["hls"]  # stable URL: a cache may keep it
    fetched = _follow_hls(client, clip["playback"]["hls"])
    assert fetched == {"seg_000.m4s": b"SEGMENT0", "seg_001.m4s": b"SEGMENT1", "init.mp4": b"INIT"}

    segment = client.get(f"/v1/media/clips/{clip_id}/hls/360p/seg_000.m4s")
    assert "immutable" in segment.headers["cache-control"] and "public" in segment.headers["cache-control"]
    playlist = client.get(_path(clip["playback"]["hls"]))
    assert "immutable" not in playlist.headers["cache-control"]  # the master grows as rungs finish

    # HEAD: same headers, no body.
    head = client.head(_path(clip["playback"]["mp4"]))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(b"MP4-BYTES"))
    assert head.headers["etag"] and head.headers["last-modified"]
    assert head.headers["content-type"] == "video/mp4"

    # Conditional requests.
    etag, modified = head.headers["etag"], head.headers["last-modified"]
    url = _path(clip["playback"]["mp4"])
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag and "immutable" in not_modified.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert client.get(url, headers=both).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "garbage"}).status_code == 200
    assert client.head(url, headers={"If-None-Match": etag}).status_code == 304
    # Ranges still work.
    ranged = client.get(url, headers={"Range": "bytes=0-2"})
    assert ranged.status_code == 206 and ranged.content == b"MP4"


@pytest.mark.parametrize("visibility", ["private", "unlisted"])
def test_private_and_unlisted_clips_play_only_through_signed_urls(
    client: Any, make_user: Any, published: Any, visibility: str
) -> None:
    creator, creator_h = make_user("creator")
    _, other_h = make_user("viewer")
    clip_id = published(creator, visibility=visibility)
    prefix = f"/v1/media/clips/{clip_id}/"
    for name in FILES:
        assert client.get(prefix + name).status_code == 404, name  # nothing without a signature

    clip = client.get(f"/v1/clips/{clip_id}", headers=creator_h).json()
    playback = clip["playback"]
    for url in (playback["hls"], playback["mp4"], playback["poster"], playback["thumbnails"]["jpeg"]["180"]):
        assert "token=" in url
        response = client.get(_path(url))
        assert response.status_code == 200 and response.headers["cache-control"] == "private, no-store"
    fetched = _follow_hls(client, playback["hls"])
    assert fetched == {"seg_000.m4s": b"SEGMENT0", "seg_001.m4s": b"SEGMENT1", "init.mp4": b"INIT"}
    token = urlsplit(playback["hls"]).query.split("token=", 1)[1]
    # The storyboard's sprite references carry the token too.
    vtt = client.get(f"{prefix}storyboard/storyboard.vtt?token={token}")
    assert vtt.status_code == 200 and f"sprite.jpg?token={token}#xywh=0,0,160,90" in vtt.text
    assert (
        client.get(_path(urljoin(f"http://x{prefix}storyboard/", f"sprite.jpg?token={token}"))).status_code
        == 200
    )
    # The original stays out of reach even with a valid token.
    assert client.get(f"{prefix}source?token={token}").status_code == 404

    if visibility == "private":  # another account may not see it, so gets no URL either
        assert client.get(f"/v1/clips/{clip_id}", headers=other_h).status_code == 404
    else:  # unlisted: whoever has the link sees it, through signed URLs
        seen = client.get(f"/v1/clips/{clip_id}", headers=other_h).json()
        assert "token=" in seen["playback"]["mp4"]

    # A token is bound to its clip, and tampering or expiry voids it.
    other_clip = published(creator, visibility=visibility)
    assert client.get(f"/v1/media/clips/{other_clip}/video.mp4?token={token}").status_code == 404
    expiry, mac = token.split(".")
    assert client.get(f"{prefix}video.mp4?token={int(expiry) + 10}.{mac}").status_code == 404
    assert client.get(f"{prefix}video.mp4?token={expiry}.{mac[:-2]}AA").status_code == 404
    from app.config import get_settings
    from app.storage.signing import sign_prefix

    stale = sign_prefix(get_settings().secret_key, f"clips/{clip_id}/", 60, now=time.time() - 120)
    assert client.get(f"{prefix}video.mp4?token={stale}").status_code == 404


def test_a_clip_made_private_or_deleted_stops_serving_its_old_urls(
    client: Any, make_user: Any, published: Any
) -> None:
    from app.clips.models import ClipStatus, Visibility

    creator, creator_h = make_user("creator")
    clip_id = published(creator)
    public_urls = client.get(f"/v1/clips/{clip_id}").json()["playback"]
    assert client.get(_path(public_urls["mp4"])).status_code == 200
    assert (
        client.patch(f"/v1/clips/{clip_id}", json={"visibility": "private"}, headers=creator_h).status_code
        == 200
    )
    for url in (public_urls["hls"], public_urls["mp4"], public_urls["poster"]):
        assert client.get(_path(url)).status_code == 404
    signed = client.get(f"/v1/clips/{clip_id}", headers=creator_h).json()["playback"]
    assert client.get(_path(signed["mp4"])).status_code == 200
    for status in (ClipStatus.uploading, ClipStatus.processing, ClipStatus.failed):
        _set(clip_id, status=status, visibility=Visibility.public)
        assert client.get(_path(public_urls["mp4"])).status_code == 404, status
    _set(clip_id, status=ClipStatus.deleted)
    assert client.get(_path(signed["mp4"])).status_code == 404
