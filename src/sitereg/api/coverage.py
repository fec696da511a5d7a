"""Coverage and risk: per project-period, and summed over a bureau's region."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import msgspec
import polars as pl
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from sitereg import grammar as g
from sitereg import period as period_mod
from sitereg.api.auth import Principal, require_role
from sitereg.api.errors import bad_request, not_found
from sitereg.api.periods import checked_period, visible_project
from sitereg.catalog import Catalog, Project
from sitereg.validate import coverage as cov
from sitereg.validate.crosscheck import month_end
from sitereg.validate.workbook import csv_safe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INVESTMENT_TYPES = ("government", "state_owned", "other")
FIVE = ("realname", "dedicated_account", "guarantee", "bank_payroll", "notice_board")
# The JSON's figures, its nested ones flattened: ssc_payouts.count -> ssc_payouts_count, five_systems.x -> five_x.
CSV_COLUMNS = ("project", "name", "region_code", "investment_type", "period", "workers_active", "workers_paid",
               "realname_rate", "contract_rate", "dedicated_account_rate", "full_pay_rate", "on_time_rate", "wages_paid",
               "arrears_estimate", "ssc_payouts_count", "ssc_payouts_amount", "ssc_payouts_share",
               *(f"five_{k}" for k in FIVE), "status")


def _periods(period: str | None, period_from: str | None, period_to: str | None) -> tuple[str, str]:
    if period and (period_from or period_to):  # which one was meant? say so rather than drop one
        raise bad_request("PERIOD_INVALID", "period 与 period_from/period_to 只能给出一种",
                          "Give either period or period_from/period_to, not both")
    first, last = (period, period) if period else (period_from, period_to)
    if not first or not last or not g.PERIOD.ok(first) or not g.PERIOD.ok(last) or first > last:
        raise bad_request("PERIOD_INVALID", "请给出 period=YYYY-MM，或 period_from 与 period_to（YYYY-MM）",
                          "Give period=YYYY-MM, or period_from and period_to (YYYY-MM)")
    if g.month_index(last) - g.month_index(first) + 1 > g.MAX_MONTHS:
        raise bad_request("PERIOD_RANGE_TOO_LONG", f"查询区间最多 {g.MAX_MONTHS} 个月", f"A period range spans at most {g.MAX_MONTHS} months",
                          {"max_months": g.MAX_MONTHS})
    return first, last


def _project_items(items: pl.DataFrame, first: str, last: str, today) -> pl.DataFrame:
    if first != last and items.height:
        items = items.with_columns(period=pl.lit(f"{first}..{last}"))
    return cov.project_items(items, today).sort("period", "project") if items.height else pl.DataFrame()


def warm_up(catalog: Catalog, today) -> None:
    """Run a region view's code once at start-up, for a region scope and the whole country, a
    month and a range: its queries over months that have no rows (SQLAlchemy compiles each
    statement, the driver sets up its first use) and its frames and JSON over one made-up
    project, so a fresh process's first bureau does not pay for first use. From a cold page
    cache the first one-month view took 0.30-0.32 s without it and 0.17-0.21 s with it
    (measured; the warm-up itself 0.1 s). Nothing is kept."""
    month = "0000-01"
    catalog.db.coverage_signature(month, month)
    catalog.db.pending(month, month)
    for prefixes in (("0000",), None):
        for first, last in ((month, month), (month, "0000-02")):
            _, items = period_mod.region_figures(catalog, first, last, today, prefixes, None, None)
            made_up = items.clear(n=1).with_columns(pl.col(pl.Int64).fill_null(1), pl.col(pl.String).fill_null(first))
            _project_items(made_up, first, last, today).write_json()


def _summary(rows: pl.DataFrame, today, first: str, last: str) -> dict[str, Any]:
    """Summed counts over a set of stored project-period rows as a Coverage-like object."""
    summed = cov.sum_counts(rows)
    summed["on_time_n"], summed["on_time_d"] = cov.on_time_frame(rows, today)
    return _summed(summed, rows.select("project").n_unique() if rows.height else 0,
                   {k: int(rows.get_column(f"five_{k}").sum()) if rows.height else 0 for k in FIVE})


def _summed(counts: dict[str, int], projects: int, five: dict[str, int]) -> dict[str, Any]:
    return {"projects": projects, **cov.rates(counts), "five_systems": five}


def _month_summary(months: pl.DataFrame, projects: int) -> dict[str, Any]:
    """Figures the database summed per month and type (``period.region_figures``), summed again."""
    sums = months.select(pl.col(k).sum() for k in (*cov.COUNT_COLUMNS, *(f"five_{k}" for k in FIVE))).row(0, named=True) \
        if months.height else {}
    return _summed({k: int(sums.get(k) or 0) for k in cov.COUNT_COLUMNS}, projects,
                   {k: int(sums.get(f"five_{k}") or 0) for k in FIVE})


def _check_type(investment_type: str | None) -> None:
    if investment_type is not None and investment_type not in INVESTMENT_TYPES:
        raise bad_request("VALIDATION", "investment_type 应为 government / state_owned / other",
                          "investment_type must be government, state_owned or other")


def in_view(project: Project, principal: Principal, region: str | None, investment_type: str | None) -> bool:
    """The project is the caller's to see and within the region and type asked for."""
    return principal.sees(project) and (region is None or project.region_code.startswith(region)) \
        and (investment_type is None or project.investment_type == investment_type)


