"""Parquet tables in the object store (their keys are built in ``sitereg.keys``)."""

from __future__ import annotations

import io

import polars as pl

from sitereg.storage import ObjectStore


def write(store: ObjectStore, key: str, frame: pl.DataFrame) -> None:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=True)
    store.put(key, buf.getvalue(), content_type="application/vnd.apache.parquet")


def read(store: ObjectStore, key: str, columns: list[str] | None = None) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(store.get(key)), columns=columns)
