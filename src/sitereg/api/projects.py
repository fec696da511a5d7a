"""Projects: registered by admins, read by whoever's scope covers them."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Response

from sitereg.api.auth import Principal, audit, require_role
from sitereg.api.errors import ApiError, bad_request, not_found
from sitereg.catalog import Catalog, Project, project_problems

log = logging.getLogger("sitereg.api")


def project_json(project: Project) -> dict[str, Any]:
    """A project as responses show it: the dedicated account masked like every account (****1300)."""
    data = msgspec.to_builtins(project)
    if data.get("dedicated_account"):
        data["dedicated_account"] = "****" + data["dedicated_account"][-4:]
    return data


class ProjectController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]

    # A project is a few hundred bytes; nothing legitimate comes near this.
    @post("/", operation_id="createProject", sync_to_thread=True, status_code=201, request_max_body_size=65_536)
    def create(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[Project]) -> Response[dict[str, Any]]:
        """Register a project (admin). Body: the project fields of domain.md. 409 if the code exists."""
        require_role(principal, "admin")
        project = data
        problems = project_problems(project)
        if problems:
            raise bad_request("VALIDATION", "；".join(zh for _, zh, _ in problems), "; ".join(en for _, _, en in problems),
                              {"fields": [f for f, _, _ in problems]})
        catalog: Catalog = request.app.state.catalog
        if not catalog.create_project(project):
            raise ApiError(409, "PROJECT_EXISTS", f"项目编码 {project.code} 已存在", f"Project code {project.code} already exists")
        audit(request, principal, "create_project", project.code)
        log.info("project %s registered by %s", project.code, principal.label)
        return Response(project_json(project), status_code=201)

    @get("/", operation_id="listProjects", sync_to_thread=True)
    def list(self, request: Request, principal: NamedDependency[Principal]) -> dict[str, Any]:
        """The projects this token may see."""
        catalog: Catalog = request.app.state.catalog
        visible = [project_json(p) for p in catalog.projects() if principal.sees(p)]
        return {"projects": visible}

    @get("/{code:str}", operation_id="getProject", sync_to_thread=True)
    def get_one(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str]) -> dict[str, Any]:
        """One project, if this token may see it (404 otherwise)."""
        project = request.app.state.catalog.project(code)
        if project is None or not principal.sees(project):
            raise not_found("项目", "Project")
        return project_json(project)