def _prefix(principal: Principal, region: str | None) -> str | None:
    """One region prefix narrows the database's queries (a bureau usually has one)."""
    return region or (principal.scope[0] if principal.role == "bureau" and len(principal.scope) == 1 else None)


def visible_projects(catalog: Catalog, principal: Principal, region: str | None, investment_type: str | None) -> dict:
    return {p.code: p for p in catalog.projects(_prefix(principal, region)) if in_view(p, principal, region, investment_type)}


def _scope(catalog: Catalog, principal: Principal, region: str | None,
           investment_type: str | None) -> tuple[tuple[str, ...] | None, list[str] | None]:
    """(region prefixes, project codes) of the caller's view: a bureau's or admin's view is
    whole region prefixes, which the database sums from its per-month rollups without listing
    projects; a contractor's is the list of its projects."""
    if principal.role == "contractor":
        return None, list(visible_projects(catalog, principal, region, investment_type))
    if principal.role == "admin":
        return ((region,) if region else None), None
    if region is None:
        return principal.scope, None
    if any(region.startswith(s) for s in principal.scope):
        return (region,), None
    inside = tuple(s for s in principal.scope if s.startswith(region))
    return (inside, None) if inside else (None, [])


def _bounds(first: str, last: str) -> tuple[dt.date, dt.date]:
    """The first day of ``first`` and the last day of ``last`` (YYYY-MM)."""
    return dt.date(int(first[:4]), int(first[5:7]), 1), month_end(int(last[:4]), int(last[5:7]))


def on_site(project: Project, first: str, last: str) -> bool:
    """Was the project under way in some month of [first, last]? One that starts later or had
    ended before is not expected to upload: never 未上传 for those months."""
    start, end = _bounds(first, last)
    return ((project.start_date is None or project.start_date <= end)
            and (project.end_date is None or project.end_date >= start))


def _not_uploaded(catalog: Catalog, prefixes, codes, investment_type: str | None, seen: set[str],
                  first: str, last: str) -> list[dict]:
    """{"project", "name"} of each project in view, under way in the period(s) (the index's
    dates, as ``on_site``), without figures for them, by code; the few such projects' records
    only to filter by type."""
    start, end = _bounds(first, last)
    cols, rows = catalog.db.project_names(prefixes, codes, under_way=(start.isoformat(), end.isoformat()))
    missing = sorted((code, name) for code, name in rows if code not in seen)
    if investment_type is not None and missing:
        kept = {p.code for p in catalog.db.projects(codes=[code for code, _ in missing])
                if p.investment_type == investment_type}
        missing = [(code, name) for code, name in missing if code in kept]
    return [{"project": code, "name": name} for code, name in missing]


