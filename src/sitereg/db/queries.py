"""``Database``: every read and write of the service's state, each call its own transaction.

Uniqueness is left to the database: inserts say ON CONFLICT DO NOTHING (or DO UPDATE ... WHERE
for versioned rows) and then read back what is stored, so two processes racing on the same key
end with one row and both learn which. Methods are plain, synchronous and thread-safe (the
engine pools connections; nothing else is shared).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Connection, Engine, Table, cast, delete, func, insert, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from sitereg.db import schema as t
from sitereg.db.engine import DatabaseUnavailable, transaction
from sitereg.grammar import add_months
from sitereg.records import Event, Project, Receipt, TokenRecord

# Kinds whose current upload carries over to later periods until a newer one is made current.
CARRY_OVER = ("roster", "contracts")
_CHUNK = 1000  # ids per IN (...) list, well under both databases' parameter limits


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _inserted(c, stmt) -> bool:
    """Whether an INSERT ... ON CONFLICT wrote its row. Asked through RETURNING, because the
    row count of an INSERT is not passed on for every driver (psycopg's reads -1)."""
    return c.execute(stmt.returning(literal_column("1"))).first() is not None


def _decode_all(texts: Iterable[str], type: Any = Any) -> list[Any]:
    """Decode many JSON documents in one msgspec call."""
    return msgspec.json.decode("[" + ",".join(texts) + "]", type=list[type])


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def close(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        return self.engine.dialect.name

    def check(self) -> None:
        try:
            with transaction(self.engine) as c:
                c.execute(select(1))
        except OperationalError as exc:
            raise DatabaseUnavailable(f"the {self.describe()} database cannot be reached: {exc.orig}") from exc

    def _read(self):
        return transaction(self.engine)

    def _write(self):
        return transaction(self.engine, write=True)

    # -- projects
    def create_project(self, p: Project) -> bool:
        """False when the code is taken (the primary key decides, also between processes)."""
        stmt = self._insert(t.projects).values(code=p.code, region_code=p.region_code, name=p.name,
                                               contractor_credit_code=p.contractor_credit_code, body=_json(p),
                                               start_date=_iso(p.start_date), end_date=_iso(p.end_date))
        with self._write() as c:
            return _inserted(c, stmt.on_conflict_do_nothing())

    def project_count(self) -> int:
        with self._read() as c:
            return int(c.scalar(select(func.count()).select_from(t.projects)))

    def project(self, code: str) -> Project | None:
        with self._read() as c:
            body = c.scalar(select(t.projects.c.body).where(t.projects.c.code == code))
        return None if body is None else msgspec.json.decode(body, type=Project)

    def projects(self, region_prefix: str | None = None, codes: list[str] | None = None) -> list[Project]:
        q = select(t.projects.c.body).order_by(t.projects.c.code)
        if region_prefix:
            q = q.where(t.projects.c.region_code.startswith(region_prefix, autoescape=True))
        if codes is not None:
            q = q.where(t.projects.c.code.in_(codes))
        with self._read() as c:
            return _decode_all(c.scalars(q), Project)

    # -- tokens
    def save_token(self, token_hash: str, rec: TokenRecord) -> bool:
        """Write-once: False (and the first record kept) when the hash is already stored."""
        stmt = self._insert(t.tokens).values(token_hash=token_hash, body=_json(rec)).on_conflict_do_nothing()
        with self._write() as c:
            return _inserted(c, stmt)

    def token(self, token_hash: str) -> TokenRecord | None:
        with self._read() as c:
            body = c.scalar(select(t.tokens.c.body).where(t.tokens.c.token_hash == token_hash))
        return None if body is None else msgspec.json.decode(body, type=TokenRecord)

    # -- uploads
    def add_upload(self, r: Receipt) -> Receipt:
        """Store a receipt; when the same bytes were already accepted for the project, kind and
        period, the stored receipt is returned instead (the unique constraint decides)."""
        u = t.uploads.c
        stmt = self._insert(t.uploads).values(
            upload_id=r.upload_id, project=r.project, period=r.period, kind=r.kind, sha256=dedupe_key(r),
            status=r.status, created_at=r.created_at, body=_json(r)).on_conflict_do_nothing()
        with self._write() as c:
            if _inserted(c, stmt):
                return r
            body = c.scalar(select(u.body).where(u.project == r.project, u.kind == r.kind, u.period == r.period,
                                                 u.sha256 == dedupe_key(r)))
            if body is None:  # the conflict was the upload id: the same receipt stored before
                body = c.scalar(select(u.body).where(u.upload_id == r.upload_id))
        return msgspec.json.decode(body, type=Receipt)

    def receipt(self, upload_id: str) -> Receipt | None:
        with self._read() as c:
            body = c.scalar(select(t.uploads.c.body).where(t.uploads.c.upload_id == upload_id))
        return None if body is None else msgspec.json.decode(body, type=Receipt)

    def find_duplicate(self, project: str, kind: str, period: str, sha256: str) -> Receipt | None:
        u = t.uploads.c
        with self._read() as c:
            body = c.scalar(select(u.body).where(u.project == project, u.kind == kind, u.period == period,
                                                 u.sha256 == sha256))
        return None if body is None else msgspec.json.decode(body, type=Receipt)

    def uploads(self, project: str, period: str | None = None, kind: str | None = None) -> list[Receipt]:
        """In order of arrival (the database's sequence, not anyone's clock)."""
        u = t.uploads.c
        q = select(u.body).where(u.project == project).order_by(u.seq)
        if period is not None:
            q = q.where(u.period == period)
        if kind is not None:
            q = q.where(u.kind == kind)
        with self._read() as c:
            return _decode_all(c.scalars(q), Receipt)

    def make_current(self, upload_id: str, reason: str = "upload") -> None:
        """Point the upload's project-period-kind at it and record the switch, in one transaction.
        KeyError when no such upload is stored."""
        u = t.uploads.c
        now = dt.datetime.now(dt.UTC)
        with self._write() as c:
            row = c.execute(select(u.project, u.period, u.kind).where(u.upload_id == upload_id)).first()
            if row is None:
                raise KeyError(upload_id)
            key = {"project": row.project, "period": row.period, "kind": row.kind}
            stmt = self._insert(t.current).values(**key, upload_id=upload_id, at=now)
            # The pointer first: on PostgreSQL it locks the row, so concurrent switches of one
            # pointer take their history numbers in the order they took effect.
            c.execute(stmt.on_conflict_do_update(index_elements=list(key),
                                                 set_={"upload_id": stmt.excluded.upload_id, "at": stmt.excluded.at}))
            c.execute(insert(t.current_history).values(**key, upload_id=upload_id, reason=reason, at=now))

    def current_upload(self, kind: str, project: str, period: str) -> str | None:
        """The current upload of the period; roster and contracts without one fall back to the
        latest earlier period's."""
        cu = t.current.c
        q = select(cu.upload_id).where(cu.project == project, cu.kind == kind)
        if kind in CARRY_OVER:
            q = q.where(cu.period <= period).order_by(cu.period.desc()).limit(1)
        else:
            q = q.where(cu.period == period)
        with self._read() as c:
            return c.scalar(q)

    def current_uploads(self, project: str, period: str) -> dict[str, str]:
        """kind -> current upload id for every kind, with the same fallback, in one query."""
        cu = t.current.c
        q = (select(cu.kind, cu.upload_id)
             .where(cu.project == project,
                    or_(cu.period == period, cu.kind.in_(CARRY_OVER) & (cu.period < period)))
             .order_by(cu.period))
        with self._read() as c:
            return {kind: upload_id for kind, upload_id in c.execute(q)}  # later periods overwrite earlier

    def current_kinds(self, project: str) -> dict[str, set[str]]:
        """period -> the kinds with a current upload of that very period (no carry-over)."""
        cu = t.current.c
        out: dict[str, set[str]] = {}
        with self._read() as c:
            for period, kind in c.execute(select(cu.period, cu.kind).where(cu.project == project)):
                out.setdefault(period, set()).add(kind)
        return out

    def current_ids(self, project: str, period: str | None = None) -> set[str]:
        """The upload ids that are current for their own period and kind (no carry-over)."""
        cu = t.current.c
        q = select(cu.upload_id).where(cu.project == project)
        if period is not None:
            q = q.where(cu.period == period)
        with self._read() as c:
            return set(c.scalars(q))

    def current_history(self, project: str, period: str, kind: str) -> list[dict]:
        h = t.current_history.c
        q = (select(h.seq, h.upload_id, h.reason, h.at)
             .where(h.project == project, h.period == period, h.kind == kind).order_by(h.seq))
        with self._read() as c:
            return [dict(row._mapping) for row in c.execute(q)]

    # -- bank batches
    def claim_batch(self, payer: str, batch_id: str, sha256: str, body_key: str) -> str:
        """"new" for the first claim of (payer, batch_id); then "same" for the same content and
        "conflict" for other content."""
        b = t.batches.c
        stmt = self._insert(t.batches).values(payer=payer, batch_id=batch_id, sha256=sha256, body_key=body_key)
        with self._write() as c:
            if _inserted(c, stmt.on_conflict_do_nothing()):
                return "new"
            stored = c.scalar(select(b.sha256).where(b.payer == payer, b.batch_id == batch_id))
        return "same" if stored == sha256 else "conflict"

    def save_batch_receipt(self, payer: str, batch_id: str, receipt: dict) -> None:
        b = t.batches.c
        with self._write() as c:
            done = c.execute(update(t.batches).where(b.payer == payer, b.batch_id == batch_id)
                             .values(receipt=_json(receipt))).rowcount
        if not done:
            raise KeyError((payer, batch_id))

    def batch_receipt(self, payers: tuple[str, ...] | None, batch_id: str) -> dict | None:
        """The receipt of the batch from the first of ``payers`` that has one (None: any payer)."""
        b = t.batches.c
        q = select(b.payer, b.receipt).where(b.batch_id == batch_id, b.receipt.is_not(None)).order_by(b.payer)
        if payers is not None:
            q = q.where(b.payer.in_(payers))
        with self._read() as c:
            rows = c.execute(q).all()
        if payers is not None:
            rows.sort(key=lambda row: payers.index(row.payer))
        return msgspec.json.decode(rows[0].receipt) if rows else None

    def add_batch_part(self, payer: str, batch_id: str, project: str, period: str, table_key: str) -> None:
        stmt = self._insert(t.batch_parts).values(payer=payer, batch_id=batch_id, project=project, period=period,
                                                  table_key=table_key)
        with self._write() as c:
            c.execute(stmt.on_conflict_do_nothing())

    def batch_projects(self, project: str, period: str) -> list[str]:
        """Ids of the batches with records stored for the project-period, in order of arrival."""
        p = t.batch_parts.c
        q = (select(p.batch_id).where(p.project == project, p.period == period)
             .group_by(p.batch_id).order_by(func.min(p.seq)))
        with self._read() as c:
            return list(c.scalars(q))

    def batch_parts(self, project: str, period: str) -> list[str]:
        p = t.batch_parts.c
        q = select(p.table_key).where(p.project == project, p.period == period).order_by(p.seq)
        with self._read() as c:
            return list(c.scalars(q))

    def claim_txns(self, payer: str, batch_id: str, txns: list[tuple[str, str]]) -> tuple[set[str], dict[str, str]]:
        """Store every transaction the payer account does not hold yet; return (duplicates,
        conflicts): ids another batch already stored with the same content, and ids stored with
        other content (each with the batch that holds it). A replay of the same batch finds its
        own transactions and reports neither."""
        wanted: dict[str, str] = {}
        for txn_id, digest in txns:
            wanted.setdefault(txn_id, digest)
        # Sorted, so concurrent batches lock shared ids in the same order and never deadlock.
        ids = sorted(wanted)
        if not ids:
            return set(), {}
        k = t.bank_txns.c
        held: dict[str, tuple[str, str]] = {}
        with self._write() as c:
            c.execute(self._insert(t.bank_txns).on_conflict_do_nothing(),
                      [{"payer": payer, "bank_txn_id": i, "batch_id": batch_id, "digest": wanted[i]} for i in ids])
            for start in range(0, len(ids), _CHUNK):
                q = select(k.bank_txn_id, k.batch_id, k.digest).where(k.payer == payer,
                                                                        k.bank_txn_id.in_(ids[start:start + _CHUNK]))
                held.update((i, (b, d)) for i, b, d in c.execute(q))
        conflicts = {i: held[i][0] for i in ids if held[i][1] != wanted[i]}
        duplicates = {i for i in ids if held[i][1] == wanted[i] and held[i][0] != batch_id}
        return duplicates, conflicts

    # -- audit (append-only: there is no method to change or remove an event, and triggers refuse it)
    def append_audit(self, e: Event) -> None:
        at = e.at.astimezone(dt.UTC) if e.at.tzinfo else e.at
        with self._write() as c:
            c.execute(insert(t.audit_events).values(day=at.date().isoformat(), at=at, body=_json(e)))

    def audit(self, day: dt.date, limit: int = 1000) -> list[dict]:
        """The last ``limit`` events of a UTC day, oldest first (order of arrival)."""
        a = t.audit_events.c
        q = select(a.body).where(a.day == day.isoformat()).order_by(a.seq.desc()).limit(limit)
        with self._read() as c:
            bodies = list(c.scalars(q))
        return _decode_all(reversed(bodies))

    # -- column maps
    def save_column_map(self, project: str, kind: str, mapping: dict[str, str]) -> None:
        stmt = self._insert(t.column_maps).values(project=project, kind=kind, mapping=_json(mapping))
        with self._write() as c:
            c.execute(stmt.on_conflict_do_update(index_elements=["project", "kind"],
                                                 set_={"mapping": stmt.excluded.mapping}))

    def column_maps(self, project: str) -> dict[str, dict[str, str]]:
        """Every saved map of the project, by kind, in one query."""
        m = t.column_maps.c
        with self._read() as c:
            rows = c.execute(select(m.kind, m.mapping).where(m.project == project)).all()
        return {kind: msgspec.json.decode(mapping) for kind, mapping in rows}

    def column_map(self, project: str, kind: str) -> dict[str, str]:
        m = t.column_maps.c
        with self._read() as c:
            mapping = c.scalar(select(m.mapping).where(m.project == project, m.kind == kind))
        return {} if mapping is None else msgspec.json.decode(mapping)

    # -- versions for derived rows
    def next_version(self) -> int:
        """A ticket that increases with every call, from any process: take it before reading
        the tables a recheck summarises, so the later reader always holds the larger number."""
        with self._write() as c:
            return _ticket(c)

    def mark_pending(self, project: str, period: str) -> int:
        """Note that the project-period's derived rows are behind its inputs (before the change
        is made current); the recheck that takes a later ticket clears it."""
        with self._write() as c:
            seq = _ticket(c)
            stmt = self._insert(t.pending_rechecks).values(project=project, period=period, seq=seq, at=dt.datetime.now(dt.UTC))
            c.execute(stmt.on_conflict_do_update(index_elements=["project", "period"],
                                                 set_={"seq": stmt.excluded.seq, "at": stmt.excluded.at}))
        return seq

    def clear_pending(self, project: str, period: str, version: int) -> None:
        """Clear the mark if every change it stands for was made before ``version`` was taken."""
        p = t.pending_rechecks.c
        with self._write() as c:
            c.execute(delete(t.pending_rechecks).where(p.project == project, p.period == period, p.seq < version))

    def pending(self, first: str | None = None, last: str | None = None,
                before: dt.datetime | None = None) -> list[tuple[str, str, dt.datetime]]:
        """(project, period, marked at) of the project-periods waiting for a recheck."""
        p = t.pending_rechecks.c
        q = select(p.project, p.period, p.at).order_by(p.at)
        if first is not None and last is not None:
            q = q.where(p.period.between(first, last))
        if before is not None:
            q = q.where(p.at < before)
        with self._read() as c:
            return [tuple(row) for row in c.execute(q)]

    def _claim_version(self, c, table, project: str, period: str, version: int, **values) -> bool:
        """Upsert the row of (project, period) only if ``version`` is newer than the stored one."""
        stmt = self._insert(table).values(project=project, period=period, version=version, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["project", "period"],
                                          set_={name: stmt.excluded[name] for name in ("version", *values)},
                                          where=table.c.version < stmt.excluded.version)
        return _inserted(c, stmt)

    # -- cross-project worker index
    def replace_worker_index(self, project: str, period: str, version: int, days: list[tuple[int, int]],
                             months: list[dict]) -> bool:
        """Replace the project-period's worker-days ((id_key, days present as bits: bit d-1 for
        day d)) and worker-month rows, unless a newer version is stored (then False, and
        nothing is written)."""
        with self._write() as c:
            # On PostgreSQL the upsert also locks the row: concurrent replacements queue here.
            if not self._claim_version(c, t.worker_index, project, period, version):
                return False
            _replace_rows(c, t.worker_days, project, period, [(project, period, k, mask) for k, mask in days])
            _replace_rows(c, t.worker_months, project, period, [_month_row(project, period, m) for m in months])
        return True

    def overlaps(self, project: str, period: str) -> list[tuple[str, int, int]]:
        """(other project, id_key, shared days as bits): a worker of this project-period on
        another project's attendance on one or more of the same days."""
        mine, other = t.worker_days.alias("mine"), t.worker_days.alias("other")
        shared = mine.c.days.op("&")(other.c.days)
        q = (select(other.c.project, other.c.id_key, shared)
             .join_from(mine, other, (other.c.period == mine.c.period) & (other.c.id_key == mine.c.id_key)
                        & (other.c.project != mine.c.project))
             .where(mine.c.project == project, mine.c.period == period, shared != 0)
             .order_by(other.c.project, other.c.id_key))
        with self._read() as c:
            return [tuple(row) for row in c.execute(q)]

    def paid_elsewhere(self, project: str, period: str) -> list[tuple[str, int]]:
        """(other project, id_key): a worker this project paid for the period whom another project
        also paid for the same period."""
        mine, other = t.worker_months.alias("mine"), t.worker_months.alias("other")
        q = (select(other.c.project, other.c.id_key).distinct()
             .join_from(mine, other, (other.c.period == mine.c.period) & (other.c.id_key == mine.c.id_key)
                        & (other.c.project != mine.c.project))
             .where(mine.c.project == project, mine.c.period == period, mine.c.paid_fen > 0, other.c.paid_fen > 0)
             .order_by(other.c.project, other.c.id_key))
        with self._read() as c:
            return [tuple(row) for row in c.execute(q)]

    def worker_months(self, id_key: int, first: str, last: str, projects: list[str] | None = None) -> list[dict]:
        """One worker's month rows across projects, newest period first, by project code within."""
        w = t.worker_months.c
        q = (select(t.worker_months).where(w.id_key == id_key, w.period.between(first, last))
             .order_by(w.period.desc(), w.project))
        if projects is not None:
            q = q.where(w.project.in_(projects))
        with self._read() as c:
            rows = [dict(row._mapping) for row in c.execute(q)]
        lists = _decode_all(f"[{r['paid_at']},{r['paid_from']},{r['findings']},{r['findings_overdue'] or 'null'}]"
                            for r in rows)
        for row, (paid_at, paid_from, findings, overdue) in zip(rows, lists):
            row.update(paid_at=paid_at, paid_from=paid_from, findings=findings, findings_overdue=overdue)
        return rows

    def worker_days_of(self, id_key: int, first: str, last: str) -> list[tuple[str, str, int]]:
        """(project, period, days present as bits) of one worker across projects and months."""
        d = t.worker_days.c
        q = (select(d.project, d.period, d.days).where(d.id_key == id_key, d.period.between(first, last))
             .order_by(d.period, d.project))
        with self._read() as c:
            return [tuple(row) for row in c.execute(q)]

    # -- coverage (versioned: an older computation never replaces a newer one)
    def put_coverage(self, project: str, period: str, version: int, region_code: str, investment_type: str,
                     counts: dict) -> bool:
        """Store the project-period's figures unless a newer version is stored, and recompute the
        month's rollup row for its region and type in the same transaction."""
        v = t.coverage.c
        with self._write() as c:
            if c.dialect.name == "postgresql":
                # The project's cumulative rows are summed from all its months: two writers of
                # different months of one project take turns (SQLite's one writer always does).
                # Taken before the rollup locks, by every writer, so the order is always the same.
                c.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(project, 0))))
            old = c.execute(select(v.region_code, v.investment_type).where(v.project == project, v.period == period)).first()
            groups = sorted({(period, region_code, investment_type), *([(period, *old)] if old else [])})
            for group in groups:  # sorted: two writers lock rollup rows in one order, never deadlock
                self._lock_rollup(c, *group)
            if not self._claim_version(c, t.coverage, project, period, version, region_code=region_code,
                                       investment_type=investment_type, counts=_json(counts), **_figures(counts, period)):
                return False
            o = t.coverage_on_time
            c.execute(delete(o).where(o.c.project == project, o.c.period == period))
            if deadlines := _deadlines(project, period, region_code, investment_type, counts):
                c.execute(insert(o), deadlines)
            for group in groups:
                self._refresh_rollup(c, *group)
            refresh_cumulative(c, [project])
        return True

    def _lock_rollup(self, c, period: str, region_code: str, investment_type: str) -> None:
        r = t.coverage_rollup
        c.execute(self._insert(r).values(period=period, region_code=region_code, investment_type=investment_type,
                                         version=0, projects=0).on_conflict_do_nothing())
        if c.dialect.name == "postgresql":  # SQLite's writer already holds the database's one write lock
            c.execute(select(r.c.version).where(r.c.period == period, r.c.region_code == region_code,
                                                r.c.investment_type == investment_type).with_for_update())

    def _refresh_rollup(self, c, period: str, region_code: str, investment_type: str) -> None:
        """The rollup row of (period, region, type) summed again from its coverage rows."""
        v, r, ro, o = t.coverage.c, t.coverage_rollup, t.coverage_rollup_on_time, t.coverage_on_time.c
        where = (v.period == period, v.region_code == region_code, v.investment_type == investment_type)
        sums = c.execute(select(func.max(v.version).label("version"), func.count().label("projects"),
                                *[func.sum(getattr(v, n)).label(n) for n in FIGURES]).where(*where)).one()._mapping
        mine = (r.c.period == period, r.c.region_code == region_code, r.c.investment_type == investment_type)
        c.execute(update(r).where(*mine).values({k: int(val or 0) for k, val in sums.items()}))
        c.execute(delete(ro).where(ro.c.period == period, ro.c.region_code == region_code,
                                   ro.c.investment_type == investment_type))
        c.execute(insert(ro).from_select(
            ["period", "region_code", "investment_type", "deadline", "n", "d"],
            select(o.period, o.region_code, o.investment_type, o.deadline, func.sum(o.n), func.sum(o.d))
            .where(o.period == period, o.region_code == region_code, o.investment_type == investment_type)
            .group_by(o.period, o.region_code, o.investment_type, o.deadline)))

    def load_coverage(self, rows: list[dict]) -> None:
        """Bulk-insert coverage rows into project-periods that have none (``rows``: project,
        period, version, region_code, investment_type, counts) and sum their months' rollups
        again — for loading many at once, as benchmarks do; ``put_coverage`` is the versioned
        write the service uses."""
        if not rows:
            return
        with self._write() as c:
            _bulk_insert(c, t.coverage, [(r["project"], r["period"], r["version"], r["region_code"], r["investment_type"],
                                          _json(r["counts"]), *_figures(r["counts"], r["period"]).values()) for r in rows])
            _bulk_insert(c, t.coverage_on_time, [tuple(d.values()) for r in rows for d in _deadlines(
                r["project"], r["period"], r["region_code"], r["investment_type"], r["counts"])])
            groups = sorted({(r["period"], r["region_code"], r["investment_type"]) for r in rows})
            for group in groups:
                self._lock_rollup(c, *group)
                self._refresh_rollup(c, *group)
            refresh_cumulative(c, sorted({r["project"] for r in rows}))
        if self.engine.dialect.name == "postgresql":
            # After a bulk load the planner's statistics are stale until autovacuum comes by (the
            # first region query then picked a plan 30 times slower, 4.5 s), and the visibility
            # map is unset, so the covering indexes' index-only scans still visit the heap.
            # VACUUM cannot run inside a transaction.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM (ANALYZE) coverage, coverage_on_time, coverage_rollup, coverage_rollup_on_time, "
                                  "coverage_cumulative")

    def coverage(self, first: str, last: str, region_prefix: str | None = None,
                 projects: list[str] | None = None) -> list[dict]:
        """The stored counts of every project-period in [first, last], with project and period, by period then project."""
        v = t.coverage.c
        q = select(v.project, v.period, v.counts).where(v.period.between(first, last)).order_by(v.period, v.project)
        if region_prefix:
            q = q.where(_prefixed(v.region_code, (region_prefix,)))
        if projects is not None:
            q = q.where(v.project.in_(projects))
        with self._read() as c:
            rows = c.execute(q).all()
        out = _decode_all(row.counts for row in rows)
        for row, counts in zip(rows, out):
            counts.update(project=row.project, period=row.period)
        return out

    def coverage_signature(self, first: str, last: str) -> tuple[int, int]:
        """(rows, greatest version) of the coverage rows in [first, last], read from the rollups.
        Every write takes a fresh, larger ticket, so this pair changes whenever any of those rows does."""
        r = t.coverage_rollup.c
        with self._read() as c:
            n, top = c.execute(select(func.sum(r.projects), func.max(r.version)).where(r.period.between(first, last))).one()
        return int(n or 0), int(top or 0)

    def coverage_texts(self, first: str, last: str, region_prefix: str | None = None) -> list[str]:
        """The stored counts of every project-period in [first, last] as their JSON text, by
        period then project: a reader that parses them in bulk (Polars' NDJSON reader) skips
        building a dict per row."""
        v = t.coverage.c
        q = select(v.counts).where(v.period.between(first, last)).order_by(v.period, v.project)
        if region_prefix:
            q = q.where(_prefixed(v.region_code, (region_prefix,)))
        with self._read() as c:
            return list(c.scalars(q))

    def coverage_months(self, first: str, last: str, today: str, prefixes: tuple[str, ...] | None = None,
                        investment_type: str | None = None) -> tuple[list[str], list[tuple]]:
        """Per (period, investment type): projects, the summed figures, and on-time pay counting
        only deadlines before ``today`` (ISO) — from the rollups. (column names, rows)"""
        r, ro = t.coverage_rollup.c, t.coverage_rollup_on_time.c
        due = (select(ro.period, ro.region_code, ro.investment_type, _sum(ro.n).label("n"), _sum(ro.d).label("d"))
               .where(ro.period.between(first, last), ro.deadline < today)
               .group_by(ro.period, ro.region_code, ro.investment_type).subquery())
        figures = [_sum(getattr(r, n)).label(n) for n in FIGURES if n not in ("on_time_n", "on_time_d")]
        q = (select(r.period, r.investment_type, _sum(r.projects).label("projects"), *figures,
                    func.coalesce(_sum(due.c.n), 0).label("on_time_n"), func.coalesce(_sum(due.c.d), 0).label("on_time_d"))
             .select_from(t.coverage_rollup.outerjoin(due, (due.c.period == r.period) & (due.c.region_code == r.region_code)
                                                      & (due.c.investment_type == r.investment_type)))
             .where(r.period.between(first, last), r.projects > 0)
             .group_by(r.period, r.investment_type).order_by(r.period, r.investment_type))
        q = _scoped(q, r, prefixes, investment_type, None)
        return self._table(q)

    def coverage_figures(self, first: str, last: str, prefixes: tuple[str, ...] | None = None,
                         investment_type: str | None = None, projects: list[str] | None = None,
                         per_project: bool = False) -> tuple[list[str], list[tuple]]:
        """The typed figures of each project-period in [first, last] (or,
        ``per_project``, summed per project over the months, with ``five_key`` whose low five
        bits are the five systems of its latest month); on-time pay is ``coverage_due``'s.
        (column names, rows)"""
        v = t.coverage.c
        counts = [n for n in COUNTS if n not in ("on_time_n", "on_time_d")]
        if per_project:  # a contractor's few projects (a region's range reads coverage_cumulative)
            base = select(v.project, v.region_code, func.max(v.investment_type).label("investment_type"),
                          *[_sum(getattr(v, n)).label(n) for n in counts],
                          func.max(v.five_key).label("five_key")).group_by(v.region_code, v.project)
        else:
            base = select(v.project, v.period, v.region_code, v.investment_type, *[getattr(v, n) for n in (*counts, *FIVE)])
        return self._table(_scoped(base.where(_months(v.period, first, last)), v, prefixes, investment_type, projects))

    def coverage_cumulative(self, period: str, prefixes: tuple[str, ...] | None = None,
                            investment_type: str | None = None) -> tuple[list[str], list[tuple]]:
        """Each project's figures summed from its first month to ``period``, for the projects
        whose months span ``period`` (``coverage_cumulative_latest`` has those that ended
        before). (column names, rows)"""
        k = t.coverage_cumulative.c
        q = select(*[k[n] for n in t.CUMULATIVE_READ]).where(k.period == period)
        return self._table(_scoped(q, k, prefixes, investment_type, None))

    def coverage_cumulative_latest(self, first: str, last: str, prefixes: tuple[str, ...] | None = None,
                                   investment_type: str | None = None) -> tuple[list[str], list[tuple]]:
        """The summed figures at the latest month of each project whose latest month is in
        [first, last), with that ``period``. (column names, rows)"""
        k = t.coverage_cumulative.c
        # A literal 1, which SQLite needs to see to use the partial index (a bound value hides it).
        q = (select(k.period, *[k[n] for n in t.CUMULATIVE_READ])
             .where(k.latest == literal_column("1"), k.period >= first, k.period < last))
        return self._table(_scoped(q, k, prefixes, investment_type, None))

    def first_month_due_after(self, first: str, last: str, today: str, prefixes: tuple[str, ...] | None = None,
                              investment_type: str | None = None) -> str | None:
        """The earliest month in [first, last] with a pay deadline on or after ``today`` (ISO)
        in the scope, from the rollups; every deadline of the months before it has passed."""
        ro = t.coverage_rollup_on_time.c
        q = select(func.min(ro.period)).where(ro.period.between(first, last), ro.deadline >= today)
        with self._read() as c:
            return c.scalar(_scoped(q, ro, prefixes, investment_type, None))

    def project_names(self, prefixes: tuple[str, ...] | None = None, projects: list[str] | None = None,
                      under_way: tuple[str, str] | None = None) -> tuple[list[str], list[tuple]]:
        """(project, name) of the projects under the prefixes (or in the list), from an index;
        with ``under_way`` (first day, last day: ISO dates) only those under way in between."""
        p = t.projects.c
        q = select(p.code.label("project"), p.name)
        if prefixes is not None:
            q = q.where(_prefixed(p.region_code, prefixes))
        if projects is not None:
            q = q.where(p.code.in_(projects))
        if under_way is not None:
            q = q.where(or_(p.start_date.is_(None), p.start_date <= under_way[1]),
                        or_(p.end_date.is_(None), p.end_date >= under_way[0]))
        return self._table(q)

    def coverage_due(self, first: str, last: str, today: str, prefixes: tuple[str, ...] | None = None,
                     investment_type: str | None = None, projects: list[str] | None = None,
                     per_project: bool = False) -> tuple[list[str], list[tuple]]:
        """On-time pay per project-period (or per project) in [first, last], counting only the
        deadlines before ``today`` (ISO): (project, [period,] on_time_n, on_time_d)."""
        o = t.coverage_on_time.c
        keys = [o.region_code, o.project] if per_project else [o.project, o.period]
        q = (select(*keys, _sum(o.n).label("on_time_n"), _sum(o.d).label("on_time_d"))
             .where(_months(o.period, first, last), o.deadline < today).group_by(*keys))
        return self._table(_scoped(q, o, prefixes, investment_type, projects))

    def _table(self, q) -> tuple[list[str], list[tuple]]:
        """(column names, rows as the driver gives them) of a region view's query. Plain ints and
        strings need none of SQLAlchemy's per-row processing, which doubled the fetch."""
        with self._read() as c:
            if c.dialect.name == "postgresql":
                # A range's per-project GROUP BY sorts 90,000 rows: in memory, not spilled to disk.
                c.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            result = c.execute(q)
            return list(result.keys()), result.cursor.fetchall()

    def coverage_version(self, project: str, period: str) -> int | None:
        v = t.coverage.c
        with self._read() as c:
            return c.scalar(select(v.version).where(v.project == project, v.period == period))


