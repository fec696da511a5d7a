"""Object storage: a write-once-capable key/value store on a local directory or S3.

Public names::

    StoreError, NotFound, AlreadyExists, StoreUnavailable, InvalidKey,
    ObjectStore, LocalStore, S3Store, validate_key
"""

from .base import (
    AlreadyExists,
    InvalidKey,
    NotFound,
    ObjectStore,
    StoreError,
    StoreUnavailable,
    validate_key,
)
from .local import LocalStore
from .s3 import S3Store

__all__ = [
    "AlreadyExists",
    "InvalidKey",
    "LocalStore",
    "NotFound",
    "ObjectStore",
    "S3Store",
    "StoreError",
    "StoreUnavailable",
    "validate_key",
]