def check_region(principal: Principal, region: str | None) -> None:
    """A bureau asking for a region that does not lie within its own: 404, as for every read
    outside a token's scope (the 通报 answers the same). A wider region too: its figures would
    be the bureau's own slice under the wider region's name."""
    if principal.role == "bureau" and region is not None and not any(region.startswith(s) for s in principal.scope):
        raise not_found("区划", "Region")


def stored_rows(request: Request, principal: Principal, first: str, last: str, region: str | None,
                investment_type: str | None) -> tuple[pl.DataFrame, dict]:
    """The stored rows of every project-period in view and the projects in view, for the
    exports, the 通报 and /risks (the dashboard's JSON sums in the database instead)."""
    require_role(principal, "admin", "bureau", "contractor")
    check_region(principal, region)
    _check_type(investment_type)
    state = request.app.state
    catalog: Catalog = state.catalog
    projects = visible_projects(catalog, principal, region, investment_type)
    updating = period_mod.settle(catalog, state.settings, state.today(), first, last)
    request.state.updating = [{"project": p, "period": m} for p, m in updating if p in projects]
    rows = period_mod.coverage_rows(catalog, first, last, _prefix(principal, region), list(projects), state.coverage_cache)
    # In scope for these months: the projects under way then, and any that sent figures anyway.
    sent = set(rows.get_column("project").to_list()) if rows.height else set()
    projects = {c: p for c, p in projects.items() if c in sent or on_site(p, first, last)}
    return rows, projects


def items_frame(rows: pl.DataFrame, projects: dict, today, first: str, last: str) -> pl.DataFrame:
    """Stored rows -> one Coverage item per project(-period), named, in order."""
    if rows.height == 0:
        return pl.DataFrame()
    if first != last:
        rows = cov.sum_by_project(rows, f"{first}..{last}")  # a range: one item per project
    names = pl.DataFrame({"project": list(projects), "name": [p.name for p in projects.values()]})
    return cov.project_items(rows.join(names, on="project", how="left"), today).sort("period", "project")


