"""Where content files live: a small interface, and the local-disk implementation used by default.

Staff upload through piccolo-admin (``AdminMediaStorage``, piccolo_api's local media storage with a size limit);
customers receive files only through signed links (``app.content.delivery``), covers (public for published
items) through ``/covers/<item>``; no route names a path on disk. A storage key is a flat file
name that piccolo_api generated (``name-<uuid>.ext``); anything else, and any path that would leave the media
folder, is refused. Only local disk is implemented; S3 is not: an S3-compatible storage would implement
``MediaStorage`` (stat, ranged reads, writes) and plug in here.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import anyio
from piccolo_api.media.base import ALLOWED_EXTENSIONS
from piccolo_api.media.local import LocalMediaStorage as PiccoloLocalMediaStorage

from app.settings import ContentSettings

CHUNK_SIZE = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ()_.-]{0,254}$")
FILES_FOLDER = "files"  # content_item.media_key
COVERS_FOLDER = "covers"  # content_item.cover_image
# Covers are shown in pages and served from the site's origin: raster images only (an SVG can carry script).
COVER_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")
COVER_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class MediaNotFound(Exception):
    """No stored file has this key (or the key is not one a storage could have made)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    modified_at: datetime
    content_type: str
    etag: str  # a strong validator: changes whenever the bytes can have changed


class MediaStorage(Protocol):
    async def stat(self, key: str) -> StoredFile: ...

    def read(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        """``length`` bytes from ``start``, in chunks of at most CHUNK_SIZE (constant memory)."""
        ...

    async def write(self, key: str, data: bytes) -> StoredFile: ...


def check_key(key: str) -> str:
    """A key names one file inside the storage: no separators, no "..", nothing hidden."""
    if not _KEY.match(key) or ".." in key:
        raise MediaNotFound(key)
    return key


class LocalMediaStorage:
    """Files in one folder on local disk (MEDIA_DIR/files by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if path.parent != self.root:  # a symlink or anything else that leads out of the folder
            raise MediaNotFound(key)
        return path

    async def stat(self, key: str) -> StoredFile:
        path = self.path(key)
        try:
            info = await anyio.Path(path).stat()
        except FileNotFoundError:
            raise MediaNotFound(key) from None
        if not path.is_file():
            raise MediaNotFound(key)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        return StoredFile(
            key=key,
            size=info.st_size,
            modified_at=datetime.fromtimestamp(int(info.st_mtime), tz=UTC),
            content_type=content_type,
            etag=f'"{info.st_size:x}-{info.st_mtime_ns:x}-{info.st_ino:x}"',
        )

    async def read(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path(key), "rb") as handle:
            await handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = await handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    async def write(self, key: str, data: bytes) -> StoredFile:
        path = self.path(key)
        await anyio.Path(self.root).mkdir(parents=True, exist_ok=True)
        await anyio.Path(path).write_bytes(data)
        os.chmod(path, 0o600)
        return await self.stat(key)


def files_storage(settings: ContentSettings) -> LocalMediaStorage:
    return LocalMediaStorage(settings.media_dir / FILES_FOLDER)


def covers_storage(settings: ContentSettings) -> LocalMediaStorage:
    return LocalMediaStorage(settings.media_dir / COVERS_FOLDER)


class UploadTooLarge(ValueError):
    pass


class AdminMediaStorage(PiccoloLocalMediaStorage):
    """piccolo_api's local storage for the admin's upload widget, refusing files over MAX_UPLOAD_MB with a message
    the admin shows (piccolo-admin turns a ValueError into a 422 with its text)."""

    def __init__(
        self, column: Any, media_path: Path, max_bytes: int, allowed_extensions: Sequence[str] = ALLOWED_EXTENSIONS
    ) -> None:
        media_path.mkdir(parents=True, exist_ok=True)
        super().__init__(column=column, media_path=str(media_path), allowed_extensions=allowed_extensions)
        self.max_bytes = max_bytes

    async def store_file(self, file_name: str, file: IO[bytes], user: Any = None) -> str:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
        if size > self.max_bytes:
            limit = self.max_bytes // (1024 * 1024)
            raise UploadTooLarge(
                f"{file_name} is {size / (1024 * 1024):.1f} MB; uploads are limited to {limit} MB (MAX_UPLOAD_MB)."
            )
        key: str = await super().store_file(file_name=file_name, file=file, user=user)
        return key
