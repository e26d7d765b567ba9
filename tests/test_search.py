"""Whole-table search and count: the engine's number filter, and the RPC through the subprocess."""

from __future__ import annotations

import math
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tables import NaturalNameWarning

from tests.conftest import examples
from tests.test_worker import (  # noqa: F401 (fixtures)
    reply_to,
    send,
    stuck_file,
    stuck_shared,
    stuck_worker,
)
from vime import search
from vime.errors import BadExpression, Cancelled, InvalidParams, NoSuchColumn


# -- the number filter never misses -------------------------------------------------------
@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=50),
    st.text(alphabet="0123456789.-e", min_size=1, max_size=6),
)
def test_float_filter_keeps_every_float_that_shows_the_needle(values, needle):
    array = np.array(values, dtype=np.float64)
    digits = "".join(ch for ch in needle if ch.isdigit())
    if not digits:
        return
    kept = search.float_may_show(array, digits)
    for value, keep in zip(array, kept, strict=True):
        if needle in format(float(value), "g"):
            assert keep, (value, needle)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), min_size=1, max_size=50),
    st.text(alphabet="0123456789-", min_size=1, max_size=8),
)
def test_int_filter_keeps_every_integer_that_shows_the_needle(values, needle):
    array = np.array(values, dtype=np.int64)
    digits = "".join(ch for ch in needle if ch.isdigit())
    if not digits:
        return
    kept = search.int_may_show(array, digits)
    for value, keep in zip(array, kept, strict=True):
        if needle in str(int(value)):
            assert keep, (value, needle)


def test_float_filter_drops_most_numbers_for_an_absent_needle():
    values = np.random.default_rng(1).normal(size=100_000)
    kept = search.float_may_show(values, "987654")
    assert kept.sum() < 100 and not any("987654" in format(v, "g") for v in values[~kept])


@pytest.mark.parametrize(
    ("rows", "from_row", "forward", "wrap", "expected"),
    [
        (10, 3, True, True, [(4, 10, False), (0, 4, True)]),
        (10, -1, True, False, [(0, 10, False)]),
        (10, 3, False, True, [(0, 3, False), (3, 10, True)]),
        (10, 9, True, False, []),
        (10, 0, False, False, []),
    ],
)
def test_scan_ranges(rows, from_row, forward, wrap, expected):
    assert search.spans(rows, from_row, forward, wrap) == expected


# -- through vime-rpc --------------------------------------------------------------------------
ROWS = 3000


@pytest.fixture
def table_file(tmp_path):
    frame = pd.DataFrame(
        {
            "value": np.arange(ROWS) * 0.001 + 1.0,
            "count": np.arange(ROWS, dtype="int64") * 7,
            "label": [f"Row-{i}" for i in range(ROWS)],
            "kind": pd.Categorical(np.where(np.arange(ROWS) % 500 == 499, "rare", "common")),
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="h"),
        }
    )
    frame.loc[1500, "value"] = np.nan
    frame.loc[1200, "label"] = None
    frame.loc[ROWS - 1, "label"] = "the very end"
    path = tmp_path / "search.h5"
    frame.to_hdf(path, key="t", format="table", data_columns=True)
    return path, frame


@pytest.fixture
def searcher(shared_rpc, table_file):
    return shared_rpc.opened(table_file[0])


def find(rpc, **params) -> dict:
    reply = rpc.call("search", name="/t", **params)
    assert reply["ok"], reply
    return reply


def test_text_forward_backward_and_wrap(searcher):
    assert find(searcher, text="Row-12") == {"ok": True, "name": "/t", "row": 12,
                                             "column": "label", "wrapped": False}  # fmt: skip
    assert find(searcher, text="Row-12", from_row=12)["row"] == 120
    back = find(searcher, text="Row-12", from_row=120, direction="backward")
    assert (back["row"], back["wrapped"]) == (12, False)
    wrapped = find(searcher, text="Row-12", from_row=1299)
    assert (wrapped["row"], wrapped["wrapped"]) == (12, True)
    assert find(searcher, text="Row-12", from_row=1299, wrap=False)["row"] is None
    last = find(searcher, text="the very end", from_row=-1)
    assert (last["row"], last["column"]) == (ROWS - 1, "label")
    assert find(searcher, text="the very end", from_row=ROWS - 1, direction="backward")["row"] == (
        ROWS - 1
    )


def test_numbers_match_their_shown_form(searcher, table_file):
    _, frame = table_file
    hit = find(searcher, text="1.25", from_row=-1)
    assert hit["column"] == "value" and format(frame.value[hit["row"]], "g").find("1.25") >= 0
    assert hit["row"] == 250
    assert find(searcher, text="20993", from_row=-1) == {"ok": True, "name": "/t",
                                                         "row": 2999, "column": "count",
                                                         "wrapped": False}  # fmt: skip
    nan = find(searcher, text="nan", from_row=-1, columns=["value"])
    assert nan["row"] == 1500
    missing = find(searcher, text="NaN", from_row=-1, columns=["label"])
    assert missing["row"] == 1200