class CoverageController(Controller):
    path = "/api/v1"
    tags = ["coverage"]

    @get("/coverage", operation_id="getRegionCoverage", sync_to_thread=True)
    def region(self, request: Request, principal: NamedDependency[Principal], period: FromQuery[str | None] = None,
               period_from: FromQuery[str | None] = None, period_to: FromQuery[str | None] = None, region: FromQuery[str | None] = None,
               investment_type: FromQuery[str | None] = None) -> Response:
        """Totals over the projects the caller may see (a bureau: its region), split by investment
        type, each project's Coverage, and a month-by-month trend for a period range.
        ``Accept: text/csv`` answers one line per project-period."""
        first, last = _periods(period, period_from, period_to)
        require_role(principal, "admin", "bureau", "contractor")
        check_region(principal, region)
        _check_type(investment_type)
        state = request.app.state
        catalog: Catalog = state.catalog
        today = state.today()
        prefixes, codes = _scope(catalog, principal, region, investment_type)

        def marked(code: str) -> bool:  # few: only projects with a change in flight
            if codes is not None:
                return code in codes
            p = catalog.project(code)
            return p is not None and in_view(p, principal, region, investment_type)

        updating = [{"project": p, "period": m} for p, m in period_mod.settle(catalog, state.settings, today, first, last)
                    if marked(p)]
        as_csv = "text/csv" in request.headers.get("accept", "")
        # Reused while the database's (rows, greatest version) of these months, the day and the
        # changes in flight are the same: never stale. (Names are fixed at registration; a project
        # with no figures is not listed.)
        key = (principal.role, principal.scope, first, last, region, investment_type, as_csv,
               tuple(codes) if codes is not None else None)
        signature = (catalog.db.coverage_signature(first, last), catalog.db.project_count(), today,
                     tuple((u["project"], u["period"]) for u in updating))
        body = state.response_cache.get(key, signature)
        if body is None:
            body = self._region_body(catalog, prefixes, codes, first, last, region, investment_type, today, updating, as_csv)
            state.response_cache.put(key, signature, body)
        if as_csv:
            from sitereg import exports

            where = region or (principal.scope[0] if principal.role == "bureau" and len(principal.scope) == 1 else None)
            name, fallback = exports.coverage_filename(where, first, last, "csv")
            return Response(body, media_type="text/csv",
                            headers={"Content-Disposition": exports.content_disposition(name, fallback)})
        return Response(body, media_type="application/json")

    def _region_body(self, catalog: Catalog, prefixes, codes, first: str, last: str, region: str | None,
                     investment_type: str | None, today, updating: list, as_csv: bool) -> bytes:
        months, items = period_mod.region_figures(catalog, first, last, today, prefixes, investment_type, codes)
        frame = _project_items(items, first, last, today)
        missing = _not_uploaded(catalog, prefixes, codes, investment_type,
                                set(items.get_column("project").to_list()) if items.height else set(), first, last)
        if as_csv:
            # The same lines as the xlsx's 项目明细: every project in view, 未上传 ones included.
            absent = catalog.db.projects(codes=[m["project"] for m in missing]) if missing else []
            gone = [{"project": p.code, "name": p.name, "region_code": p.region_code, "investment_type": p.investment_type,
                     "period": first if first == last else None, "status": "not_uploaded"}
                    for p in sorted(absent, key=lambda p: p.code)]
            return _csv([*(frame.to_dicts() if frame.height else []), *gone]).encode()
        body: dict[str, Any] = {
            "period": first if first == last else None, "period_from": first, "period_to": last,
            "region": region, "investment_type": investment_type,
            # Project-periods whose figures are being recomputed right now (a change is in flight).
            "updating": updating,
            "totals": _month_summary(months, items.height),
            # Projects in view with nothing for the period(s): the xlsx's 未上传 lines (README).
            "not_uploaded": missing,
            "by_investment_type": {
                t: _month_summary(months.filter(pl.col("investment_type") == t) if months.height else months,
                                  items.filter(pl.col("investment_type") == t).height if items.height else 0)
                for t in INVESTMENT_TYPES},
            # Ten thousand projects are encoded by Polars in one go and embedded as they are.
            "projects": msgspec.Raw(frame.write_json().encode()) if frame.height else [],
        }
        if first != last:
            body["trend"] = [{"period": m, **_month_summary(part, int(part.get_column("projects").sum()))}
                             for (m,), part in months.group_by("period", maintain_order=True)] if months.height else []
        return msgspec.json.encode(body)

    @get("/coverage.xlsx", operation_id="exportRegionCoverage", sync_to_thread=True, media_type=XLSX)
    def region_xlsx(self, request: Request, principal: NamedDependency[Principal], period: FromQuery[str | None] = None,
                    period_from: FromQuery[str | None] = None, period_to: FromQuery[str | None] = None, region: FromQuery[str | None] = None,
                    investment_type: FromQuery[str | None] = None) -> Response[bytes]:
        """The bureau's report as an Excel workbook, in Chinese: 汇总 (the whole region, 其中政府投资工程项目,
        the other investment types) and 项目明细 (every project in scope, 未上传 where nothing came for
        the month, then the totals). Rates are 0.0% number cells, yuan are 0.00 number cells, figures are
        those of ``GET /api/v1/coverage``. Named by region and month, e.g.
        实名制工资支付覆盖率-4403-2026-10.xlsx (RFC 5987 ``filename*``)."""
        from sitereg import exports

        first, last = _periods(period, period_from, period_to)
        rows, projects = stored_rows(request, principal, first, last, region, investment_type)
        today = request.app.state.today()
        parts = {"all": rows, **{t: rows.filter(pl.col("investment_type") == t) if rows.height else rows for t in INVESTMENT_TYPES}}
        summaries = {k: _summary(part, today, first, last) for k, part in parts.items()}
        in_scope = {"all": len(projects), **{t: sum(p.investment_type == t for p in projects.values()) for t in INVESTMENT_TYPES}}
        frame = items_frame(rows, projects, today, first, last)
        where = region or (principal.scope[0] if principal.role == "bureau" and len(principal.scope) == 1 else None)
        data = exports.coverage_workbook(region=where, first=first, last=last, today=today, summaries=summaries,
                                         in_scope=in_scope, items=frame.to_dicts() if frame.height else [], projects=projects)
        name, fallback = exports.coverage_filename(where, first, last)
        return Response(data, media_type=XLSX, headers={"Content-Disposition": exports.content_disposition(name, fallback)})

    @get("/risks", operation_id="getRisks", sync_to_thread=True)
    def risks(self, request: Request, principal: NamedDependency[Principal], period: FromQuery[str],
              region: FromQuery[str | None] = None) -> dict[str, Any]:
        """Projects ordered by estimated wage arrears, with the error findings that drive it."""
        first, last = _periods(period, None, None)
        rows, projects = stored_rows(request, principal, first, last, region, None)
        today = request.app.state.today()
        out = []
        for row in rows.iter_rows(named=True) if rows.height else []:
            errors = period_mod.errors_as_of(row, today)
            p = projects[row["project"]]
            out.append({"project": p.code, "name": p.name, "region_code": p.region_code,
                        "investment_type": p.investment_type, "arrears_estimate": cov.rates(row)["arrears_estimate"],
                        "arrears_fen": row["arrears_fen"], "workers_active": row["a_n"],
                        "errors": sum(errors.values()), "by_rule": errors})
        out.sort(key=lambda r: (-r["arrears_fen"], -r["errors"], r["project"]))
        for r in out:
            del r["arrears_fen"]
        return {"period": first, "region": region, "updating": request.state.updating, "projects": out}


