"""A content-addressed store of raw bytes on disk: each blob is named by its SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from takedown.errors import NotFoundError, StoreError
from takedown.files import atomic_output, atomic_write

__all__ = ["BlobStore", "atomic_output", "atomic_write"]

_CHUNK = 1 << 20


class BlobStore:
    """Bytes on disk under ``root/ab/abcdef...``; writing the same bytes twice stores them once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob with this SHA-256 lies (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def __contains__(self, sha256: object) -> bool:
        return isinstance(sha256, str) and self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.is_file():
            atomic_write(target, data)
        return sha

    def put_stream(self, stream: BinaryIO) -> str:
        """Store a stream's bytes without holding them all in memory; return their SHA-256."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            target = self.path(digest.hexdigest())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        """The blob's bytes.

        Raises:
            NotFoundError: no such blob.
            StoreError: ``verify`` is set and the bytes no longer hash to ``sha256``.
        """
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"no blob {sha256}") from exc
        if verify and hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"blob {sha256} has been altered on disk")
        return data
