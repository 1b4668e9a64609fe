from __future__ import annotations

import io

import httpx
from PIL import Image


def _jpeg_with_exif_rotation(width: int = 600, height: int = 400) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # Left half blue so orientation is observable after the transpose.
    image.paste((30, 30, 200), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = "PhoneMaker"  # Make: must be stripped
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_avatar_is_decoded_stripped_resized_and_served(client, make_user, settings):
    user, headers = make_user("creator")
    response = client.put(
        "/v1/me/avatar", files={"file": ("me.jpg", _jpeg_with_exif_rotation(), "image/jpeg")}, headers=headers
    )
    assert response.status_code == 200, response.text
    avatar = response.json()["avatar"]
    assert set(avatar["jpeg"]) == {"64", "128", "256"} == set(avatar["webp"])
    key = avatar["jpeg"]["256"].split("/v1/media/", 1)[1]
    stored = Image.open(settings.media_root / key)
    assert stored.size == (256, 256)
    assert not stored.getexif()  # EXIF (maker, orientation) is gone
    webp = Image.open(settings.media_root / avatar["webp"]["64"].split("/v1/media/", 1)[1])
    assert webp.format == "WEBP" and webp.size == (64, 64)
    # The public profile shows the same avatar.
    public = client.get(f"/v1/creators/{user['creator']['handle']}").json()
    assert public["avatar"] == avatar


def test_replacing_avatar_removes_old_files_after_commit(client, make_user, settings):
    _, headers = make_user("creator")
    first = client.put(
        "/v1/me/avatar", files={"file": ("a.jpg", _jpeg_with_exif_rotation(), "image/jpeg")}, headers=headers
    ).json()["avatar"]["jpeg"]["64"]
    client.put(
        "/v1/me/avatar", files={"file": ("b.jpg", _jpeg_with_exif_rotation(), "image/jpeg")}, headers=headers
    )
    assert not (settings.media_root / first.split("/v1/media/", 1)[1]).exists()


def test_non_image_and_bomb_are_refused(client, make_user, settings, monkeypatch):
    _, headers = make_user("creator")
    bad = client.put(
        "/v1/me/avatar", files={"file": ("x.jpg", b"this is not an image", "image/jpeg")}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "not_an_image"
    # A tiny PNG that claims a huge canvas: refused before decoding.
    monkeypatch.setattr(settings, "image_max_pixels", 10_000)
    big = io.BytesIO()
    Image.new("1", (2000, 2000)).save(big, "PNG")
    bomb = client.put(
        "/v1/me/avatar", files={"file": ("b.png", big.getvalue(), "image/png")}, headers=headers
    )
    assert bomb.status_code == 422 and bomb.json()["code"] == "image_too_large"
    assert not list((settings.media_root).rglob("*.jpg")) if settings.media_root.exists() else True


def test_avatar_url_is_absolute(client, make_user):
    _, headers = make_user("creator")
    avatar = client.put(
        "/v1/me/avatar", files={"file": ("a.jpg", _jpeg_with_exif_rotation(), "image/jpeg")}, headers=headers
    ).json()["avatar"]
    assert httpx.URL(avatar["jpeg"]["64"]).is_absolute_url