def test_given_columns_leave_the_index_out(searcher, table_file):
    """columns: 'search only these columns'; without it, the index is searched too."""
    _, frame = table_file
    hit = find(searcher, text="2500", from_row=-1)
    assert (hit["row"], hit["column"]) == (2500, "index")
    shows = [i for i, n in enumerate(frame["count"]) if "2500" in str(n)]
    only = find(searcher, text="2500", from_row=-1, columns=["count"])
    assert (only["row"], only["column"]) == ((shows[0], "count") if shows else (None, None))


def test_smart_case_regex_dates_and_categories(searcher):
    assert find(searcher, text="row-5", from_row=-1)["row"] == 5  # lower case: ignore case
    assert find(searcher, text="ROW-5", from_row=-1)["row"] is None  # capitals: match case
    assert find(searcher, text="ROW-5", from_row=-1, case="ignore")["row"] == 5
    regex = find(searcher, text=r"Row-\d{4}$", from_row=-1, regex=True)
    assert regex["row"] == 1000
    date = find(searcher, text="2024-01-05 03:00", from_row=-1)
    assert (date["row"], date["column"]) == (99, "when")
    assert find(searcher, text="rare", from_row=-1)["row"] == 499
    assert find(searcher, text="absent text", from_row=-1)["row"] is None


def test_query_search_and_count(searcher, table_file):
    _, frame = table_file
    hit = find(searcher, query="count > 7000 and kind == 'rare'")
    assert hit["row"] == 1499 and hit["column"] == "count"
    counted = searcher.call("count", name="/t", query="value > 2")
    assert counted == {"ok": True, "name": "/t", "count": int((frame.value > 2).sum()),
                       "rows": ROWS}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"text": "x", "query": "count > 1"}, InvalidParams.code, "either 'text' or 'query'"),
        ({}, InvalidParams.code, "either 'text' or 'query'"),
        ({"text": ""}, InvalidParams.code, "must not be empty"),
        ({"text": "(", "regex": True}, InvalidParams.code, "not a regex"),
        ({"query": "nope > 1"}, NoSuchColumn.code, "'nope'"),
        ({"query": "__import__('os')"}, BadExpression.code, "not allowed"),
        ({"text": "x", "columns": ["zz"]}, NoSuchColumn.code, "'zz'"),
        ({"text": "x", "direction": "up"}, InvalidParams.code, "forward, backward"),
    ],
)
def test_bad_searches_are_named(searcher, params, code, words):
    reply = searcher.call("search", name="/t", **params)
    assert reply["ok"] is False and reply["code"] == code and words in reply["error"], reply


def test_a_search_can_be_cancelled(stuck_shared):  # noqa: F811
    send(stuck_shared, 31, "search", name="/stuck", text="1")
    stuck_worker(stuck_shared)
    assert stuck_shared.call("cancel", id=31)["cancelled"] == 31
    assert reply_to(stuck_shared, 31)["code"] == Cancelled.code
    assert not math.isnan(stuck_shared.call("ping")["pid"])


def test_a_date_equals_a_string(searcher):
    """pandas turns `when == '...'` into a membership test no date passes; vime reads the
    string as a date first."""
    hit = find(searcher, query="when == '2024-01-05 03:00:00'")
    assert (hit["row"], hit["column"]) == (99, "when")
    query = "when != '2024-01-01' and when in ['2024-01-01', '2024-01-01 01:00']"
    counted = searcher.call("count", name="/t", query=query)
    assert counted["count"] == 1
    bad = searcher.call("count", name="/t", query="when == 'banana'")
    assert bad["code"] == BadExpression.code and "'banana' is not a date" in bad["error"]


# -- past the first chunk: fields read alone, the rest from pages ----------------------------
BIG_ROWS = 120_000  # three chunks: the first page, then two reads of arrays


def test_chunks_grow_from_a_small_first_read_and_cover_the_range():
    """The first 400 rows in parts from 50 up, then 400 at a time: the same boundaries as
    400 at a time from the start."""
    forward = list(search.chunk_ranges(5, 1000, True, size=400, first_size=50))
    assert forward == [(5, 55), (55, 105), (105, 205), (205, 405), (405, 805), (805, 1000)]
    backward = list(search.chunk_ranges(5, 1000, False, size=400, first_size=50))
    assert backward == [(950, 1000), (900, 950), (800, 900), (600, 800), (200, 600), (5, 200)]
    assert list(search.chunk_ranges(5, 60, True, size=400, first_size=50)) == [(5, 55), (55, 60)]
    whole = list(search.chunk_ranges(5, 1000, True, size=400, first_size=400))
    assert whole == [(5, 405), (405, 805), (805, 1000)]
    assert list(search.chunk_ranges(7, 7, True)) == []


