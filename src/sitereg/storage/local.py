"""Object store on a local directory.

Layout: ``<root>/<key>``; temp files live in ``<root>/.tmp/`` (same filesystem,
so ``os.replace``/``os.link`` are atomic renames) and never appear in ``list``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .base import (
    AlreadyExists,
    InvalidKey,
    NotFound,
    StoreError,
    StoreUnavailable,
    normalize_prefix,
    validate_key,
)

__all__ = ["LocalStore"]

_TMP_DIR = ".tmp"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not supported on this platform/filesystem; best effort
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LocalStore:
    """An :class:`~sitereg.storage.base.ObjectStore` backed by a directory."""

    def __init__(self, root: Path | str) -> None:
        self._display_root = Path(root)
        try:
            Path(root).mkdir(parents=True, exist_ok=True)
            self.root = Path(root).resolve(strict=True)
            (self.root / _TMP_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use local directory {root}: {exc}") from exc

    # -- helpers -----------------------------------------------------------
    def _path(self, key: str) -> Path:
        validate_key(key)
        path = self.root.joinpath(*key.split("/"))
        # Resolve symlinks (non-strict: missing tail is fine) and refuse any
        # path that ends up outside root, e.g. through a symlink inside root.
        resolved = path.resolve(strict=False)
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise InvalidKey(f"key {key!r} resolves outside the store root")
        if resolved == self.root:
            raise InvalidKey(f"key {key!r} resolves to the store root")
        return resolved

    def _write_temp(self, data: bytes) -> Path:
        tmp_dir = self.root / _TMP_DIR
        tmp_dir.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="w-", suffix=".part")
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quiet(Path(name))
            raise
        os.close(fd)
        return Path(name)

    def _ensure_parent(self, key: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StoreError(
                f"key {key!r} conflicts with an existing object at a parent path"
            ) from exc

    # -- ObjectStore -------------------------------------------------------
    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        try:
            self._ensure_parent(key, path)
            tmp = self._write_temp(data)
            try:
                os.replace(tmp, path)
            except IsADirectoryError as exc:
                raise StoreError(f"key {key!r} conflicts with an existing key prefix") from exc
            finally:
                _unlink_quiet(tmp)
            _fsync_dir(path.parent)
        except StoreError:
            raise
        except OSError as exc:
            raise _os_error(key, exc) from exc

    def create(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        try:
            self._ensure_parent(key, path)
            if path.is_dir():
                raise StoreError(f"key {key!r} conflicts with an existing key prefix")
            tmp = self._write_temp(data)
            try:
                # link(2) fails with EEXIST if the target exists: atomic write-once,
                # even against concurrent creators in other threads/processes.
                os.link(tmp, path)
            except FileExistsError as exc:
                raise AlreadyExists(f"key {key!r} already exists") from exc
            finally:
                _unlink_quiet(tmp)
            _fsync_dir(path.parent)
        except StoreError:
            raise
        except OSError as exc:
            raise _os_error(key, exc) from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"key {key!r} not found") from exc
        except OSError as exc:
            raise _os_error(key, exc) from exc

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as exc:
            raise _os_error(key, exc) from exc

    def _walk(self, prefix: str):
        """(key, path) of every object under ``prefix``; temp files and escaping links skipped."""
        norm = normalize_prefix(prefix)
        base = self._path(norm[:-1]) if norm else self.root
        try:
            if not base.is_dir():
                return
            for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
                here = Path(dirpath)
                if here == self.root:
                    dirnames[:] = [d for d in dirnames if d != _TMP_DIR]
                rel_dir = here.relative_to(self.root)
                for name in filenames:
                    full = here / name
                    if full.is_symlink():
                        target = full.resolve()
                        if not target.is_relative_to(self.root) or not target.is_file():
                            continue
                    yield "/".join((*rel_dir.parts, name)), full
        except OSError as exc:
            raise StoreUnavailable(f"cannot list {self.describe()}: {exc}") from exc

    def list(self, prefix: str) -> list[str]:
        return sorted(key for key, _ in self._walk(prefix))

    def versions(self, prefix: str) -> dict[str, str]:
        out = {}
        try:
            for key, path in self._walk(prefix):
                st = path.stat()
                out[key] = f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
        except FileNotFoundError:
            return self.versions(prefix)  # replaced while listing: list again
        except OSError as exc:
            raise StoreUnavailable(f"cannot list {self.describe()}: {exc}") from exc
        return out

    def check(self) -> None:
        root = self.root
        if not root.is_dir():
            raise StoreUnavailable(f"{self.describe()} does not exist or is not a directory")
        if not os.access(root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"{self.describe()} is not writable")
        tmp_dir = root / _TMP_DIR
        try:
            tmp_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"{self.describe()}: cannot create temp dir: {exc}") from exc

    def describe(self) -> str:
        return f"local directory {self._display_root}"

    def __repr__(self) -> str:
        return f"LocalStore({str(self._display_root)!r})"


def _unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass


def _os_error(key: str, exc: OSError) -> Exception:
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidKey(f"key {key!r} is too long for the filesystem")
    return StoreUnavailable(f"local store I/O error for key {key!r}: {exc}")
