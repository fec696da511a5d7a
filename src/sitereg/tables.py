"""Parquet tables in the object store, under Hive-style keys that any engine can scan.

  tables/{kind}/project={p}/period={yyyy-mm}/upload={id}.parquet   accepted rows of one upload
  findings/upload={id}.parquet                                     that upload's file findings
"""

from __future__ import annotations

import io

import polars as pl

from sitereg.storage import ObjectStore


def table_key(kind: str, project: str, period: str, upload_id: str) -> str:
    return f"tables/{kind}/project={project}/period={period}/upload={upload_id}.parquet"


def findings_key(upload_id: str) -> str:
    return f"findings/upload={upload_id}.parquet"


def write(store: ObjectStore, key: str, frame: pl.DataFrame) -> None:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=True)
    store.put(key, buf.getvalue(), content_type="application/vnd.apache.parquet")


def read(store: ObjectStore, key: str, columns: list[str] | None = None) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(store.get(key)), columns=columns)
