"""A project-period's findings across its files (and across projects)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from sitereg import grammar as g
from sitereg import period as period_mod
from sitereg.api.auth import Principal
from sitereg.api.errors import bad_request, forbidden, lang_of, not_found
from sitereg.api.findings import render
from sitereg.catalog import Catalog, Project


def visible_project(request: Request, principal: Principal, code: str) -> Project:
    catalog: Catalog = request.app.state.catalog
    project = catalog.project(code)
    if project is None or not principal.sees(project):
        raise not_found("项目", "Project")
    return project


def writable_project(request: Request, principal: Principal, code: str, zh: str, en: str) -> Project:
    """The project the caller may write to: 403 otherwise (api.md: writes outside scope), the
    same whether or not the project exists, so a write tells no one which codes exist; an admin,
    who sees every project, gets 404 for one that does not."""
    project = request.app.state.catalog.project(code)
    if project is not None and principal.may_upload(project):
        return project
    if principal.role == "admin":
        raise not_found("项目", "Project")
    raise forbidden(zh, en)


def checked_period(period: str) -> str:
    if not g.PERIOD.ok(period):
        raise bad_request("PERIOD_INVALID", "period 应为 YYYY-MM 格式，如 2026-10", "period must be YYYY-MM, e.g. 2026-10")
    return period


class PeriodController(Controller):
    path = "/api/v1/projects/{code:str}/periods/{period:str}"
    tags = ["findings"]

    @get("/findings", operation_id="getPeriodFindings", sync_to_thread=True)
    def findings(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str], period: FromPath[str]) -> dict[str, Any]:
        """Every current finding of the project-period: per-file findings of the current uploads,
        then cross-file and cross-project ones, recomputed from the current tables."""
        project = visible_project(request, principal, code)
        checked_period(period)
        frame = period_mod.findings(request.app.state.catalog, request.app.state.settings, project, period,
                                    request.app.state.today())
        rendered = render(frame, None, lang_of(request), request.app.state.settings.report_limit)
        # What the findings were computed from (roster and contracts carry over from earlier
        # months): a month with nothing uploaded shows {} here, not a clean bill.
        current = request.app.state.catalog.current_uploads(code, period)
        return {"project": code, "period": period, "current_uploads": dict(sorted(current.items())), **rendered}