def _csv(items: list[dict[str, Any]]) -> str:
    """One line per project-period, then one per project with nothing uploaded (status
    not_uploaded, figures blank). An arrears estimate that cannot be made (no daily or monthly
    contract wage) is blank, as the xlsx's 无法估算, never 0.00."""
    from sitereg.exports import arrears_unknown

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        line = {**item, "status": item.get("status", "uploaded")}
        ssc, five = item.get("ssc_payouts") or {}, item.get("five_systems") or {}
        line.update({f"ssc_payouts_{k}": ssc.get(k) for k in ("count", "amount", "share")})
        line.update({f"five_{k}": None if five.get(k) is None else str(bool(five[k])).lower() for k in FIVE})
        if line["status"] == "uploaded" and arrears_unknown(item):
            line["arrears_estimate"] = None
        writer.writerow([csv_safe(line.get(k)) for k in CSV_COLUMNS])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 csv with Chinese names correctly


class ProjectCoverageController(Controller):
    path = "/api/v1/projects/{code:str}/periods/{period:str}"
    tags = ["coverage"]

    @get("/coverage", operation_id="getProjectCoverage", sync_to_thread=True)
    def coverage(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                 period: FromPath[str]) -> dict[str, Any]:
        """The Coverage object of one project-period, computed from its current tables, with each
        rate's numerator and denominator, and ``current_uploads`` (kind -> upload id) as the
        findings have it: {} for a month nothing was uploaded for, whose zeros are no figures."""
        project = visible_project(request, principal, code)
        checked_period(period)
        if principal.role == "bank":
            require_role(principal, "admin", "bureau", "contractor")
        today = request.app.state.today()
        catalog = request.app.state.catalog
        row = period_mod.coverage_counts(catalog, project, period, today)
        current = catalog.current_uploads(project.code, period)
        return {**period_mod.coverage_json(row, today), "current_uploads": dict(sorted(current.items()))}
