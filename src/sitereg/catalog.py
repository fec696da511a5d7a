"""Projects, tokens and upload receipts, kept as small JSON objects in the object store.

Keys (all under the one bucket / data directory):
  meta/projects/{code}.json                    project record (write-once)
  meta/tokens/{sha256 of token}.json           role and scope; the token itself is never stored
  meta/uploads/{upload_id}.json                receipt, written after the original and tables
  index/{kind}/project={p}/period={yyyy-mm}/{upload_id}
                                               visibility marker, written last: an upload is
                                               current only once its receipt exists
  meta/dedupe/project={p}/kind={k}/period={yyyy-mm}/{sha256}.json
                                               byte-identical re-upload -> existing receipt
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from typing import Literal

import msgspec

from sitereg.storage import AlreadyExists, NotFound, ObjectStore
from sitereg.validate import checks

ROLES = ("admin", "contractor", "bank", "bureau")
PROJECT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Guarantee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    form: Literal["cash", "bank_guarantee", "insurance", "exempt"]
    amount: str | None = None


class Project(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: str
    region_code: str
    investment_type: Literal["government", "state_owned", "other"]
    contractor_credit_code: str
    dedicated_account: str | None = None
    account_bank: str | None = None
    guarantee: Guarantee | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    status: Literal["active", "completed"] = "active"
    notice_board: bool = False


class TokenRecord(msgspec.Struct, frozen=True):
    role: str
    scope: tuple[str, ...]
    created_at: dt.datetime
    label: str | None = None


class Receipt(msgspec.Struct, frozen=True):
    upload_id: str
    project: str
    period: str
    kind: str
    filename: str
    sha256: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    errors: int
    warnings: int
    infos: int
    report: str
    status: Literal["accepted", "unreadable"]
    created_at: dt.datetime
    size: int
    uploaded_by: str
    original_key: str
    table_key: str | None
    findings_key: str


def project_problems(p: Project) -> list[tuple[str, str, str]]:
    """(field, zh, en) for each field of a project body that cannot be right."""
    out = []
    if not PROJECT_CODE.match(p.code):
        out.append(("code", "项目编码只能包含字母、数字、点、下划线和连字符（最多 64 位）",
                    "code may hold letters, digits, '.', '_' and '-' only (at most 64)"))
    if not re.fullmatch(r"[1-8]\d{5}", p.region_code):
        out.append(("region_code", "行政区划代码应为 6 位数字", "region_code must be a 6-digit administrative code"))
    if not _credit_ok(p.contractor_credit_code):
        out.append(("contractor_credit_code", "总包单位统一社会信用代码无效", "contractor_credit_code is not a valid credit code"))
    if p.dedicated_account is not None and not re.fullmatch(r"\d{6,32}", p.dedicated_account):
        out.append(("dedicated_account", "专用账户账号应为 6-32 位数字", "dedicated_account must be 6-32 digits"))
    if p.guarantee and p.guarantee.amount is not None and not re.fullmatch(r"\d+(\.\d{1,2})?", p.guarantee.amount):
        out.append(("guarantee.amount", "保证金金额应为最多两位小数的数字字符串", "guarantee.amount must be a decimal string"))
    if p.start_date and p.end_date and p.end_date < p.start_date:
        out.append(("end_date", "竣工日期早于开工日期", "end_date is before start_date"))
    return out


def _credit_ok(code: str) -> bool:
    import polars as pl

    return bool(pl.select(checks.credit_code_valid(pl.lit(code))).item())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Catalog:
    """Typed access to the JSON records of the store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._projects: dict[str, Project] = {}
        self._listed: tuple[float, list[Project]] = (float("-inf"), [])

    # -- projects
    def create_project(self, project: Project) -> bool:
        try:
            self.store.create(f"meta/projects/{project.code}.json", msgspec.json.encode(project), content_type="application/json")
        except AlreadyExists:
            return False
        return True

    def project(self, code: str) -> Project | None:
        if not PROJECT_CODE.match(code):
            return None
        try:
            return msgspec.json.decode(self.store.get(f"meta/projects/{code}.json"), type=Project)
        except NotFound:
            return None

    def projects(self, max_age: float = 0.0) -> list[Project]:
        """Every project. Records are write-once, so each is read from the store once; the
        listing itself is reused for ``max_age`` seconds (region views)."""
        if max_age and time.monotonic() - self._listed[0] < max_age:
            return self._listed[1]
        keys = [k for k in self.store.list("meta/projects/") if k.endswith(".json")]
        for key in keys:
            if key not in self._projects:
                self._projects[key] = msgspec.json.decode(self.store.get(key), type=Project)
        self._listed = (time.monotonic(), [self._projects[k] for k in keys])
        return self._listed[1]

    # -- tokens
    def issue_token(self, role: str, scope: tuple[str, ...], label: str | None = None) -> str:
        token = "srg_" + secrets.token_urlsafe(32)
        record = TokenRecord(role, scope, dt.datetime.now(dt.UTC).replace(microsecond=0), label)
        self.store.create(f"meta/tokens/{hash_token(token)}.json", msgspec.json.encode(record), content_type="application/json")
        return token

    def token(self, token: str) -> TokenRecord | None:
        try:
            return msgspec.json.decode(self.store.get(f"meta/tokens/{hash_token(token)}.json"), type=TokenRecord)
        except NotFound:
            return None

    # -- uploads
    def save_receipt(self, receipt: Receipt) -> None:
        self.store.create(f"meta/uploads/{receipt.upload_id}.json", msgspec.json.encode(receipt), content_type="application/json")

    def receipt(self, upload_id: str) -> Receipt | None:
        if not re.fullmatch(r"U\d{20}[0-9a-f]{6}", upload_id):
            return None
        try:
            return msgspec.json.decode(self.store.get(f"meta/uploads/{upload_id}.json"), type=Receipt)
        except NotFound:
            return None

    def dedupe_key(self, project: str, kind: str, period: str, sha256: str) -> str:
        return f"meta/dedupe/project={project}/kind={kind}/period={period}/{sha256}.json"

    def find_duplicate(self, project: str, kind: str, period: str, sha256: str) -> Receipt | None:
        try:
            upload_id = msgspec.json.decode(self.store.get(self.dedupe_key(project, kind, period, sha256)))["upload_id"]
        except NotFound:
            return None
        return self.receipt(upload_id)

    def publish(self, receipt: Receipt) -> None:
        """Make an upload findable by hash and, when accepted, current (its marker is the last write)."""
        if receipt.status == "accepted":
            self.store.put(f"index/{receipt.kind}/project={receipt.project}/period={receipt.period}/{receipt.upload_id}", b"")
            if receipt.kind in ("attendance", "payments"):
                mark_period(self.store, receipt.project, receipt.period)
        self.store.put(self.dedupe_key(receipt.project, receipt.kind, receipt.period, receipt.sha256),
                       msgspec.json.encode({"upload_id": receipt.upload_id}))

    def upload_ids(self, kind: str, project: str, period: str | None = None) -> list[tuple[str, str]]:
        """(period, upload_id) of published uploads, oldest first."""
        prefix = f"index/{kind}/project={project}/" + (f"period={period}/" if period else "")
        out = []
        for key in self.store.list(prefix):
            parts = key.split("/")
            out.append((parts[-2].removeprefix("period="), parts[-1]))
        return sorted(out)

    def current_upload(self, kind: str, project: str, period: str) -> str | None:
        """The newest upload of the period; roster and contracts fall back to the latest earlier period."""
        own = self.upload_ids(kind, project, period)
        if own:
            return own[-1][1]
        if kind in ("roster", "contracts"):
            earlier = [(p, u) for p, u in self.upload_ids(kind, project) if p < period]
            if earlier:
                return max(earlier)[1]
        return None


def mark_period(store: ObjectStore, project: str, period: str) -> None:
    """Note that a project has attendance or payments in a month, so cross-project checks list
    one month's projects instead of every upload ever made."""
    store.put(f"byperiod/period={period}/project={project}", b"")


def projects_in_period(store: ObjectStore, period: str) -> list[str]:
    return [key.rsplit("/", 1)[1].removeprefix("project=") for key in store.list(f"byperiod/period={period}/")]


def new_upload_id(now: dt.datetime | None = None) -> str:
    """Time-ordered and unique: 'U' + UTC timestamp to the microsecond + 6 random hex digits."""
    now = now or dt.datetime.now(dt.UTC)
    return "U" + now.strftime("%Y%m%d%H%M%S%f") + secrets.token_hex(3)
