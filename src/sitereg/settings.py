"""Service settings: one frozen Struct read from ``SITEREG_*`` environment variables.

Built once by the CLI (or a test) and passed explicitly into ``create_app``; nothing
reads the environment at import time.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
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
    # State (projects, receipts, current uploads, claims, audit): None keeps a SQLite file
    # sitereg.db in data_dir; a postgresql://user:password@host:port/db URL serves several hosts.
    database_url: str | None = None
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
    overpaid_ratio: float = 1.5
    report_limit: int = 1000
    # report.xlsx is built once per upload and language in a child process with these limits,
    # at most report_workers at a time; an original over report_max_cells is refused (413).
    report_max_cells: int = 5_000_000
    report_memory_mb: int = 1024
    report_seconds: float = 60.0
    report_workers: int = 2
    log_level: str = "INFO"
    # The one clock: "today", pay deadlines and dates in the future are judged in this zone
    # (in UTC, 00:00-08:00 Beijing time would call today's date "in the future").
    timezone: str = "Asia/Shanghai"
    # The server closes a connection whose request headers are not complete this long after
    # their first byte, one silent this long while sending a body, and an idle keep-alive one.
    header_timeout_seconds: float = 10.0
    body_idle_seconds: float = 30.0
    keepalive_seconds: float = 5.0


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
    if s.database_url is not None and not s.database_url.startswith(
            ("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
        raise SettingsError("SITEREG_DATABASE_URL must be a sqlite: or postgresql://user:password@host:port/dbname URL")
    for name in ("max_upload_bytes", "max_rows", "max_xml_bytes", "report_limit", "reader_memory_mb", "reader_seconds",
                 "header_timeout_seconds", "body_idle_seconds", "keepalive_seconds",
                 "report_max_cells", "report_memory_mb", "report_seconds", "report_workers"):
        if getattr(s, name) <= 0:
            raise SettingsError(f"{PREFIX}{name.upper()} must be a positive integer")
    if s.overpaid_ratio <= 1:
        raise SettingsError("SITEREG_OVERPAID_RATIO must be greater than 1")
    try:
        zoneinfo.ZoneInfo(s.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SITEREG_TIMEZONE: unknown time zone {s.timezone!r} (e.g. Asia/Shanghai)") from None
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError("SITEREG_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")


def today_in(settings: Settings) -> dt.date:
    """Today's date where the projects are (SITEREG_TIMEZONE), not where the server's clock is."""
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).date()
