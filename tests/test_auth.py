"""Roles and scopes of api.md: 401 without a token, 403 for writes outside scope, 404 for reads."""

from __future__ import annotations

from conftest import upload

PERIOD = "2026-10"


def test_no_token_is_401(client):
    r = client.get("/api/v1/projects")
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHORIZED"
    assert client.get("/api/v1/projects", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_only_admin_registers_projects(client, tokens, project_body):
    bureau = tokens.issue("bureau", "44")
    r = client.post("/api/v1/projects", json=project_body, headers=bureau)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


def test_invalid_project_body_is_400(client, admin, project_body):
    body = {**project_body, "contractor_credit_code": "91440300MA5DL7K25X", "region_code": "44"}
    r = client.post("/api/v1/projects", json=body, headers=admin)
    assert r.status_code == 400
    assert set(r.json()["extra"]["fields"]) == {"contractor_credit_code", "region_code"}


def test_contractor_sees_own_projects_only(client, project, tokens, contractor):
    other = tokens.issue("contractor", "91440106618704536K")
    assert [p["code"] for p in client.get("/api/v1/projects", headers=contractor).json()["projects"]] == [project["code"]]
    assert client.get("/api/v1/projects", headers=other).json()["projects"] == []
    assert client.get(f"/api/v1/projects/{project['code']}", headers=other).status_code == 404


def test_upload_outside_scope_is_403_like_a_missing_project_and_read_is_404(client, project, tokens, contractor, admin):
    """api.md: a token outside its scope gets 403 for writes and 404 for reads. A write answers
    the same whether the project exists or not: no existence oracle (pen test 5)."""
    other = tokens.issue("contractor", "91440106618704536K")
    r = upload(client, other, project["code"], "roster", PERIOD, "roster.xlsx")
    missing = upload(client, other, "XM-NO-SUCH-PROJECT", "roster", PERIOD, "roster.xlsx")
    assert r.status_code == missing.status_code == 403
    assert r.json() == missing.json() and r.json()["code"] == "FORBIDDEN"
    for code in (project["code"], "XM-NO-SUCH-PROJECT"):
        put = client.put(f"/api/v1/projects/{code}/column-maps/roster", json={"mapping": {"工人名字": "name"}},
                         headers=other)
        assert put.status_code == 403, (code, put.text)
    assert upload(client, admin, "XM-NO-SUCH-PROJECT", "roster", PERIOD, "roster.xlsx").status_code == 404
    mine = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    for path in ("", "/report", "/original"):
        assert client.get(f"/api/v1/uploads/{mine['upload_id']}{path}", headers=other).status_code == 404
    assert client.get(f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings", headers=other).status_code == 404


def test_bureau_reads_its_region_and_cannot_upload(client, project, tokens, contractor):
    inside, outside = tokens.issue("bureau", "4403"), tokens.issue("bureau", "3101")
    mine = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    assert client.get(f"/api/v1/uploads/{mine['upload_id']}/report", headers=inside).status_code == 200
    assert client.get(f"/api/v1/uploads/{mine['upload_id']}/report", headers=outside).status_code == 404
    assert upload(client, inside, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 403
    assert upload(client, outside, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 403


def test_unknown_upload_and_project_are_404(client, admin):
    assert client.get("/api/v1/uploads/U00000000000000000000abcdef", headers=admin).status_code == 404
    assert client.get("/api/v1/uploads/../../etc", headers=admin).status_code == 404
    r = upload(client, admin, "NOPE", "roster", PERIOD, "roster.xlsx")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


def test_errors_in_english_on_request(client):
    r = client.get("/api/v1/projects", headers={"Accept-Language": "en"})
    assert r.json()["detail"].startswith("Missing token")


def test_a_body_litestar_refuses_has_an_object_extra_and_a_period_given_twice_is_400(client, admin, tokens):
    """api.md: errors are {"status", "code", "detail", "extra": {...}}; Litestar's validation
    errors put a list there. A coverage query with both period and period_from silently used
    period (a new-user trial)."""
    r = client.post("/api/v1/projects", content=b'{"code": 5}', headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and isinstance(r.json()["extra"], dict), r.text
    bureau = tokens.issue("bureau", "4403")
    r = client.get("/api/v1/coverage?period=2026-10&period_from=2026-01&period_to=2026-10", headers=bureau)
    assert r.status_code == 400 and r.json()["code"] == "PERIOD_INVALID"
    assert "period_from" in client.get("/api/v1/coverage?period=2026-10&period_from=2026-01", headers={
        **bureau, "Accept-Language": "en"}).json()["detail"]
