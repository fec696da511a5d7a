"""Schemathesis drives every operation of the service's own OpenAPI document, as each role:
whatever the generated input, the answer is never a 500."""

from __future__ import annotations

import json
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings

from conftest import FIXTURES, TODAY
from sitereg.api import create_app
from sitereg.catalog import Catalog, Project
from sitereg.settings import Settings
from sitereg.storage import LocalStore

_DATA = tempfile.mkdtemp(prefix="sitereg-schemathesis-")
_STORE = LocalStore(__import__("pathlib").Path(_DATA))
APP = create_app(Settings(data_dir=_DATA), _STORE, today=lambda: TODAY)
_CATALOG = Catalog(_STORE)
_PROJECT = json.loads((FIXTURES / "project.json").read_text(encoding="utf-8"))
_CATALOG.create_project(__import__("msgspec").convert(_PROJECT, Project))
TOKENS = {
    "admin": _CATALOG.issue_token("admin", ()),
    "contractor": _CATALOG.issue_token("contractor", (_PROJECT["contractor_credit_code"],)),
    "bank": _CATALOG.issue_token("bank", (_PROJECT["dedicated_account"],)),
    "bureau": _CATALOG.issue_token("bureau", ("4403",)),
}

schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    for role, token in TOKENS.items():
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (role, case.method, case.formatted_path, response.text[:300])
