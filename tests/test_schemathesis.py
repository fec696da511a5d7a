"""Schemathesis drives every operation of the service's own OpenAPI document, as each role:
whatever the generated input, the answer is never a 500."""

from __future__ import annotations

import json
import tempfile
import time

import schemathesis
from hypothesis import HealthCheck, settings

from conftest import FIXTURES, TODAY
from sitereg.api import create_app
from sitereg.catalog import Project
from sitereg.settings import Settings
from sitereg.storage import LocalStore

_DATA = tempfile.mkdtemp(prefix="sitereg-schemathesis-")
_STORE = LocalStore(__import__("pathlib").Path(_DATA))
APP = create_app(Settings(data_dir=_DATA), _STORE, today=lambda: TODAY)
_CATALOG = APP.state.catalog
_PROJECT = json.loads((FIXTURES / "project.json").read_text(encoding="utf-8"))
_CATALOG.create_project(__import__("msgspec").convert(_PROJECT, Project))
TOKENS = {
    "admin": _CATALOG.issue_token("admin", ()),
    "contractor": _CATALOG.issue_token("contractor", (_PROJECT["contractor_credit_code"],)),
    "bank": _CATALOG.issue_token("bank", (_PROJECT["dedicated_account"],)),
    "bureau": _CATALOG.issue_token("bureau", ("4403",)),
}

schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP)


SECONDS = 10.0  # a request that takes longer fails the run (the pen test's never-ending GET)

# The pen test's inputs that slipped the grammar: digits that are not ASCII, a trailing newline.
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MUTATIONS = {
    "as generated": lambda v: v,
    "full-width digits": lambda v: v.translate(_FULLWIDTH),
    "Arabic-Indic digits": lambda v: v.translate(_ARABIC_INDIC),
    "trailing newline": lambda v: v + "\n",
}
VALID = {"period": "2026-10", "period_from": "2016-11", "period_to": "2026-10", "code": _PROJECT["code"], "region": "4403"}
DEEP_JSON = b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"


def _mutated(values: dict | None, mutate) -> dict | None:
    if not values:
        return values
    return {k: mutate(VALID.get(k, v) if isinstance(v, str) else v) if isinstance(v, str) else v for k, v in values.items()}


def _call(case, role: str, token: str, **kwargs):
    started = time.perf_counter()
    response = case.call(headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}, **kwargs)
    took = time.perf_counter() - started
    where = (role, case.method, case.formatted_path, case.query)
    assert response.status_code < 500, (*where, response.text[:300])
    assert took < SECONDS, (*where, f"{took:.1f} s")
    return response


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    for role, token in TOKENS.items():
        _call(case, role, token)


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_on_inputs_that_slip_a_grammar(case):
    """Each generated case again with its path and query values made valid-looking and then
    given full-width or Arabic-Indic digits or a trailing newline, and JSON bodies nested deep:
    a coded 4xx in time, never a 500 and never a hang."""
    for mutate in MUTATIONS.values():
        variant = case.operation.Case(method=case.method, path_parameters=_mutated(case.path_parameters, mutate),
                                      query=_mutated(case.query, mutate), headers=case.headers, body=case.body,
                                      media_type=case.media_type)
        for role, token in TOKENS.items():
            _call(variant, role, token)
    if case.method.upper() in ("POST", "PUT", "PATCH"):
        for role, token in TOKENS.items():
            response = _call(case, role, token, data=DEEP_JSON, headers={"Content-Type": "application/json"})
            assert 400 <= response.status_code < 500
