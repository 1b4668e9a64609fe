"""A phone-like client: declare, send the bytes the way the API says, complete, poll."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from app import jobs


def declare(client: Any, headers: dict[str, str], path: Path, **extra: Any) -> dict[str, Any]:
    body = {"size": path.stat().st_size, "content_type": "video/mp4", "file_name": path.name, **extra}
    response = client.post("/v1/uploads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def send(client: Any, headers: dict[str, str], upload: dict[str, Any], data: bytes) -> list[dict[str, Any]]:
    """PUT the bytes where the upload says; returns completed parts for multipart."""
    if upload["mode"] == "multipart":
        parts = []
        for part in upload["parts"]:
            start = (part["part_number"] - 1) * upload["part_size"]
            response = httpx.put(part["url"], content=data[start : start + part["size"]])
            assert response.status_code == 200, response.text
            parts.append({"part_number": part["part_number"], "etag": response.headers["ETag"]})
        return parts
    url = upload["upload_url"]
    if upload["mode"] == "proxy":  # the API itself plays S3's role
        response = client.put(url, content=data, headers={**headers, **upload["upload_headers"]})
        assert response.status_code == 204, response.text
    else:
        response = httpx.put(url, content=data, headers=upload["upload_headers"])
        assert response.status_code == 200, response.text
    return []


def upload_file(client: Any, headers: dict[str, str], path: Path, **extra: Any) -> dict[str, Any]:
    """Full flow; returns the clip after processing finished."""
    data = path.read_bytes()
    upload = declare(client, headers, path, checksum_sha256=hashlib.sha256(data).hexdigest(), **extra)
    parts = send(client, headers, upload, data)
    body = {"parts": parts} if parts else None
    response = client.post(f"/v1/uploads/{upload['id']}/complete", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processing"
    jobs.drain()
    clip = client.get(f"/v1/clips/{upload['clip_id']}", headers=headers)
    assert clip.status_code == 200, clip.text
    result: dict[str, Any] = clip.json()
    return result