COUNTS, FIVE = t.COUNT_COLUMNS, t.FIVE_COLUMNS
FIGURES = (*COUNTS, *FIVE)


def dedupe_key(r: Receipt) -> str:
    """The uploads table's sha256 column: the file's digest for an accepted upload, so the same
    bytes again are that upload; for a refused one the digest and its upload id, so the same
    bytes can be tried again (after the contractor saved a column map, say) and are read anew;
    for bytes read again under a new column map (``Receipt.read_with_map``), digest and map."""
    if r.status != "accepted":
        return f"{r.sha256}:{r.upload_id}"
    return r.sha256 if r.read_with_map is None else f"{r.sha256}:map:{r.read_with_map}"


def _figures(counts: dict, period: str) -> dict[str, int]:
    """The typed columns of a coverage row."""
    bits = sum(1 << i for i, n in enumerate(FIVE) if counts.get(n))
    return {**{n: int(counts.get(n) or 0) for n in FIGURES}, "five_key": int(period.replace("-", "")) * 32 + bits}


def _deadlines(project: str, period: str, region_code: str, investment_type: str, counts: dict) -> list[dict]:
    return [{"project": project, "period": period, "deadline": str(g["deadline"]), "region_code": region_code,
             "investment_type": investment_type, "n": int(g["n"]), "d": int(g["d"])}
            for g in counts.get("on_time_by_deadline") or [] if g.get("deadline")]


