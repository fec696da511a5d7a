"""Service settings: one frozen Struct read from ``SITEREG_*`` environment variables.

Built once by the CLI (or a test) and passed explicitly into ``create_app``; nothing
reads the environment at import time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import msgspec

PREFIX = "SITEREG_"


class AgeLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Upper age limit for site work in a region (prefix of the 6-digit region code)."""

    region_prefix: str = ""
    effective: dt.date = dt.date(1970, 1, 1)
    men: int = 60
    women: int = 50


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    data_dir: str = "./sitereg-data"
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "sitereg"
    s3_region: str | None = None
    max_upload_bytes: int = 50_000_000
    max_rows: int = 1_048_576
    # Inflated xlsx members are counted while reading; past this the file is refused.
    max_xml_bytes: int = 400_000_000
    # Per-region age limits; the most specific prefix whose effective date has passed wins.
    age_limits: tuple[AgeLimit, ...] = (AgeLimit(),)
    # Files are read in a child process with these limits, so a reader crash or blow-up costs
    # one child, not the API process (set SITEREG_READER_ISOLATION=false to read in-process).
    reader_isolation: bool = True
    reader_memory_mb: int = 4096
    reader_seconds: float = 120.0
    # Region views (coverage, risks) may lag uploads by this much: their listings are reused
    # for this long. 0 lists the store on every request.
    region_cache_seconds: float = 2.0
    overpaid_ratio: float = 1.5
    report_limit: int = 1000
    log_level: str = "INFO"


class SettingsError(ValueError):
    """A ``SITEREG_*`` variable is unknown or has a bad value; start-up stops."""


_JSON_FIELDS = {"age_limits"}


def load_settings(env: Mapping[str, str]) -> Settings:
    raw: dict[str, object] = {}
    for key, value in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX):].lower()
        if name in _JSON_FIELDS:
            try:
                raw[name] = msgspec.json.decode(value)
            except msgspec.DecodeError as exc:
                raise SettingsError(f"{key}: not valid JSON ({exc})") from None
        else:
            raw[name] = value if value != "" else None
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        known = ", ".join(PREFIX + f.upper() for f in Settings.__struct_fields__)
        # Name the variable as the operator wrote it, not msgspec's JSON path.
        text = re.sub(r"\$\.(\w+)", lambda m: PREFIX + m.group(1).upper(), str(exc))
        text = re.sub(r"unknown field `(\w+)`", lambda m: f"unknown variable {PREFIX}{m.group(1).upper()}", text)
        raise SettingsError(f"{text}. Known variables: {known}") from None
    _check(settings)
    return settings


def _check(s: Settings) -> None:
    if s.s3_endpoint is not None:
        if not s.s3_endpoint.startswith(("http://", "https://")):
            raise SettingsError("SITEREG_S3_ENDPOINT must be a URL such as http://127.0.0.1:9000")
        if not s.s3_access_key or not s.s3_secret_key:
            raise SettingsError("SITEREG_S3_ACCESS_KEY and SITEREG_S3_SECRET_KEY are required with SITEREG_S3_ENDPOINT")
    for name in ("max_upload_bytes", "max_rows", "max_xml_bytes", "report_limit", "reader_memory_mb", "reader_seconds"):
        if getattr(s, name) <= 0:
            raise SettingsError(f"{PREFIX}{name.upper()} must be a positive integer")
    if s.overpaid_ratio <= 1:
        raise SettingsError("SITEREG_OVERPAID_RATIO must be greater than 1")
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError("SITEREG_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
