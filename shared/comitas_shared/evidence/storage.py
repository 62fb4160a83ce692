"""Where sealed evidence objects live: a small protocol, and the local filesystem backend.

Backends see ciphertext only (the store encrypts before :meth:`EvidenceStorage.put` and decrypts after
:meth:`EvidenceStorage.get`), so a backend needs no trust beyond keeping bytes: a leaked bucket or disk
holds nothing readable without the callers' data keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from .. import randomness
from .errors import EvidenceNotFound

READ_CHUNK = 256 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def new_storage_key() -> str:
    """A random object name (128 bits): it says nothing about the case, the victim or the file."""
    return randomness.token_bytes(16).hex()


def check_key(key: str) -> str:
    """Storage keys are plain tokens, so no key can climb out of a backend's directory or prefix."""
    if not _KEY.match(key):
        raise ValueError("a storage key is 8..128 characters of A-Z, a-z, 0-9, '_' and '-'")
    return key


@runtime_checkable
class EvidenceStorage(Protocol):
    """Put a stream, get a stream, delete, exists. Implementations must make :meth:`put` atomic (the
    object appears whole or not at all, also when the stream raises part-way) and must not buffer a
    whole object in memory."""

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the bytes of ``chunks`` under ``key``. If iterating ``chunks`` raises, nothing is left
        (not even a temporary part) and the exception propagates."""
        ...

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes, in pieces; raises :class:`EvidenceNotFound` when iterated if absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting an absent object is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalFileStorage:
    """Objects as files under one directory (``var/evidence/<service>/`` by default), sharded by the
    key's first two characters. Directories are 0700 and files 0600: only the service's user reads them.
    A file is written under a temporary name in its final directory, flushed to disk, then renamed, so a
    reader or a crash never sees half an object, and a refused upload leaves no trace.
    """

    def __init__(self, root: Path | str, *, durable: bool = True) -> None:
        self.root = Path(root)
        # fsync before the rename: evidence acknowledged to a victim must survive a power cut.
        self.durable = durable

    def _dir(self, key: str) -> Path:
        return self.root / check_key(key)[:2]

    def path_of(self, key: str) -> Path:
        return self._dir(key) / key

    def _make_dirs(self, directory: Path) -> None:
        for path in (self.root, directory):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode passes through the umask, and an existing directory keeps its mode.
            if path.stat().st_mode & 0o777 != 0o700:
                path.chmod(0o700)

    def _open_temp(self, key: str) -> tuple[int, Path]:
        directory = self._dir(key)
        self._make_dirs(directory)
        temp = directory / f".tmp-{key}-{randomness.token_bytes(6).hex()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        return fd, temp

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def _rename(self, temp: Path, final: Path) -> None:
        os.replace(temp, final)
        if self.durable:
            # The rename itself is durable only once the directory is flushed too.
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        fd, temp = await asyncio.to_thread(self._open_temp, key)
        committed = False
        try:
            try:
                async for chunk in chunks:
                    if chunk:
                        await asyncio.to_thread(self._write_all, fd, chunk)
                if self.durable:
                    await asyncio.to_thread(os.fsync, fd)
            finally:
                # Closed exactly once, and synchronously: under cancellation (a client that left) a
                # further await could be cancelled too.
                os.close(fd)
            await asyncio.to_thread(self._rename, temp, self.path_of(key))
            committed = True
        finally:
            if not committed:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()

    async def get(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise EvidenceNotFound(f"no stored object {key}") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        def remove() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path_of(key).unlink()

        await asyncio.to_thread(remove)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)
