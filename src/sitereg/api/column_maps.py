"""A project's column maps: its site's own headers, as written in its files, to the canonical
columns of a kind, so that later files with those headers go in without renaming.

``GET`` and ``PUT /api/v1/projects/{code}/column-maps/{kind}``. The map is stored by the database
(``Database.save_column_map`` / ``column_map``); the validator reads it when it maps a file's
headers. Whoever sees the project may read its maps (404 otherwise, as for every project read);
its contractor and admins may replace them (a bureau: 403). Each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import FromPath

from sitereg import grammar as g
from sitereg.api.auth import Principal, audit
from sitereg.api.errors import bad_request
from sitereg.api.periods import visible_project, writable_project
from sitereg.validate.columns import KIND_LABELS, KINDS, SCHEMAS

MAX_ENTRIES = 200  # a sheet with more columns than this is not a wage sheet
MAX_HEADER = 100  # characters of one header as written
EXAMPLE = {"mapping": {"工人名字": "name", "身份证号（18位）": "id_number", "银行卡号码": "bank_card"}}
SHAPE_ZH = '请求体应为 JSON：{"mapping": {"文件中的列名": "标准列名", ...}}'
SHAPE_EN = 'The body must be JSON: {"mapping": {"header as written": "canonical column", ...}}'


def columns_of(kind: str) -> list[dict[str, Any]]:
    """The canonical columns of a kind, as the form offers them (name, Chinese label, required)."""
    return [{"name": c.name, "label": c.label, "required": c.required} for c in SCHEMAS[kind]]


def checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise bad_request("KIND_INVALID", f"资料类型 kind 应为 {' / '.join(KINDS)} 之一",
                          f"kind must be one of {', '.join(KINDS)}", {"field": "kind", "allowed": list(KINDS)})
    return kind


def parse_mapping(raw: bytes, kind: str) -> dict[str, str]:
    """The body's ``mapping``, checked: every header is text of 1-100 characters, every value a
    canonical column of ``kind``, no column given twice. Anything else is a coded 400."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise bad_request("COLUMN_MAP_INVALID", SHAPE_ZH, SHAPE_EN) from None
    if not isinstance(data, dict) or set(data) != {"mapping"} or not isinstance(data["mapping"], dict):
        raise bad_request("COLUMN_MAP_INVALID", SHAPE_ZH, SHAPE_EN)
    mapping: dict[str, Any] = data["mapping"]
    if len(mapping) > MAX_ENTRIES:
        raise bad_request("COLUMN_MAP_INVALID", f"列名对应最多 {MAX_ENTRIES} 项", f"A column map has at most {MAX_ENTRIES} entries",
                          {"max_entries": MAX_ENTRIES})
    bad_headers = [h for h in mapping if not g.text_ok(h, max_len=MAX_HEADER) or not h.strip()]
    if bad_headers:
        raise bad_request("COLUMN_MAP_INVALID", f"文件中的列名应为 1-{MAX_HEADER} 个字符，不含控制字符",
                          f"A header must be 1-{MAX_HEADER} characters without control characters",
                          {"headers": [h[:MAX_HEADER] for h in bad_headers], "allowed": [c.name for c in SCHEMAS[kind]]})
    names = [c.name for c in SCHEMAS[kind]]
    unknown = {h: v for h, v in mapping.items() if not isinstance(v, str) or v not in names}
    if unknown:
        shown = "、".join(f"「{h}」" for h in list(unknown)[:5])
        raise bad_request("COLUMN_MAP_INVALID",
                          f"{shown} 对应的不是{KIND_LABELS[kind]}的标准列；可用的标准列：{'、'.join(names)}",
                          f"{', '.join(repr(h) for h in list(unknown)[:5])} map to no canonical column of {kind}; "
                          f"the columns are: {', '.join(names)}",
                          {"headers": list(unknown), "allowed": names})
    targets: dict[str, list[str]] = {}
    for header, name in mapping.items():
        targets.setdefault(name, []).append(header)
    twice = {name: hs for name, hs in targets.items() if len(hs) > 1}
    if twice:
        name, hs = next(iter(twice.items()))
        raise bad_request("COLUMN_MAP_INVALID",
                          f"{'、'.join(f'「{h}」' for h in hs)} 都对应标准列 {name}：一个标准列只能对应文件中的一列",
                          f"{', '.join(repr(h) for h in hs)} all map to {name}: a canonical column takes one header",
                          {"headers": [h for hs in twice.values() for h in hs], "columns": list(twice), "allowed": names})
    return {str(h): str(v) for h, v in mapping.items()}


@dataclass
class _PutOperation(Operation):
    """The PUT's request body in the OpenAPI document (the handler reads and checks the raw body
    itself, so that every refusal is a coded 400 in the caller's language)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, description=(
            "The whole map of the project and kind (it replaces the previous one; {} clears it): each header as "
            "written in the site's files -> a canonical column of the kind (see `columns` in the GET answer)."),
            content={"application/json": OpenAPIMediaType(
                schema=Schema(type="object", required=["mapping"], additional_properties=False, properties={
                    "mapping": Schema(type="object", max_properties=MAX_ENTRIES,
                                      additional_properties=Schema(type="string", examples=["name"]))}),
                examples={"map": Example(value=EXAMPLE)})})


class ColumnMapController(Controller):
    path = "/api/v1/projects/{code:str}/column-maps"
    tags = ["projects"]

    @get("/{kind:str}", operation_id="getColumnMap", sync_to_thread=True,
         summary="Read a project's column map for one kind (header as written -> canonical column)")
    def read(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
             kind: FromPath[str]) -> dict[str, Any]:
        """The saved map of the project and kind (``{}`` when none is saved) and the kind's canonical
        columns (``name``, Chinese ``label``, ``required``) a header may map to. Anyone who sees the
        project (its contractor, its region's bureau, admin); 404 otherwise."""
        project = visible_project(request, principal, code)
        checked_kind(kind)
        mapping = request.app.state.catalog.db.column_map(project.code, kind)
        return {"project": project.code, "kind": kind, "mapping": mapping, "columns": columns_of(kind)}

    @put("/{kind:str}", operation_id="putColumnMap", request_max_body_size=65_536, operation_class=_PutOperation,
         summary="Save a project's column map for one kind (contractor of the project, admin)")
    async def save(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                   kind: FromPath[str]) -> dict[str, Any]:
        """Replace the map of the project and kind: ``{"mapping": {"工人名字": "name", ...}}``. Headers
        are kept as written; values must be canonical columns of the kind, each used once. Later
        uploads of that kind to the project read those headers as the mapped columns. 400
        COLUMN_MAP_INVALID or KIND_INVALID with the offending headers in ``extra``; 403 for a token
        that may not upload to the project, whether or not it exists (404 for an admin when it does
        not).
        Audited (``save_column_map``)."""
        catalog = request.app.state.catalog
        project = await anyio.to_thread.run_sync(
            writable_project, request, principal, code,
            "该令牌无权修改此项目的列名对应（只有项目的施工总承包单位和管理员可以）",
            "This token may not change this project's column maps (its contractor and admins may)")
        checked_kind(kind)
        mapping = parse_mapping(await request.body(), kind)

        def store() -> None:
            catalog.db.save_column_map(project.code, kind, mapping)
            audit(request, principal, "save_column_map", project.code, kind=kind, mapping=mapping)

        await anyio.to_thread.run_sync(store)
        return {"project": project.code, "kind": kind, "mapping": mapping, "columns": columns_of(kind)}
