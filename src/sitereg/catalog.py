"""The service's state: the database (what is current, unique, claimed) and the bucket (the
record: one write-once JSON object per fact, from which ``sitereg rebuild-index`` rebuilds the
database). Every fact is written to the bucket first, then to the database, so a database lost
or behind is recovered from the bucket and nothing acknowledged exists only in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import msgspec

from sitereg import grammar as g
from sitereg import keys
from sitereg.db import Database
from sitereg.records import Event, Guarantee, Project, Receipt, TokenRecord
from sitereg.storage import ObjectStore
from sitereg.validate import checks

__all__ = ["Catalog", "Event", "Guarantee", "Project", "Receipt", "TokenRecord", "hash_token", "new_upload_id",
           "project_problems"]

ROLES = ("admin", "contractor", "bank", "bureau")


def project_problems(p: Project) -> list[tuple[str, str, str]]:
    """(field, zh, en) for each field of a project body that cannot be right."""
    out = []
    if not g.PROJECT_CODE.ok(p.code):
        out.append(("code", "项目编码只能包含字母、数字、点、下划线和连字符（最多 64 位）",
                    "code may hold letters, digits, '.', '_' and '-' only (at most 64)"))
    if not g.text_ok(p.name):
        out.append(("name", f"项目名称应为 1-{g.MAX_TEXT} 个字符，不含控制字符",
                    f"name must be 1-{g.MAX_TEXT} characters without control characters"))
    if not g.REGION_CODE.ok(p.region_code):
        out.append(("region_code", "行政区划代码应为 6 位半角数字", "region_code must be a 6-digit administrative code (ASCII digits)"))
    if not g.CREDIT_CODE.ok(p.contractor_credit_code) or not credit_code_ok(p.contractor_credit_code):
        out.append(("contractor_credit_code", "总包单位统一社会信用代码无效", "contractor_credit_code is not a valid credit code"))
    if p.dedicated_account is not None and not g.ACCOUNT.ok(p.dedicated_account):
        out.append(("dedicated_account", "专用账户账号应为 6-32 位数字", "dedicated_account must be 6-32 digits"))
    if p.account_bank is not None and not g.text_ok(p.account_bank):
        out.append(("account_bank", f"开户银行应为 1-{g.MAX_TEXT} 个字符，不含控制字符",
                    f"account_bank must be 1-{g.MAX_TEXT} characters without control characters"))
    if p.guarantee and p.guarantee.amount is not None and not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,2})?", p.guarantee.amount):
        out.append(("guarantee.amount", "保证金金额应为最多两位小数的数字字符串", "guarantee.amount must be a decimal string"))
    if p.start_date and p.end_date and p.end_date < p.start_date:
        out.append(("end_date", "竣工日期早于开工日期", "end_date is before start_date"))
    return out


def credit_code_ok(code: str) -> bool:
    import polars as pl

    return bool(pl.select(checks.credit_code_valid(pl.lit(code))).item())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Catalog:
    """Typed access to the state: reads from the database; writes to the bucket, then the database."""

    def __init__(self, store: ObjectStore, db: Database) -> None:
        self.store = store
        self.db = db
        self._projects: dict[str | None, tuple[int, list[Project]]] = {}

    # -- projects
    def create_project(self, project: Project) -> bool:
        if not self.db.create_project(project):
            return False
        self.store.put(keys.project(project.code), msgspec.json.encode(project), content_type="application/json")
        return True

    def project(self, code: str) -> Project | None:
        return self.db.project(code) if g.PROJECT_CODE.ok(code) else None

    def projects(self, region_prefix: str | None = None) -> list[Project]:
        """Projects are write-once (never changed or deleted), so a decoded list stays right
        while the number of projects is the same: one count instead of decoding thousands."""
        count = self.db.project_count()
        hit = self._projects.get(region_prefix)
        if hit is not None and hit[0] == count:
            return hit[1]
        listed = self.db.projects(region_prefix)
        if len(self._projects) > 64:
            self._projects.clear()
        self._projects[region_prefix] = (count, listed)
        return listed

    # -- tokens
    def issue_token(self, role: str, scope: tuple[str, ...], label: str | None = None) -> str:
        token = "srg_" + secrets.token_urlsafe(32)
        record = TokenRecord(role, scope, dt.datetime.now(dt.UTC).replace(microsecond=0), label)
        self.store.create(keys.token(hash_token(token)), msgspec.json.encode(record), content_type="application/json")
        self.db.save_token(hash_token(token), record)
        return token

    def token(self, token: str) -> TokenRecord | None:
        return self.db.token(hash_token(token))

    # -- uploads
    def save_receipt(self, receipt: Receipt) -> Receipt:
        """Keep the receipt; when the same bytes raced in for the same project, kind and period,
        the one the database kept is returned (compare its upload id with yours)."""
        self.store.create(keys.receipt(receipt.upload_id), msgspec.json.encode(receipt), content_type="application/json")
        return self.db.add_upload(receipt)

    def receipt(self, upload_id: str) -> Receipt | None:
        return self.db.receipt(upload_id) if g.UPLOAD_ID.ok(upload_id) else None

    def find_duplicate(self, project: str, kind: str, period: str, sha256: str) -> Receipt | None:
        return self.db.find_duplicate(project, kind, period, sha256)

    def publish(self, receipt: Receipt) -> None:
        """Make an accepted upload current for its project, period and kind (one transaction),
        marking the period's derived rows as behind until the recheck that follows."""
        if receipt.status == "accepted":
            self.db.mark_pending(receipt.project, receipt.period)
            self.db.make_current(receipt.upload_id)

    def make_current_again(self, receipt: Receipt) -> None:
        """An earlier upload becomes current again (its bytes were sent again). The switch is a
        fact of its own in the bucket, so a rebuilt database replays it after the receipts."""
        at = dt.datetime.now(dt.UTC)
        self.store.create(keys.current_switch(at, receipt.upload_id),
                          msgspec.json.encode({"upload_id": receipt.upload_id, "at": at, "reason": "resent"}),
                          content_type="application/json")
        self.db.mark_pending(receipt.project, receipt.period)
        self.db.make_current(receipt.upload_id, reason="resent")

    def current_upload(self, kind: str, project: str, period: str) -> str | None:
        return self.db.current_upload(kind, project, period)

    def current_uploads(self, project: str, period: str) -> dict[str, str]:
        return self.db.current_uploads(project, period)

    # -- audit
    def record(self, event: Event) -> None:
        self.store.create(keys.audit_event(event.at, secrets.token_hex(4)), msgspec.json.encode(event),
                          content_type="application/json")
        self.db.append_audit(event)


def new_upload_id(now: dt.datetime | None = None) -> str:
    """Unique, and roughly time-ordered for people reading keys; order of arrival is the database's."""
    now = now or dt.datetime.now(dt.UTC)
    return "U" + now.strftime("%Y%m%d%H%M%S%f") + secrets.token_hex(3)
