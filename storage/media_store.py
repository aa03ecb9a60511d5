"""Where photo files live: the data folder (the default), or an S3-compatible bucket (AWS S3, MinIO,
Ceph, and the Chinese clouds' object stores) when several machines share them.

A photo's row keeps its path (`photos/ab/<sha256>.jpg`); the store maps it to a file under the data
folder, or to the key `<prefix>/<path>` in the bucket. Photos are named by their content, so a
file is written once and never changes, which makes copying them across (`gridline media move`)
safe to repeat. An S3 store reads, for a photo not yet in the bucket, the data folder's copy: a
photo that arrived between the move and the switch is still served, and the next move copies it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

log = logging.getLogger(__name__)


class MediaStore(Protocol):
    """Photo files by their path under the store."""

    @property
    def where(self) -> str: ...  # for people: the folder, or s3://bucket/prefix
    async def write(self, path: str, content: bytes) -> None: ...
    async def read(self, path: str) -> bytes: ...  # FileNotFoundError when there is none
    async def exists(self, path: str) -> bool: ...
    async def delete(self, path: str) -> None: ...  # no error when there is none
    def local_file(self, path: str) -> Path | None: ...  # the file on this machine, when the store is a folder
    async def close(self) -> None: ...


def write_once(target: Path, content: bytes) -> None:
    """Write the file atomically unless it is already there (blocking: run it in a thread). The same
    picture may be written by two threads at once (two people send it): each writes its own
    temporary file, and the second rename replaces the first with the same bytes."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(content)
    temporary.replace(target)


class FolderStore:
    """Files under the data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    @property
    def where(self) -> str:
        return str(self.data_dir)

    def local_file(self, path: str) -> Path:
        return self.data_dir / path

    async def write(self, path: str, content: bytes) -> None:
        await asyncio.to_thread(write_once, self.local_file(path), content)

    async def read(self, path: str) -> bytes:
        return await asyncio.to_thread(self.local_file(path).read_bytes)

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self.local_file(path).is_file)

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(self.local_file(path).unlink, True)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without slashes at either end; may be empty

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def s3_location(spec: str) -> S3Location | None:
    """`s3://bucket/prefix` read, or None when `spec` is no S3 URL."""
    parsed = urlparse(spec)
    if parsed.scheme != "s3" or not parsed.netloc:
        return None
    return S3Location(parsed.netloc, parsed.path.strip("/"))


@dataclass(frozen=True)
class S3Access:
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None = field(repr=False)  # never in a log line or a traceback's locals


class S3Store:
    """Objects in a bucket, through aiobotocore (one client, opened on first use); reads fall back to
    the data folder for a photo not yet copied across."""

    def __init__(self, location: S3Location, access: S3Access, fallback: FolderStore | None = None) -> None:
        self.location = location
        self.access = access
        self.fallback = fallback
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._opening = asyncio.Lock()

    @property
    def where(self) -> str:
        return str(self.location)

    def local_file(self, path: str) -> Path | None:
        return None

    async def _s3(self) -> Any:
        async with self._opening:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(get_session().create_client(
                    "s3", endpoint_url=self.access.endpoint_url, region_name=self.access.region,
                    aws_access_key_id=self.access.access_key_id, aws_secret_access_key=self.access.secret_access_key,
                    # Path-style addressing: what MinIO, Ceph and most private endpoints expect.
                    config=AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})))
                self._stack = stack
            return self._client

    async def write(self, path: str, content: bytes) -> None:
        client = await self._s3()
        await client.put_object(Bucket=self.location.bucket, Key=self.location.key(path), Body=content)

    async def _get(self, path: str) -> bytes | None:
        from botocore.exceptions import ClientError

        client = await self._s3()
        try:
            answer = await client.get_object(Bucket=self.location.bucket, Key=self.location.key(path))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        async with answer["Body"] as body:
            content: bytes = await body.read()
        return content

    async def read(self, path: str) -> bytes:
        content = await self._get(path)
        if content is not None:
            return content
        if self.fallback is not None and await self.fallback.exists(path):
            return await self.fallback.read(path)
        raise FileNotFoundError(f"{self.location.key(path)} is not in {self.location}")

    async def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        client = await self._s3()
        try:
            await client.head_object(Bucket=self.location.bucket, Key=self.location.key(path))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    async def delete(self, path: str) -> None:
        client = await self._s3()
        await client.delete_object(Bucket=self.location.bucket, Key=self.location.key(path))
        if self.fallback is not None:
            await self.fallback.delete(path)

    async def verified(self, path: str, sha256: str) -> bool:
        """True when the object is there and its content hashes to `sha256` (the photo's name)."""
        content = await self._get(path)
        return content is not None and hashlib.sha256(content).hexdigest() == sha256

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self._client = None, None


async def delete_photos(media: MediaStore, paths: list[str]) -> int:
    """Delete the files of photos whose rows are gone (after the commit that removed them); a file
    already missing counts as removed, one that cannot be removed is logged. Returns how many went."""
    removed = 0
    for path in paths:
        try:
            await media.delete(path)
            removed += 1
        except Exception as error:  # noqa: BLE001 - OSError or the object store's errors: logged, the rest go on
            log.warning("photo file %s could not be removed from %s: %s", path, media.where, error)
    return removed


def media_store_spec(spec: str) -> str:
    """GRIDLINE_MEDIA_STORE checked: empty (the data folder) or s3://bucket/prefix; ValueError otherwise."""
    spec = spec.strip()
    if spec and s3_location(spec) is None:
        raise ValueError(f"the media store must be empty (the data folder) or s3://bucket/prefix, not {spec!r}")
    return spec


def open_media_store(spec: str, data_dir: Path, access: S3Access) -> MediaStore:
    """The store GRIDLINE_MEDIA_STORE names: empty (the data folder) or s3://bucket/prefix."""
    location = s3_location(media_store_spec(spec))
    if location is None:
        return FolderStore(data_dir)
    return S3Store(location, access, fallback=FolderStore(data_dir))
