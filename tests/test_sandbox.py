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


def _same(a, b) -> None:
    assert type(a) is type(b), (a, b)
    if not hasattr(a, "frame"):
        assert a == b
        return
    assert len(a.sheets()) == len(b.sheets())
    for x, y in zip(a.sheets(), b.sheets(), strict=True):
        assert x.frame.equals(y.frame) and (x.headers, x.header_row, x.sheet, x.title) == (y.headers, y.header_row, y.sheet, y.title)
        assert x.numeric.keys() == y.numeric.keys()
        assert all(x.numeric[k].equals(y.numeric[k]) for k in x.numeric)


def _hidden_only_data() -> bytes:
    # The visible sheet holds nothing but spaces: the hidden one is read after all.
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "   "
    data = wb.create_sheet("花名册")
    data.append(["姓名", "身份证号码", "工时"])
    data.append(["甲", "110101199003074592", 8])
    data.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_isolated_and_in_process_readers_agree(tmp_path):
    """The isolated reader scans and reads a workbook in two children at once; what it makes of
    every fixture, and of the workbooks that need the one-pass read, is what one process makes."""
    from conftest import FIXTURES
    from sitereg.pipeline import read
    from sitereg.settings import Settings
    from test_readers import A1, HEADER_CELLS, hand_xlsx

    files = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.iterdir()) if p.suffix in (".xlsx", ".csv")]
    files += [
        # cells without r=: the scan cannot place them, calamine's typed reads are needed
        ("rless.xlsx", hand_xlsx(f'<row r="1">{HEADER_CELLS}</row><row r="2"><c t="inlineStr"><is><t>甲</t></is></c>'
                                 '<c><v>110101199003074592</v></c></row>')),
        ("hidden_only.xlsx", _hidden_only_data()),
        # refused by the scan, while calamine, in its own child, would abort on it
        ("bomb.xlsx", hand_xlsx(f'<row r="1">{A1}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')),
        ("expands.xlsx", hand_xlsx(f'<row r="1">{HEADER_CELLS}</row>', pad=3_000_000)),  # past the 2 MB below
    ]
    assert len(files) >= 20
    for name, data in files:
        a = read(Settings(reader_isolation=True, max_xml_bytes=2_000_000), data, name)
        b = read(Settings(reader_isolation=False, max_xml_bytes=2_000_000), data, name)
        _same(a, b)
        if name in ("rless.xlsx", "hidden_only.xlsx"):
            assert a.frame.height == 1 and "身份证号码" in a.headers, name
        if name in ("bomb.xlsx", "expands.xlsx"):
            assert a.code == "FILE_TOO_LARGE", name


def test_a_failure_finishing_the_two_child_read_falls_back_to_the_one_child_read(monkeypatch, caplog):
    from conftest import FIXTURES
    from sitereg.pipeline import read
    from sitereg.settings import Settings
    from sitereg.validate import readers

    def broken(*_args, **_kw):
        raise RuntimeError("a bug in finishing")

    data = (FIXTURES / "roster.xlsx").read_bytes()
    expected = read(Settings(reader_isolation=False), data, "roster.xlsx")
    monkeypatch.setattr(readers, "finish_xlsx", broken)
    got = read(Settings(reader_isolation=True), data, "roster.xlsx")
    _same(got, expected)
    assert "a bug in finishing" in caplog.text
