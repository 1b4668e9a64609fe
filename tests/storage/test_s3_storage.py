"""The S3 backend against a real S3-protocol server over HTTP (moto), with real HTTP uploads."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app.storage.local import LocalStorage
from app.storage.s3 import MIN_PART_SIZE, S3Storage
from tests.storage.moto_server import make_s3_storage


def test_objects_roundtrip_head_copy_and_prefix_delete(s3_storage: S3Storage, tmp_path: Path) -> None:
    stored = s3_storage.put_bytes("clips/a/poster.jpg", b"jpeg-bytes", "image/jpeg")
    assert stored.size == 10 and stored.etag == hashlib.md5(b"jpeg-bytes").hexdigest()
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(3000))
    s3_storage.put_file("clips/a/video.mp4", source, "video/mp4")
    head = s3_storage.head("clips/a/video.mp4")
    assert head is not None and head.size == 3000 and head.content_type == "video/mp4"
    with s3_storage.open("clips/a/video.mp4") as body:
        assert body.read() == source.read_bytes()
    assert s3_storage.head("clips/a/missing") is None and not s3_storage.exists("clips/a/missing")

    copied = s3_storage.copy("clips/a/video.mp4", "clips/b/video.mp4")
    assert copied.size == 3000
    s3_storage.put_bytes("clips/ab/other", b"x", "text/plain")  # shares the string prefix "clips/a"
    assert sorted(s3_storage.list_keys("clips/a/")) == ["clips/a/poster.jpg", "clips/a/video.mp4"]

    assert s3_storage.delete_prefix("clips/a/") == 2
    assert list(s3_storage.list_keys("clips/a/")) == []
    assert s3_storage.exists("clips/b/video.mp4") and s3_storage.exists("clips/ab/other")
    with pytest.raises(ValueError):
        s3_storage.delete_prefix("/")


def test_presigned_put_accepts_the_declared_type_only(s3_storage: S3Storage) -> None:
    url, headers = s3_storage.presign_put("uploads/u1/source", "video/mp4", expires=300)
    payload = os.urandom(200_000)
    # The signature covers the content type (moto does not verify signatures; AWS does).
    assert "X-Amz-SignedHeaders=content-type%3Bhost" in url or "X-Amz-SignedHeaders=content-type;host" in url
    response = httpx.put(url, content=payload, headers=headers)
    assert response.status_code == 200, response.text
    head = s3_storage.head("uploads/u1/source")
    assert head is not None and head.size == len(payload)
    assert httpx.get(s3_storage.presign_get("uploads/u1/source")).content == payload


def test_presigned_multipart_upload_lifecycle(s3_storage: S3Storage) -> None:
    key = "uploads/u2/source"
    data = os.urandom(2 * MIN_PART_SIZE + 12345)
    upload_id = s3_storage.create_multipart(key, "video/mp4")
    chunks = [data[:MIN_PART_SIZE], data[MIN_PART_SIZE : 2 * MIN_PART_SIZE], data[2 * MIN_PART_SIZE :]]
    # Parts may arrive in any order from a phone.
    for number in (2, 1, 3):
        url = s3_storage.presign_part(key, upload_id, number, expires=300)
        response = httpx.put(url, content=chunks[number - 1])
        assert response.status_code == 200, response.text
    parts = s3_storage.list_parts(key, upload_id)
    assert [p.part_number for p in parts] == [1, 2, 3]
    assert [p.size for p in parts] == [len(c) for c in chunks]
    assert not s3_storage.exists(key)  # nothing visible before completion
    assert [u.upload_id for u in s3_storage.list_multipart_uploads("uploads/")] == [upload_id]
    s3_storage.complete_multipart(key, upload_id)
    head = s3_storage.head(key)
    assert head is not None and head.size == len(data)
    assert httpx.get(s3_storage.presign_get(key)).content == data
    assert s3_storage.list_multipart_uploads("uploads/") == []


def test_abort_and_prefix_delete_drop_open_multipart_uploads(s3_storage: S3Storage) -> None:
    first = s3_storage.create_multipart("clips/c/source", "video/mp4")
    httpx.put(s3_storage.presign_part("clips/c/source", first, 1, 300), content=b"x" * 1000)
    s3_storage.abort_multipart("clips/c/source", first)
    assert s3_storage.list_parts("clips/c/source", first) == []
    s3_storage.abort_multipart("clips/c/source", first)  # idempotent
    s3_storage.create_multipart("clips/d/source", "video/mp4")
    s3_storage.put_bytes("clips/d/poster.jpg", b"p", "image/jpeg")
    assert s3_storage.delete_prefix("clips/d/") == 1
    assert s3_storage.list_multipart_uploads("clips/") == []


@pytest.mark.parametrize("size", [1000, 3 * MIN_PART_SIZE + 7])
def test_stream_writer_sends_parts_and_is_invisible_until_complete(s3_storage: S3Storage, size: int) -> None:
    data = os.urandom(size)
    writer = s3_storage.open_writer("uploads/u3/source", "video/mp4")
    for start in range(0, size, MIN_PART_SIZE):
        writer.write_part(data[start : start + MIN_PART_SIZE])
        assert not s3_storage.exists("uploads/u3/source")
    stored = writer.complete()
    assert stored.size == size
    with s3_storage.open("uploads/u3/source") as body:
        assert hashlib.sha256(body.read()).digest() == hashlib.sha256(data).digest()


def test_stream_writer_abort_leaves_nothing(s3_storage: S3Storage) -> None:
    writer = s3_storage.open_writer("uploads/u4/source", "video/mp4")
    writer.write_part(os.urandom(MIN_PART_SIZE))
    writer.write_part(os.urandom(10))
    writer.abort()
    assert not s3_storage.exists("uploads/u4/source")
    assert s3_storage.list_multipart_uploads("uploads/u4/") == []


def test_playback_urls_presigned_or_cdn(s3_endpoint: str) -> None:
    presigned = make_s3_storage(s3_endpoint)
    presigned.put_bytes("clips/e/hls/master.m3u8", b"#EXTM3U\n", "application/vnd.apple.mpegurl")
    url = presigned.url_for("clips/e/hls/master.m3u8")
    assert "X-Amz-Signature=" in url and httpx.get(url).content == b"#EXTM3U\n"
    cdn = make_s3_storage(s3_endpoint, media_base_url="https://cdn.example.com/media/")
    assert cdn.url_for("clips/e/hls/master.m3u8") == "https://cdn.example.com/media/clips/e/hls/master.m3u8"
    # Behind the API's media route: a stable URL there (signed late, when fetched), never a
    # presigned one that a cache could keep past its expiry.
    api = make_s3_storage(s3_endpoint, api_media_url="https://api.example.com/v1/media")
    assert api.url_for("avatars/u/64.jpg") == "https://api.example.com/v1/media/avatars/u/64.jpg"


def test_virtual_host_addressing_signs_bucket_in_host(s3_endpoint: str) -> None:
    storage = make_s3_storage(s3_endpoint, addressing_style="path")
    host_endpoint = s3_endpoint.replace("127.0.0.1", "localhost")  # botocore keeps IP hosts path-style
    virtual = S3Storage(replace(storage.config, addressing_style="virtual", endpoint_url=host_endpoint))
    url, _ = virtual.presign_put("k", "video/mp4", 60)
    assert url.startswith(f"http://{storage.bucket}.localhost:")
    path_url, _ = storage.presign_put("k", "video/mp4", 60)
    assert path_url.startswith(f"{s3_endpoint}/{storage.bucket}/k?")
    assert virtual.client.meta.config.retries["total_max_attempts"] == 2
    assert virtual.client.meta.config.connect_timeout == 2


def test_local_stream_writer_and_copy(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path, base_url="http://api/v1/media")
    writer = local.open_writer("clips/f/source", "video/mp4")
    writer.write_part(b"abc")
    assert not local.exists("clips/f/source")
    writer.write_part(b"def")
    assert writer.complete().size == 6
    assert local.copy("clips/f/source", "clips/g/source").size == 6
    aborted = local.open_writer("clips/h/source", "video/mp4")
    aborted.write_part(b"zzz")
    aborted.abort()
    assert not local.exists("clips/h/source") and list(local.list_keys("clips/h/")) == []


def test_sha256_checksum_header_is_reported_by_head(s3_storage: S3Storage) -> None:
    data = b"checksummed"
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    s3_storage.client.put_object(
        Bucket=s3_storage.bucket, Key="k2", Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=digest
    )
    head = s3_storage.head("k2")
    assert head is not None and head.checksum_sha256 == digest


def test_settings_select_the_backend_and_public_endpoint(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import Settings
    from app.storage import build_storage

    env = {
        "CLIPSHOP_STORAGE_BACKEND": "s3",
        "CLIPSHOP_S3_BUCKET": f"cfg-{os.getpid()}",
        "CLIPSHOP_S3_ENDPOINT_URL": s3_endpoint,
        "CLIPSHOP_S3_PUBLIC_ENDPOINT_URL": "http://media.example.test:9000",
        "CLIPSHOP_S3_ACCESS_KEY_ID": "testing",
        "CLIPSHOP_S3_SECRET_ACCESS_KEY": "testing",
        "CLIPSHOP_S3_ADDRESSING_STYLE": "path",
        "CLIPSHOP_S3_CREATE_BUCKET": "true",
        "CLIPSHOP_S3_MAX_ATTEMPTS": "3",
        "CLIPSHOP_S3_CONNECT_TIMEOUT_SECONDS": "1.5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("app.config.get_settings", lambda: Settings())
    storage = build_storage()
    assert isinstance(storage, S3Storage)
    storage.check()  # the bucket was created on the private endpoint
    url, _ = storage.presign_put("clips/x/source", "video/mp4", 60)
    assert url.startswith(f"http://media.example.test:9000/cfg-{os.getpid()}/clips/x/source?")
    assert storage.client.meta.config.connect_timeout == 1.5
    assert storage.client.meta.config.retries["total_max_attempts"] == 3
    monkeypatch.setenv("CLIPSHOP_STORAGE_BACKEND", "local")
    assert isinstance(build_storage(), LocalStorage)
