"""Every key of the object store, built here and nowhere else.

The bucket is the record: originals as sent, the Parquet row tables, and one write-once JSON
object per fact (project, token hash, receipt, batch receipt, audit event) from which
``sitereg rebuild-index`` rebuilds the database. What is current, unique or claimed lives in
the database, not in keys. Partitions are Hive-style (``name=value``) so that DuckDB, Trino or
Spark can scan the tables directly.

  originals/project={p}/period={m}/kind={k}/{upload}{ext}    an upload as sent (write-once, first)
  originals/bank/payer={account}/batch={batch}.json           a bank batch as received (write-once, first)
  tables/{kind}/project={p}/period={m}/upload={upload}.parquet accepted rows of an upload
  tables/bank/project={p}/period={m}/batch={batch}.parquet    accepted records of a bank batch
  findings/upload={upload}.parquet                            an upload's file findings
  reports/upload={upload}/report-{lang}.xlsx                  its annotated workbook (a cache)
  meta/projects/{code}.json                                   a project as registered (write-once)
  meta/tokens/{sha256}.json                                   a token's role and scope, never the token
  meta/uploads/{upload}.json                                  an upload's receipt (write-once)
  meta/batches/payer={account}/{batch}.json                   a batch's receipt
  meta/current/{time}-{upload}.json                           an earlier upload made current again (re-sent)
  audit/date={yyyy-mm-dd}/{hhmmss…}-{random}.json             one audit event (write-once)
"""

from __future__ import annotations

import datetime as dt

ORIGINAL_EXTENSIONS = frozenset({".xlsx", ".csv", ".txt", ".xls", ".xlsm"})


def original(project: str, period: str, kind: str, upload_id: str, ext: str) -> str:
    ext = ext.lower() if ext.lower() in ORIGINAL_EXTENSIONS else ".bin"
    return f"originals/project={project}/period={period}/kind={kind}/{upload_id}{ext}"


def bank_original(payer: str, batch_id: str) -> str:
    return f"{BANK_ORIGINALS}payer={payer}/batch={batch_id}.json"


def table(kind: str, project: str, period: str, upload_id: str) -> str:
    return f"tables/{kind}/project={project}/period={period}/upload={upload_id}.parquet"


def bank_table(project: str, period: str, batch_id: str) -> str:
    return f"{BANK_TABLES}project={project}/period={period}/batch={batch_id}.parquet"


def hive_parts(key: str) -> dict[str, str]:
    """The ``name=value`` parts of a key (a bank table's project, period and batch)."""
    return dict(p.split("=", 1) for p in key.rsplit(".", 1)[0].split("/") if "=" in p)


def findings(upload_id: str) -> str:
    return f"findings/upload={upload_id}.parquet"


def report(upload_id: str, lang: str) -> str:
    return f"reports/upload={upload_id}/report-{lang}.xlsx"


BANK_ORIGINALS = "originals/bank/"
BANK_TABLES = "tables/bank/"
PROJECTS = "meta/projects/"
TOKENS = "meta/tokens/"
RECEIPTS = "meta/uploads/"
BATCH_RECEIPTS = "meta/batches/"
AUDIT = "audit/"
CURRENT_SWITCHES = "meta/current/"


def project(code: str) -> str:
    return f"{PROJECTS}{code}.json"


def token(token_hash: str) -> str:
    return f"{TOKENS}{token_hash}.json"


def receipt(upload_id: str) -> str:
    return f"{RECEIPTS}{upload_id}.json"


def batch_receipt(payer: str, batch_id: str) -> str:
    return f"{BATCH_RECEIPTS}payer={payer}/{batch_id}.json"


def current_switch(at: dt.datetime, upload_id: str) -> str:
    return f"{CURRENT_SWITCHES}{at.strftime('%Y%m%dT%H%M%S%f')}-{upload_id}.json"


def audit_event(at: dt.datetime, suffix: str) -> str:
    return f"{AUDIT}date={at.date().isoformat()}/{at.strftime('%H%M%S%f')}-{suffix}.json"
