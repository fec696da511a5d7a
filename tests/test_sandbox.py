"""Readers run in a child process: a crash, a memory blow-up or a hang costs that child only."""

from __future__ import annotations

import pytest

from conftest import service, upload


@pytest.mark.parametrize(("limits", "code"), [
    ({"reader_memory_mb": 60}, ("FILE_UNREADABLE", "FILE_TOO_LARGE")),  # the child cannot even start its threads
    ({"reader_seconds": 0.001}, ("FILE_TOO_LARGE",)),
])
def test_reader_failure_is_a_finding_and_the_service_carries_on(tmp_path, project_body, limits, code):
    with service(tmp_path, project_body, **limits) as (client, admin):
        r = upload(client, admin, project_body["code"], "roster", "2026-10", "roster.xlsx")
        assert r.status_code == 422 and r.json()["code"] in code
        assert client.get(f"/api/v1/uploads/{r.json()['upload_id']}/original", headers=admin).status_code == 200
        assert client.get("/health").status_code == 200


def test_isolated_and_in_process_readers_agree(tmp_path):
    from conftest import FIXTURES
    from sitereg.pipeline import read
    from sitereg.settings import Settings

    for name in ("roster.xlsx", "attendance_wide.xlsx", "attendance_long_gbk.csv", "not_a_spreadsheet.xlsx"):
        data = (FIXTURES / name).read_bytes()
        a = read(Settings(reader_isolation=True), data, name)
        b = read(Settings(reader_isolation=False), data, name)
        assert type(a) is type(b)
        if hasattr(a, "frame"):
            assert a.frame.equals(b.frame) and a.header_row == b.header_row
            assert a.numeric.keys() == b.numeric.keys()
        else:
            assert a == b
