"""A worker's ledger: one worker across every project and month in the caller's scope, for the
labour inspector handling a complaint (api.md, "A worker's ledger")."""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import polars as pl
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from sitereg import grammar as g
from sitereg.api.auth import Principal, audit, require_role
from sitereg.api.errors import bad_request, not_found
from sitereg.validate.checks import fen_to_text
from sitereg.validate.crosscheck import id_keys

DEFAULT_MONTHS = 36


@get("/api/v1/workers/{id_number:str}/ledger", operation_id="getWorkerLedger", tags=["workers"], sync_to_thread=True)
def ledger(request: Request, principal: NamedDependency[Principal], id_number: FromPath[str],
           period_from: Annotated[str | None, QueryParameter(name="from")] = None,
           to: FromQuery[str | None] = None) -> dict[str, Any]:
    """Days, expected pay, payroll, pay received (and how much from the dedicated account), the
    payment dates and the finding codes of one worker, per project and month, newest first.
    ``from``/``to`` are YYYY-MM (default: the last 36 months). The lookup is audited."""
    require_role(principal, "admin", "bureau")
    first, last = _range(request, period_from, to)
    catalog = request.app.state.catalog
    id_number = id_number.upper()  # a final x is X, as in every stored table (domain.md)
    key = id_keys(pl.Series([id_number])).item()
    rows = catalog.db.worker_months(key, first, last)
    codes = _codes_today(rows, catalog.db.worker_days_of(key, first, last), request.app.state.today())
    # One query for the worker's projects (a migrant worker may have dozens over 36 months).
    projects = {p.code: p for p in catalog.db.projects(codes=sorted({r["project"] for r in rows}))}
    visible = [r for r in rows if r["project"] in projects and principal.sees(projects[r["project"]])]
    masked = id_number[:6] + "********" + id_number[-4:] if len(id_number) >= 10 else "****"  # as mask_id
    audit(request, principal, "worker_ledger", masked, period_from=first, period_to=last, months=len(visible))
    if not visible:
        raise not_found("该工人在您权限范围内的记录", "Records of this worker in your scope")
    return {
        "worker": masked,
        "name": visible[0]["name"],
        "period_from": first,
        "period_to": last,
        "months": [{
            "project": r["project"], "project_name": projects[r["project"]].name, "period": r["period"],
            "days": r["days"], "expected": fen_to_text(r["expected_fen"]), "payroll_net": fen_to_text(r["payroll_net_fen"]),
            # domain.md: only money into the worker's own account is paid; the rest is shown apart
            # (rows stored before 0008 have no own-account sum: all of it, as stored).
            "paid": fen_to_text(r["paid_fen"] if r["paid_own_fen"] is None else r["paid_own_fen"]),
            "paid_to_others": None if r["paid_own_fen"] is None else fen_to_text(r["paid_fen"] - r["paid_own_fen"]),
            "paid_from_dedicated": fen_to_text(r["paid_dedicated_fen"]),
            "paid_at": r["paid_at"], "paid_from": r["paid_from"], "findings": codes[(r["project"], r["period"])],
        } for r in visible],
    }


def _codes_today(rows: list[dict], days: list[tuple[str, str, int]], today) -> dict[tuple[str, str], list[str]]:
    """Each month's finding codes as the project-period's findings give them today: the stored
    codes of the side of the pay deadline ``today`` is on, and the cross-project ones found
    from the index over every project (in the caller's scope or not, as the project's own
    findings have them): present on the same day elsewhere, paid for the month elsewhere."""
    out: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        overdue = r.get("deadline") and r.get("findings_overdue") is not None and today.isoformat() > r["deadline"]
        out[(r["project"], r["period"])] = set(r["findings_overdue"] if overdue else r["findings"])
    by_month: dict[str, list[tuple[str, int]]] = {}
    for project, month, bits in days:
        by_month.setdefault(month, []).append((project, bits))
    for month, present in by_month.items():
        for (p, bits), (q, other) in itertools.combinations(present, 2):
            if bits & other:
                out.setdefault((p, month), set()).add("ATTENDANCE_OVERLAP")
                out.setdefault((q, month), set()).add("ATTENDANCE_OVERLAP")
    paid: dict[str, list[str]] = {}
    for r in rows:
        if r["paid_fen"] > 0:
            paid.setdefault(r["period"], []).append(r["project"])
    for month, projects in paid.items():
        if len(projects) > 1:
            for p in projects:
                out[(p, month)].add("PAID_TWICE")
    return {k: sorted(v) for k, v in out.items()}


def _range(request: Request, first: str | None, last: str | None) -> tuple[str, str]:
    if last is None:
        today = request.app.state.today()
        last = f"{today.year:04d}-{today.month:02d}"
    if first is None:
        i = g.month_index(last) - DEFAULT_MONTHS + 1
        first = f"{i // 12:04d}-{i % 12 + 1:02d}"
    if first > last or g.month_index(last) - g.month_index(first) + 1 > g.MAX_MONTHS:
        raise bad_request("PERIOD_RANGE_TOO_LONG", f"from 应不晚于 to，且区间最多 {g.MAX_MONTHS} 个月",
                          f"from must not be after to, and the range spans at most {g.MAX_MONTHS} months")
    return first, last
