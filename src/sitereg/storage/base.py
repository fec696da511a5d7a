"""Object-store errors, the ``ObjectStore`` protocol and key validation.

Keys are ``/``-separated strings such as
``originals/project=P1/period=2026-10/kind=roster/01J....xlsx``. Every store
validates keys with :func:`validate_key` before touching storage, so a key that
one backend accepts is accepted by all of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "RESERVED_TOP_SEGMENTS",
    "AlreadyExists",
    "InvalidKey",
    "NotFound",
    "ObjectStore",
    "StoreError",
    "StoreUnavailable",
    "normalize_prefix",
    "validate_key",
]

#: S3's limit for object names (UTF-8 bytes).
MAX_KEY_BYTES = 1024
#: Common filesystem limit for one path component (ext4, xfs, apfs...).
MAX_SEGMENT_BYTES = 255
#: First segments a key may not use: ``.tmp`` holds LocalStore's temp files.
RESERVED_TOP_SEGMENTS = frozenset({".tmp"})


class StoreError(Exception):
    """Base class for object-store failures."""


class NotFound(StoreError):
    """The key does not exist (S3 ``NoSuchKey`` maps to this)."""


class AlreadyExists(StoreError):
    """A write-once ``create`` found the key already present; nothing was written."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refuses us (connection refused, timeout,
    5xx, bad credentials, missing bucket, unwritable directory).

    Callers should answer 503: the request may succeed later.
    """


class InvalidKey(ValueError):
    """The key is malformed or would escape the store's namespace."""


@runtime_checkable
class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        """Create or replace ``key`` (for derived data)."""
        ...

    def create(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        """Write-once: store ``data`` at ``key`` unless the key exists.

        Raises :class:`AlreadyExists` (and leaves the existing object untouched)
        if it does. Concurrent creates of one key yield exactly one success.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the object's bytes; :class:`NotFound` if missing."""
        ...

    def exists(self, key: str) -> bool: ...

    def versions(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` with a token that changes whenever the object is replaced
        (local: mtime and size; S3: the ETag), so readers can cache what did not change."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (recursive), sorted ascending.

        ``prefix`` is segment-wise: ``"a/b"`` (or ``"a/b/"``) matches ``a/b/x``
        and ``a/b/c/d`` but not ``a/bc/x``. ``""`` lists everything.
        """
        ...

    def check(self) -> None:
        """Cheap reachability probe; raises :class:`StoreUnavailable`."""
        ...

    def describe(self) -> str:
        """Human-readable location without secrets."""
        ...


def _is_control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or 0x7F <= o <= 0x9F


def validate_key(key: object) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidKey`.

    Refused: non-str, empty, longer than 1024 UTF-8 bytes, not encodable as
    UTF-8 (lone surrogates), leading ``/``, trailing ``/``, empty segments
    (``a//b``), ``.``/``..`` segments, backslashes, NUL/control characters,
    segments longer than 255 bytes, and the reserved first segment ``.tmp``.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"key must be str, not {type(key).__name__}")
    if not key:
        raise InvalidKey("key is empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKey(f"key is not valid UTF-8: {key!r}") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"key is {len(encoded)} bytes, limit is {MAX_KEY_BYTES}")
    if any(_is_control(ch) for ch in key):
        raise InvalidKey(f"key contains a control character: {key!r}")
    if "\\" in key:
        raise InvalidKey(f"key contains a backslash: {key!r}")
    if key.startswith("/"):
        raise InvalidKey(f"key starts with '/': {key!r}")
    segments = key.split("/")
    for seg in segments:
        if seg == "":
            raise InvalidKey(f"key has an empty segment: {key!r}")
        if seg in (".", ".."):
            raise InvalidKey(f"key has a {seg!r} segment: {key!r}")
        if len(seg.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"key segment longer than {MAX_SEGMENT_BYTES} bytes: {key!r}")
    if segments[0] in RESERVED_TOP_SEGMENTS:
        raise InvalidKey(f"key uses reserved top-level segment {segments[0]!r}: {key!r}")
    return key


def normalize_prefix(prefix: object) -> str:
    """Validate a list prefix; return ``""`` (everything) or ``"seg/.../seg/"``.

    A single trailing ``/`` is accepted (``"a/b/"`` == ``"a/b"``); otherwise the
    prefix must be a valid key.
    """
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be str, not {type(prefix).__name__}")
    if prefix == "":
        return ""
    body = prefix[:-1] if prefix.endswith("/") else prefix
    try:
        validate_key(body)
    except InvalidKey as exc:
        raise InvalidKey(f"invalid prefix {prefix!r}: {exc}") from None
    return body + "/"