def _sum(column):
    """SUM as a 64-bit integer: PostgreSQL's SUM(bigint) is numeric, which psycopg hands over as
    Decimal objects, one per value (that conversion was a third of a range view's time)."""
    return cast(func.sum(column), BigInteger)


def _months(column, first: str, last: str):
    """One month as an equality, so the planner takes the (period, region) index for it."""
    return column == first if first == last else column.between(first, last)


def _prefixed(column, prefixes: tuple[str, ...]):
    """Region codes under any of the prefixes (digits), as ranges an index can serve (LIKE with
    ESCAPE cannot use SQLite's): '4403' <= code < '4403~'."""
    return or_(*[column.between(p, p + "~") for p in prefixes])


def _scoped(q, cols, prefixes: tuple[str, ...] | None, investment_type: str | None, projects: list[str] | None):
    if prefixes is not None:
        q = q.where(_prefixed(cols.region_code, prefixes))
    if investment_type is not None:
        q = q.where(cols.investment_type == investment_type)
    if projects is not None:
        q = q.where(cols.project.in_(projects))
    return q


def _ticket(c: Connection) -> int:
    """The next number of the one counter that versions and pending marks share."""
    n = t.counters.c
    return c.scalar(update(t.counters).where(n.name == "index_version").values(value=n.value + 1).returning(n.value))


