"""S3 backend through boto3 (AWS, MinIO, R2, moto): presigned single and multipart uploads,
presigned or CDN playback URLs, server-side copy, prefix deletion.

boto3 is blocking: async routes call these methods through a thread pool, never directly.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from app.storage.base import Storage, StoredObject, StreamWriter

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    # Endpoint clients reach (presigned URLs); the API may reach S3 on a private address.
    public_endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: str = "auto"  # path | virtual | auto
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    media_base_url: str | None = None  # CDN in front of the bucket; else presigned GETs
    presign_expiry: int = 3600
    # The API's media route (``.../v1/media``): when set (and no CDN), ``url_for`` answers stable
    # URLs there that redirect to a fresh presigned GET, so a URL never goes stale in a cache.
    api_media_url: str | None = None


@dataclass(frozen=True)
class UploadPart:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class PendingMultipart:
    key: str
    upload_id: str
    initiated: datetime


class StorageSetupError(RuntimeError):
    """The bucket cannot be used (wrong endpoint, credentials or permissions)."""


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchUpload")


class S3StreamWriter(StreamWriter):
    """Parts go up as S3 multipart parts; a single small part becomes one PutObject."""

    def __init__(self, storage: S3Storage, key: str, content_type: str) -> None:
        self.storage = storage
        self.key = key
        self.content_type = content_type
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.pending: bytes | None = None  # first part held back: maybe the whole object
        self.size = 0

    def write_part(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.upload_id is None and self.pending is None:
            self.pending = data
            return
        if self.upload_id is None:
            self.upload_id = self.storage.create_multipart(self.key, self.content_type)
            assert self.pending is not None
            self._upload(self.pending)
            self.pending = None
        self._upload(data)

    def _upload(self, data: bytes) -> None:
        assert self.upload_id is not None
        number = len(self.parts) + 1
        response = self.storage.client.upload_part(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def complete(self) -> StoredObject:
        if self.upload_id is None:
            return self.storage.put_bytes(self.key, self.pending or b"", self.content_type)
        self.storage.client.complete_multipart_upload(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )  # fmt: skip
        return StoredObject(key=self.key, size=self.size, content_type=self.content_type)

    def abort(self) -> None:
        if self.upload_id is not None:
            self.storage.abort_multipart(self.key, self.upload_id)
        self.pending = None


class S3Storage(Storage):
    def __init__(self, config: S3Settings, client: Any | None = None) -> None:
        self.config = config
        self.bucket = config.bucket
        # Typed as Any: the stubs' TypedDicts add nothing over the S3 API reference here.
        self.client: Any = client or self._make_client(config.endpoint_url)
        # Presigning makes no request: a client for the public endpoint only signs URLs.
        self.presigner: Any = (
            self._make_client(config.public_endpoint_url) if config.public_endpoint_url else self.client
        )
        self.transfer = TransferConfig(multipart_threshold=64 * 1024 * 1024, max_concurrency=4)

    def _make_client(self, endpoint_url: str | None) -> Any:
        config = self.config
        s3_options: Any = {"addressing_style": config.addressing_style}
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=config.region,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3=s3_options,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                retries={"total_max_attempts": config.max_attempts, "mode": "standard"},
            ),
        )

    # --- objects ----------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        response = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return StoredObject(key=key, size=len(data), etag=response.get("ETag", "").strip('"') or None)

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        self.client.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=self.transfer
        )
        return StoredObject(key=key, size=Path(path).stat().st_size, content_type=content_type)

    def open(self, key: str) -> BinaryIO:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        return cast(BinaryIO, response["Body"])

    def download_file(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path), Config=self.transfer)

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def head(self, key: str) -> StoredObject | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return StoredObject(
            key=key,
            size=int(response["ContentLength"]),
            etag=str(response.get("ETag", "")).strip('"') or None,
            checksum_sha256=response.get("ChecksumSHA256"),
            content_type=response.get("ContentType"),
            modified_at=response.get("LastModified"),
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`, and abort multipart uploads still open there."""
        if not prefix.strip("/"):
            raise ValueError("refusing to delete the whole bucket")
        for pending in self.list_multipart_uploads(prefix):
            self.abort_multipart(pending.key, pending.upload_id)
        deleted = 0
        batch: list[dict[str, str]] = []
        for key in self.list_keys(prefix):
            batch.append({"Key": key})
            if len(batch) == 1000:
                deleted += self._delete_batch(batch)
                batch = []
        if batch:
            deleted += self._delete_batch(batch)
        return deleted

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            raise RuntimeError(f"S3 refused to delete {len(errors)} objects: {errors[0]}")
        return len(batch)

    def copy(self, src_key: str, dst_key: str) -> StoredObject:
        """Server-side copy (managed: multipart copy above 5 GB)."""
        self.client.copy({"Bucket": self.bucket, "Key": src_key}, self.bucket, dst_key, Config=self.transfer)
        head = self.head(dst_key)
        assert head is not None
        return head

    def open_writer(self, key: str, content_type: str) -> StreamWriter:
        return S3StreamWriter(self, key, content_type)

    def url_for(self, key: str) -> str:
        if self.config.media_base_url:
            return f"{self.config.media_base_url.rstrip('/')}/{key}"
        if self.config.api_media_url:
            return f"{self.config.api_media_url.rstrip('/')}/{key}"
        return self.presign_get(key)

    def presign_get(self, key: str, expires: int | None = None) -> str:
        url: str = self.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires or self.config.presign_expiry,
        )  # fmt: skip
        return url

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def init_bucket(self, create: bool = True) -> str:
        """Check the bucket (creating it when missing and ``create``) and that these credentials
        may write, read and delete in it; raise :class:`StorageSetupError` with a sentence an
        operator can act on. Returns what was done."""
        from botocore.exceptions import BotoCoreError, EndpointConnectionError

        where = f"bucket {self.bucket!r} at {self.config.endpoint_url or 'AWS S3'}"
        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
                done = "exists"
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                    raise StorageSetupError(
                        f"S3 refused the credentials for {where} ({code}): check "
                        "CLIPSHOP_S3_ACCESS_KEY_ID / CLIPSHOP_S3_SECRET_ACCESS_KEY and the bucket policy."
                    ) from exc
                if not create:
                    raise StorageSetupError(f"The {where} does not exist ({code}).") from exc
                self.client.create_bucket(Bucket=self.bucket)
                done = "created"
            probe = ".clipshop-storage-check"
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
            self.client.get_object(Bucket=self.bucket, Key=probe)["Body"].read()
            self.client.delete_object(Bucket=self.bucket, Key=probe)
        except EndpointConnectionError as exc:
            raise StorageSetupError(
                f"Cannot reach the S3 endpoint for {where}: check CLIPSHOP_S3_ENDPOINT_URL ({exc})."
            ) from exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise StorageSetupError(f"S3 refused an operation on {where} ({code}).") from exc
        except BotoCoreError as exc:
            raise StorageSetupError(f"S3 setup failed for {where}: {exc}") from exc
        return done

    # --- direct uploads (the client talks to S3) ---------------------------------------------

    def presign_put(self, key: str, content_type: str, expires: int) -> tuple[str, dict[str, str]]:
        """One presigned PUT; the client must send the returned headers unchanged."""
        url: str = self.presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires,
        )  # fmt: skip
        return url, {"Content-Type": content_type}

    def create_multipart(self, key: str, content_type: str) -> str:
        response = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return str(response["UploadId"])

    def presign_part(self, key: str, upload_id: str, part_number: int, expires: int) -> str:
        url: str = self.presigner.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
            ExpiresIn=expires,
        )
        return url

    def list_parts(self, key: str, upload_id: str) -> list[UploadPart]:
        parts: list[UploadPart] = []
        paginator = self.client.get_paginator("list_parts")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                parts.extend(
                    UploadPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                    for p in page.get("Parts", [])
                )
        except ClientError as exc:
            if _missing(exc):
                return []
            raise
        return parts

    def complete_multipart(self, key: str, upload_id: str, parts: list[UploadPart] | None = None) -> None:
        """Complete with the given parts, or with every part S3 has received."""
        parts = parts if parts is not None else self.list_parts(key, upload_id)
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]},
        )  # fmt: skip

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if not _missing(exc):
                raise

    def list_multipart_uploads(self, prefix: str = "") -> list[PendingMultipart]:
        found: list[PendingMultipart] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(
                PendingMultipart(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", [])
            )
        return found


def sha256_base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