@pytest.fixture(scope="module")
def big_table(tmp_path_factory):
    """Floats whose shown text holds a needle only after rounding, in scientific notation,
    negative, subnormal; a named integer index; a date with a time zone that changes its offset,
    a category and strings, each with its match past the first chunk."""
    rows = np.arange(BIG_ROWS)
    x = np.random.default_rng(5).uniform(0, 1, BIG_ROWS)  # shown 0.xxx: no needle below
    special = {40_000: 42.4999996, 50_000: -142.5, 60_000: 4.25e-07, 70_000: 1.5e-310,
               110_000: -42.5, 119_000: 7.25e12}  # fmt: skip
    for row, value in special.items():
        x[row] = value
    frame = pd.DataFrame(
        {
            "x": x,
            "count": rows * 3,
            "when": pd.date_range("2024-01-01", periods=BIG_ROWS, freq="2min", tz="Europe/Paris"),
            "kind": pd.Categorical(np.where(rows == 90_000, "rare", "common")),
            "label": np.where(rows == 115_000, "needle-in-the-last-chunk", "r"),
            "my col": rows + 0.5,
        }
    )
    frame.index.name = "step"  # a query may still say 'index'
    path = tmp_path_factory.mktemp("big") / "big.h5"
    with warnings.catch_warnings():  # PyTables on 'my col': not a Python name
        warnings.simplefilter("ignore", NaturalNameWarning)
        frame.to_hdf(path, key="t", format="table", data_columns=True)
    return path, frame


@pytest.fixture(scope="module")
def big_texts(big_table) -> dict[str, list[str]]:
    return shown_texts(big_table[1])


def shown_texts(frame: pd.DataFrame) -> dict[str, list[str]]:
    """What the page shows in each column, and the index as 'index'."""
    texts = {"index": [str(i) for i in frame.index]}
    for name, column in frame.items():
        if column.dtype.kind == "f":
            texts[name] = [format(v, "g") for v in column]
        else:
            texts[name] = [str(v) for v in column]
    return texts


def expected_hit(texts: dict, needle: str, columns: list[str], from_row: int, forward: bool):
    """The first (row, column) in scan order whose text contains the needle, by brute force."""
    rows = len(texts["index"])
    order = list(range(from_row + 1, rows)) + list(range(from_row + 1)) if forward else (
        list(range(from_row - 1, -1, -1)) + list(range(rows - 1, from_row - 1, -1)))  # fmt: skip
    for row in order:
        for name in columns:
            if needle in texts[name][row]:
                return row, name
    return None, None


@pytest.mark.parametrize(
    ("needle", "columns", "from_row", "direction"),
    [
        ("42.5", ["x"], -1, "forward"),  # 42.4999996 shows 42.5
        ("-42.5", ["x"], -1, "forward"),  # not -142.5
        ("42.5", ["x"], 45_000, "forward"),  # -142.5
        ("42.5", ["x"], BIG_ROWS, "backward"),  # -42.5, in the last chunk read first
        ("42.5", ["x"], 111_000, "forward"),  # wraps to the top
        ("4.25", ["x"], -1, "forward"),  # 4.25e-07
        ("7.25", ["x"], -1, "forward"),  # 7.25e+12
        ("1.5", ["x"], -1, "forward"),  # a subnormal: 1.5e-310
        ("e+12", ["x"], -1, "forward"),
        ("100002", ["index"], -1, "forward"),  # the index, named as a column
        ("+02:00", ["when"], -1, "forward"),  # shown with its offset, past the first chunk
        ("rare", ["kind"], -1, "forward"),
        ("needle-in", ["label"], -1, "forward"),
        ("359997", ["count", "index"], -1, "forward"),
    ],
)
def test_text_search_past_the_first_chunk_finds_what_the_page_shows(
    shared_rpc, big_table, big_texts, needle, columns, from_row, direction
):
    path, _frame = big_table
    texts = big_texts
    forward = direction == "forward"
    row, column = expected_hit(texts, needle, columns, from_row, forward)
    assert row is not None and row >= search.FIRST_CHUNK_ROWS, "the case must reach the arrays"
    reply = shared_rpc.opened(path).call(
        "search", name="/t", text=needle, columns=columns, from_row=from_row, direction=direction
    )
    assert reply["ok"], reply
    assert (reply["row"], reply["column"]) == (row, column)


def test_every_column_and_the_index_by_default(shared_rpc, big_table, big_texts):
    path, frame = big_table
    hit = expected_hit(big_texts, "119999", ["index", *frame.columns], -1, True)
    assert hit == (119_999, "index")
    reply = shared_rpc.opened(path).call("search", name="/t", text="119999")
    assert (reply["row"], reply["column"]) == (119_999, "step")