def _bulk_insert(c: Connection, table: Table, rows: list[tuple]) -> None:
    """Insert many rows (tuples in the table's column order) inside the caller's transaction,
    through the driver: COPY on PostgreSQL, one prepared executemany on SQLite. A recheck
    writes 100k rows and SQLAlchemy's per-row parameter handling would double the time."""
    if not rows:
        return
    names = ", ".join(col.name for col in table.columns)
    if c.dialect.name == "postgresql":
        with c.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(table.columns))
        c.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def _replace_rows(c: Connection, table: Table, project: str, period: str, rows: list[tuple]) -> None:
    """Make the project-period's rows of a table keyed by (project, period, id_key) exactly
    ``rows``, writing only those that differ: a corrected file sent again changes a few workers'
    rows, and rewriting all of them cost most of a recheck's database time."""
    k = table.c
    old = set(c.execute(select(table).where(k.project == project, k.period == period)).cursor.fetchall())
    new = set(rows)
    gone = sorted({r[2] for r in old - new})
    for start in range(0, len(gone), 500):  # changed or no longer there
        c.execute(delete(table).where(k.project == project, k.period == period, k.id_key.in_(gone[start:start + 500])))
    # Sorted, so the new rows go into the (period, id_key) index in its own order.
    _bulk_insert(c, table, sorted(new - old, key=lambda r: r[2]))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _month_row(project: str, period: str, m: dict) -> tuple:
    def listed(name: str) -> str:  # a list, or its JSON text when a recheck encoded the column in bulk
        value = m.get(name, [])
        return value if isinstance(value, str) else _json(value)

    return (project, period, m["id_key"], m["id_masked"], m["name"], m["days"], m.get("expected_fen"),
            m.get("payroll_net_fen"), m["paid_fen"], m["paid_dedicated_fen"], listed("paid_at"), listed("paid_from"),
            listed("findings"), listed("findings_overdue"), _iso(m.get("deadline")), m.get("paid_own_fen"))


