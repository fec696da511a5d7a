"""Choose the object store the settings describe: S3 when an endpoint is set, else a local directory."""

from __future__ import annotations

from pathlib import Path

from sitereg.settings import Settings
from sitereg.storage import LocalStore, ObjectStore, S3Store


def open_store(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint:
        return S3Store(settings.s3_endpoint, settings.s3_access_key or "", settings.s3_secret_key or "",
                       settings.s3_bucket, region=settings.s3_region)
    return LocalStore(Path(settings.data_dir))
