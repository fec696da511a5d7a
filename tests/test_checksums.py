"""Property tests: valid GB 11643 IDs and GB 32100 credit codes pass; any one changed character fails."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idgen import CREDIT_CHARS, make_credit, make_id
from sitereg.validate import checks as ck

TODAY = dt.date(2026, 11, 27)


def id_status(value: str):
    return pl.select(ck.id_status(pl.lit(value), pl.lit(False), TODAY)).item()


def credit_ok(value: str) -> bool:
    return pl.select(ck.credit_code_valid(pl.lit(value))).item()


ids = st.builds(
    lambda region, birth, seq, male: make_id(birth.strftime("%Y%m%d"), seq, male, region),
    st.sampled_from(["110101", "440305", "310104", "510107", "650102", "820000"]),
    st.dates(dt.date(1930, 1, 1), dt.date(2012, 12, 31)),
    st.integers(0, 999),
    st.booleans(),
)
credits = st.text(alphabet=CREDIT_CHARS, min_size=17, max_size=17).map(make_credit)


@settings(max_examples=300, deadline=None)
@given(ids)
def test_valid_ids_pass(value):
    assert id_status(value) is None
    assert id_status(value.lower()) in (None, "ID_FORMAT")  # x is upper-cased before the check in the pipeline


@settings(max_examples=300, deadline=None)
@given(ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_one_changed_character_fails(value, pos, ch):
    changed = value[:pos] + ch + value[pos + 1:]
    if changed == value:
        return
    assert id_status(changed) is not None


@settings(max_examples=300, deadline=None)
@given(credits)
def test_valid_credit_codes_pass(value):
    assert credit_ok(value)


@settings(max_examples=300, deadline=None)
@given(credits, st.integers(0, 17), st.sampled_from(CREDIT_CHARS + "IOSVZ"))
def test_one_changed_credit_character_fails(value, pos, ch):
    changed = value[:pos] + ch + value[pos + 1:]
    if changed == value:
        return
    assert not credit_ok(changed)