@pytest.mark.parametrize(
    "query",
    [
        "x < 0 and index > 60000",  # the index with a column: pages, not arrays alone
        "x < 0",
        "count > 300000 and kind == 'rare' or label == 'needle-in-the-last-chunk'",
        "x > 1e12",
        "`my col` > 99999 and `my col` < 100002",  # quoted names, read as arrays
    ],
)
def test_query_search_and_count_past_the_first_chunk(shared_rpc, big_table, query):
    path, frame = big_table
    kept = np.flatnonzero(frame.eval(query).to_numpy())
    assert kept.size and kept[0] >= search.FIRST_CHUNK_ROWS
    rpc = shared_rpc.opened(path)
    hit = rpc.call("search", name="/t", query=query)
    assert hit["ok"] and hit["row"] == kept[0], hit
    back = rpc.call("search", name="/t", query=query, from_row=BIG_ROWS, direction="backward")
    assert back["row"] == kept[-1], back
    counted = rpc.call("count", name="/t", query=query)
    assert counted["count"] == kept.size, counted


def test_an_h5py_dataset_past_the_first_chunk(shared_rpc, tmp_path):
    """Columns by position, the row numbers as 'index', read as arrays after the first part."""
    data = np.random.default_rng(1).uniform(0, 1, (70_000, 3))  # shown 0.xxx: no point needle
    data[50_000, 2], data[65_000, 0] = 42.4999996, -42.5
    path = tmp_path / "matrix.h5"
    with h5py.File(path, "w") as f:
        f["m"] = data
    rpc = shared_rpc.opened(path)

    def hit(**params):
        reply = rpc.call("search", name="/m", **params)
        assert reply["ok"], reply
        return reply["row"], reply["column"]

    assert hit(text="42.5", columns=["2"]) == (50_000, "2")
    assert hit(text="-42.5") == (65_000, "0")
    assert hit(text="60001", columns=["index"]) == (60_001, "index")
    assert hit(text="42.5", columns=["2"], from_row=70_000, direction="backward") == (50_000, "2")
    assert hit(query="`0` < 0 and index > 40000") == (65_000, "0")


# -- the decimal filter never misses and rarely lets through -----------------------------------
decimal_needles = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}.{fraction}",
    st.sampled_from(["", "-"]),
    st.text(alphabet="0123456789", max_size=4),
    st.text(alphabet="0123456789", max_size=5),
)


@settings(max_examples=examples(500), deadline=None)
@given(
    decimal_needles,
    st.lists(st.floats(width=64), min_size=1, max_size=30),
    st.lists(st.integers(-3, 12), max_size=10),
    st.integers(0, 10**6),
)
def test_decimal_filter_keeps_every_float_that_shows_the_needle(needle, values, shifts, noise):
    """Values near the needle's own (times powers of ten, nudged by up to a rounding)
    show it often; random floats rarely."""
    sign, whole, fraction = search.DECIMAL.fullmatch(needle).groups()
    base = float(f"{sign}{whole or 0}.{fraction}")
    near = [base * 10.0**s * (1 + (noise - 5 * 10**5) * 1e-11) for s in shifts]
    near += [float(f"{sign}{noise}{whole}.{fraction}{noise}")]
    array = np.array([*values, *near], dtype=np.float64)
    kept = search.float_may_show_decimal(array, sign, whole, fraction)
    for value, keep in zip(array, kept, strict=True):
        if needle in format(float(value), "g"):
            assert keep, (value, needle)


def test_decimal_filter_lets_through_few_that_do_not_show_it():
    values = np.random.default_rng(2).normal(scale=100, size=200_000)
    kept = search.float_may_show_decimal(values, "", "42", "5")
    shows = np.array(["42.5" in format(v, "g") for v in values])
    assert shows.sum() > 0 and not (shows & ~kept).any()
    assert kept.sum() <= 1.1 * shows.sum() + 5


@settings(max_examples=examples(500), deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=1, max_size=5),
    st.integers(0, 999),
    st.integers(-8, 8),
    st.booleans(),
)
@example("00425", 0, -6, False)  # 0.00425: its zeros show only once trailing ones are dropped
def test_digit_filter_keeps_floats_built_around_the_digits(digits, around, shift, negative):
    """Numbers whose digits hold the needle, with and without zeros, at every scale."""
    value = float(f"{'-' if negative else ''}{around}{digits}{around}") * 10.0**shift
    values = np.array([value, value * (1 + 4e-7), float(digits) * 10.0**shift])
    kept = search.float_may_show(values, digits)
    for value, keep in zip(values, kept, strict=True):
        if digits in format(float(value), "g"):
            assert keep, (value, digits)
