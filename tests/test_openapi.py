"""The OpenAPI document: valid, complete enough to integrate from, and readable with no network
(Swagger UI's files come from the swagger-ui-bundle-v2 package and are served by sitereg)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from conftest import TODAY
from test_browser import CHROMIUM, LAUNCH_ARGS, _free_port

STATUSES = {"400", "401", "403", "404", "409", "413", "422", "503"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    from litestar.testing import TestClient

    from sitereg.api import create_app
    from sitereg.settings import Settings

    settings = Settings(data_dir=str(tmp_path_factory.mktemp("openapi") / "data"), reader_isolation=False)
    with TestClient(create_app(settings, today=lambda: TODAY)) as client:
        r = client.get("/schema/openapi.json")
        assert r.status_code == 200
        yield r.json()


def _ops(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_document_is_valid_openapi(doc):
    validate(doc)


def test_every_operation_has_a_summary_a_description_and_its_errors(doc):
    seen = set()
    for path, method, op in _ops(doc):
        assert op.get("summary") and not op["summary"].isidentifier(), (method, path, op.get("summary"))
        assert op.get("description"), (method, path)
        errors = {s for s in op["responses"] if s[0] in "45"}
        assert errors, (method, path)
        for status in errors:
            media = op["responses"][status]["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}
            example = next(iter(media["examples"].values()))["value"]
            assert set(example) == {"status", "code", "detail", "extra"} and str(example["status"]) == status
        seen |= errors
    assert seen >= STATUSES
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["status", "code", "detail", "extra"]


def test_upload_form_batch_body_and_parameters(doc):
    upload = doc["paths"]["/api/v1/projects/{code}/uploads"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["period", "file"]
    assert {"roster", "contracts", "attendance", "payroll", "payments", "entry_exit"} <= set(form["properties"]["kind"]["enum"])
    assert form["properties"]["period"]["pattern"] == r"^[0-9]{4}-(0[1-9]|1[0-2])$"
    assert {"200", "201", "413", "422"} <= set(upload["responses"])
    batch = doc["paths"]["/api/v1/payment-batches"]["post"]["requestBody"]
    assert batch["required"] is True
    ref = batch["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = doc["components"]["schemas"][ref]
    assert set(schema["required"]) == {"batch_id", "payer_account", "records"}
    assert "text/csv" in batch["content"]
    coverage = doc["paths"]["/api/v1/coverage"]["get"]
    params = {p["name"]: p for p in coverage["parameters"]}
    assert params["period"]["schema"]["pattern"].startswith("^[0-9]{4}")
    assert params["region"]["schema"]["pattern"] == r"^[1-8][0-9]{0,5}$"


def test_swagger_ui_renders_with_the_network_blocked(tmp_path):
    """A government intranet: every request that is not to sitereg itself is aborted."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed")
    import uvicorn
    from playwright.sync_api import sync_playwright

    from sitereg.api import create_app
    from sitereg.settings import Settings

    app = create_app(Settings(data_dir=str(tmp_path / "data"), reader_isolation=False), today=lambda: TODAY)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    outside: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def route(r):
                if r.request.url.startswith(f"http://127.0.0.1:{port}/"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            for path in ("/schema", "/schema/swagger"):
                page.goto(f"http://127.0.0.1:{port}{path}")
                page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
                assert page.locator(".opblock").count() >= 20
                assert page.locator("text=Push a bank payment batch").count() >= 1
            page.screenshot(path="/tmp/sitereg-swagger.png")
            browser.close()
    finally:
        srv.should_exit = True
        thread.join(10)
    assert not outside, f"the page asked the network for {outside}"