_CUMULATIVE_SUMMED = tuple(n for n in COUNTS if n not in ("on_time_n", "on_time_d"))


def refresh_cumulative(c: Connection, projects: list[str]) -> None:
    """Write the projects' ``coverage_cumulative`` rows again from their coverage rows."""
    v, o, k = t.coverage.c, t.coverage_on_time.c, t.coverage_cumulative
    for start in range(0, len(projects), _CHUNK):
        chunk = projects[start:start + _CHUNK]
        rows = c.execute(select(v.project, v.period, v.region_code, v.investment_type, v.five_key,
                                *[v[n] for n in _CUMULATIVE_SUMMED])
                         .where(v.project.in_(chunk)).order_by(v.project, v.period)).cursor.fetchall()
        on_time = {(p, m): (n, d) for p, m, n, d in c.execute(
            select(o.project, o.period, _sum(o.n), _sum(o.d)).where(o.project.in_(chunk))
            .group_by(o.project, o.period)).cursor.fetchall()}
        c.execute(delete(k).where(k.c.project.in_(chunk)))
        new: list[tuple] = []
        for project, group in itertools.groupby(rows, key=lambda r: r[0]):
            new += cumulative_rows(project, [r[1:] for r in group], on_time)
        _bulk_insert(c, k, new)


def cumulative_rows(project: str, rows: list[tuple], on_time: dict[tuple[str, str], tuple[int, int]]) -> list[tuple]:
    """The project's ``coverage_cumulative`` rows, in the table's column order, from its coverage
    rows by period ((period, region_code, investment_type, five_key, *the summed figures)) and
    its on-time pay per period ({(project, period): (n, d)}, every deadline)."""
    out: list[tuple] = []
    sums = dict.fromkeys(COUNTS, 0)
    for months, (period, region_code, investment_type, five_key, *values) in enumerate(rows, start=1):
        if out:  # a month without a row repeats the month before
            month = add_months(out[-1][1], 1)
            while month < period:
                out.append((project, month, *out[-1][2:]))
                month = add_months(month, 1)
        for name, value in zip(_CUMULATIVE_SUMMED, values, strict=True):
            sums[name] += value
        n, d = on_time.get((project, period), (0, 0))
        sums["on_time_n"] += n
        sums["on_time_d"] += d
        out.append((project, period, region_code, investment_type, 0, months, *sums.values(), five_key))
    if out:
        out[-1] = (*out[-1][:4], 1, *out[-1][5:])  # latest
    return out
