"""Pages of plain numeric tables built from numpy arrays (``Table.page_arrays``), without
pandas: the same text, byte for byte, as the DataFrame page; and a backend that pages only
such tables never loads pandas."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests import h5fixtures as fx
from tests.conftest import RpcProcess, examples
from vime import results
from vime.loaders import format as fmt
from vime.loaders import open_source
from vime.loaders.base import PageArrays

PANDAS_LIBS = "pandas/_libs"
ROWS = 40
EDGES = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e300, -1e-300, 5e-324, 1.5, 123456789.125]


# -- the same text as the DataFrame page ---------------------------------------------------
def edgy_floats(rows: int = ROWS, dtype="f8") -> np.ndarray:
    values = np.resize(np.array(EDGES), rows) * np.where(np.arange(rows) % 3, 1, -1)
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def numbers_frame(rows: int = ROWS) -> pd.DataFrame:
    """Numbers and bools of every width, edge values, a name needing escapes."""
    return pd.DataFrame(
        {
            "x": edgy_floats(rows),
            "count": np.arange(rows, dtype="int32") - 20,
            "byte": (np.arange(rows) * 37 % 256).astype("uint8"),
            "half": edgy_floats(rows, "f2"),
            "single": edgy_floats(rows, "f4"),
            "flag": np.arange(rows) % 3 == 0,
            "big": np.full(rows, np.iinfo("u8").max, dtype="u8"),
            "tab\tname": np.arange(rows, dtype="i1"),
            "ünïcode": np.linspace(-1, 1, rows),
        }
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """One file of plain tables in every layout page_arrays reads, opened once."""
    path = tmp_path_factory.mktemp("plain") / "layouts.h5"
    frame = numbers_frame()
    frame.to_hdf(path, key="table", format="table")
    frame.to_hdf(path, key="data_columns", format="table", data_columns=["x", "flag", "byte"])
    frame.set_index(pd.Index(edgy_floats()[::-1].copy(), name="when")).to_hdf(
        path, key="float_index", format="table"
    )
    frame.set_index(pd.Index(np.arange(ROWS) * 3, name="row\nid")).to_hdf(
        path, key="named_index", format="table"
    )
    frame.to_hdf(path, key="fixed", format="fixed")
    frame["x"].to_hdf(path, key="series_table", format="table")
    frame["count"].to_hdf(path, key="series_fixed", format="fixed")
    with h5py.File(path, "a") as f:
        f["ints"] = np.arange(ROWS, dtype="i8") * -7
        f["floats"] = edgy_floats()
        f["swapped"] = edgy_floats().astype(">f8")
        f["bools"] = np.arange(ROWS) % 2 == 0
        f["longdouble"] = edgy_floats().astype(np.longdouble)
        f["grid"] = np.arange(ROWS * 6, dtype="f4").reshape(ROWS, 6) / 3
        f["cube"] = np.arange(3 * ROWS * 4, dtype=">i2").reshape(3, ROWS, 4)
        f["number"] = np.float64(2.5)
        f["records"] = numbers_records()
        f["mixed"] = fx.compound_records(ROWS)
        f["texts"] = text_records()
    source = open_source(str(path))
    yield source
    source.close()


def numbers_records(rows: int = ROWS) -> np.ndarray:
    kinds = [("id", "<u4"), ("pos", [("x", ">f8"), ("y", "<f2")]), ("ok", "?"), ("b", "i1")]
    records = np.zeros(rows, dtype=kinds)
    records["id"] = np.arange(rows)
    records["pos"]["x"] = edgy_floats(rows)
    records["pos"]["y"] = np.arange(rows) / 8
    records["ok"] = np.arange(rows) % 2 == 1
    records["b"] = -np.arange(rows)
    return records


def text_records(rows: int = ROWS) -> np.ndarray:
    """Numbers beside text: fixed ASCII (empty, padded, numeric-looking, a control
    character, bad bytes), variable-length UTF-8 and enum labels."""
    colour = h5py.enum_dtype({"red": 0, "green": 1}, basetype="i1")
    kinds = [("n", "<i4"), ("code", "S6"), ("name", h5py.string_dtype()), ("colour", colour)]
    records = np.zeros(rows, dtype=kinds)
    records["n"] = np.arange(rows)
    codes = [b"", b" pad ", b"1e5", b"a\tb", b"x\xffy", b"plain"]
    records["code"] = [codes[i % len(codes)] for i in range(rows)]
    records["name"] = [f"näme {i}" if i % 4 else "ascii" for i in range(rows)]
    records["colour"] = np.arange(rows) % 3  # 2 has no label: its number shows
    return records


PLAIN_TABLES = {
    "/table": None,
    "/data_columns": None,
    "/float_index": None,
    "/named_index": None,
    "/fixed": None,
    "/series_table": None,
    "/series_fixed": None,
    "/ints": None,
    "/floats": None,
    "/swapped": None,
    "/bools": None,
    "/longdouble": None,
    "/grid": None,
    "/cube": [2],
    "/number": None,
    "/records": None,
    "/texts": None,
}


def assert_same_page(table, start, stop, columns=None, plane=None) -> PageArrays:
    """page_arrays gives the rows page gives: the same text and dtypes."""
    arrays = table.page_arrays(start, stop, columns=columns, plane=plane)
    assert arrays is not None, f"{table.name}: no page arrays for {start}..{stop}"
    frame = table.page(start, stop, columns=columns, plane=plane)
    assert fmt.frame_text(arrays) == fmt.frame_text(frame)
    assert arrays.dtypes() == [str(d) for d in frame.dtypes]
    assert arrays.names == [str(c) for c in frame.columns]
    return arrays


@pytest.mark.parametrize("name", list(PLAIN_TABLES))
def test_a_plain_page_from_arrays_is_the_dataframe_page_byte_for_byte(plain, name):
    plane = PLAIN_TABLES[name]
    table = plain.table(name)
    assert not table.pages_need_pandas
    rows = table.rows
    for start, stop in (
        (0, 10),
        (max(rows // 2 - 3, 0), rows // 2 + 4),
        (max(rows - 5, 0), rows + 9),
    ):
        assert_same_page(table, start, stop, plane=plane)
    assert_same_page(table, rows, rows + 5, plane=plane)  # no rows: tabulate's headers
    window = list(table.columns)[-2:]
    assert_same_page(table, 0, 6, columns=window[::-1], plane=plane)
    assert_same_page(table, 0, 6, columns=[window[-1], window[-1]], plane=plane)
    assert_same_page(table, 0, 6, columns=[], plane=plane)


def maps_pandas(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return PANDAS_LIBS in maps.read()


def plain_file(directory) -> str:
    """An h5py dataset, a compound of numbers and a pandas table-format store of numbers."""
    path = directory / "plain.h5"
    frame = pd.DataFrame(
        {
            "a": np.arange(300, dtype="i8"),
            "b": np.linspace(0, 1, 300),
            "ok": np.arange(300) % 3 == 0,
        }
    )
    frame.to_hdf(path, key="store", format="table")
    with h5py.File(path, "a") as f:
        f["grid"] = np.arange(600, dtype="f4").reshape(300, 2)
        records = np.zeros(300, dtype=[("id", "<i4"), ("x", ">f8")])
        records["id"] = np.arange(300)
        records["x"] = np.arange(300) / 7
        f["records"] = records
    return str(path)


def text_file(directory) -> str:
    path = directory / "text.h5"
    pd.DataFrame({"a": [1, 2, 3], "name": ["x", "y", "z"]}).to_hdf(
        path, key="named", format="table"
    )
    return str(path)


def test_the_backend_pages_plain_tables_without_pandas_and_warms_it_for_text(rpc, tmp_path):
    path = plain_file(tmp_path)
    opened = rpc.call("open", path=path)
    assert sorted(t["name"] for t in opened["tables"]) == ["/grid", "/records", "/store"]
    for start in (0, 100, 290):
        page = rpc.call("table", name="/store", start=start, count=20)
        first = page["content"].splitlines()[3].split()
        assert first == [str(start), str(start), f"{start / 299:g}", str(start % 3 == 0)]
        assert page["dtypes"] == ["int64", "float64", "bool"]
    grid = rpc.call("table", name="/grid", start=10, count=5, col_start=1)
    assert grid["content"].splitlines()[3].split() == ["10", "21"]
    assert grid["dtypes"] == ["float32"]
    records = rpc.call("table", name="/records", start=7, count=5)
    assert records["content"].splitlines()[3].split() == ["7", "7", "1"]
    assert records["dtypes"] == ["int32", "float64"]
    assert len(rpc.call("tables")["tables"]) == 3
    columns = rpc.call("columns", name="/store", order=["b", "a"])
    assert columns["columns"] == ["b", "a", "ok"]
    reordered = rpc.call("table", name="/store", start=3, count=1)
    assert reordered["content"].splitlines()[3].split() == ["3", f"{3 / 299:g}", "3", "True"]
    watched = rpc.call("watch", name="/store")
    assert (watched["rows"], watched["watching"]) == (300, "started")
    assert rpc.call("unwatch", name="/store")["unwatched"] == "/store"
    assert not maps_pandas(rpc.proc.pid)

    rpc.opened(text_file(tmp_path))  # warm_up imports pandas in the background
    deadline = time.monotonic() + 60
    while not maps_pandas(rpc.proc.pid):
        assert time.monotonic() < deadline, "pandas was never imported after opening text"
        time.sleep(0.05)
    page = rpc.call("table", name="/named")
    assert [line.split() for line in page["content"].splitlines()[3:]] == [
        ["0", "1", "x"],
        ["1", "2", "y"],
        ["2", "3", "z"],
    ]
    assert page["dtypes"][0] == "int64"


def test_a_compute_result_of_numbers_pages_from_arrays(rpc, tmp_path):
    opened = rpc.call("open", path=plain_file(tmp_path))
    assert rpc.call("compute_start", source="/store", query="a > 100", columns=["b", "a"])["ok"]
    done = rpc.wait_notification("compute_done")
    page = rpc.call("table", name=done["table"], start=2, count=5)
    opened_results = []

    def opener(result_path, _of):
        opened_results.append(open_source(result_path))
        return opened_results[-1]

    index = results.Index(tmp_path / "results")
    table = results.table(opened["path"], done["table"], opener, index)
    try:
        arrays = assert_same_page(table, 2, 7)
        assert arrays.index[0].tolist() == [103, 104, 105, 106, 107]
        assert page["content"].split("\n\n", 1)[1] == fmt.frame_text(arrays)
        assert page["dtypes"] == ["float64", "int64"]
    finally:
        for source in opened_results:
            source.close()


# -- what needs pandas ---------------------------------------------------------------------
GENERIC_PLAIN = {
    "/bool",
    "/big_endian_f8",
    "/big_endian_i4",
    "/big_endian_compound",
    "/empty",
    "/empty_2d",
    "/scalar",
    "/null",
    "/matrix",
    "/cube",
    "/long_column",
    "/strings/fixed_ascii",  # text: decoded strings and enum labels page as str
    "/strings/fixed_utf8",
    "/strings/vlen_ascii",
    "/strings/vlen_utf8",
    "/scalar_string",
    "/enum",
}
STORE_PLAIN = {"/series/fixed", "/series/table"}
NUMBERS_OF = {  # tables with text, times or categories: pages of their numbers only
    "/compound": ["id", "pos.inner.z", "ok", "pos.x"],
    "/with_time": ["value", "id"],
    "/exp/rich": ["x", "count", "small", "flag"],
    "/exp/indexed": ["flag", "x"],
    "/exp/fixed": ["small", "x", "flag", "count"],
    "/packed": ["count", "x"],
}


@pytest.mark.parametrize(
    ("build", "expected"), [(fx.generic_file, GENERIC_PLAIN), (fx.pandas_store, STORE_PLAIN)]
)
def test_only_tables_of_numbers_and_bools_page_from_arrays(tmp_path, build, expected):
    """Every other table (text, enums, times, categories, MultiIndex, pickles, arrays in
    cells) gives None, and its listing says its pages need pandas."""
    source = open_source(str(build(tmp_path)))
    try:
        plain = set()
        for table in source.tables():
            if table.page_arrays(0, 10) is not None:
                plain.add(table.name)
                assert_same_page(table, 0, 10)
            assert table.pages_need_pandas == (table.name not in plain)
            if table.name in NUMBERS_OF:
                assert_same_page(table, 1, 9, columns=NUMBERS_OF[table.name])
        assert plain == expected
    finally:
        source.close()


def test_a_time_index_or_a_text_column_needs_pandas(tmp_path):
    path = tmp_path / "times.h5"
    frame = numbers_frame(12)
    frame.set_index(pd.date_range("2024-01-01", periods=12, freq="D")).to_hdf(
        path, key="dated", format="table"
    )
    frame.set_index(pd.date_range("2024-01-01", periods=12, freq="D")).to_hdf(
        path, key="dated_fixed", format="fixed"
    )
    frame.set_index(pd.Index([f"r{i}" for i in range(12)])).to_hdf(path, key="named_rows")
    frame.assign(took=pd.to_timedelta(np.arange(12), unit="s")).to_hdf(
        path, key="took", format="table", data_columns=["took"]
    )
    frame.assign(text=["a"] * 12).to_hdf(path, key="text", format="fixed")
    source = open_source(str(path))
    try:
        for table in source.tables():
            assert table.pages_need_pandas, table.name
            assert table.page_arrays(0, 5) is None, table.name
        assert_same_page(source.table("/took"), 0, 5, columns=["x", "flag"])
        assert source.table("/took").page_arrays(0, 5, columns=["took"]) is None
    finally:
        source.close()


def test_a_page_of_a_table_pandas_must_read_comes_from_pandas(tmp_path):
    """A layout the h5py reader gives up on is read by pandas, never from arrays."""
    path = tmp_path / "multi.h5"
    fx.pandas_multiindex_frame().to_hdf(path, key="multi", format="table")
    source = open_source(str(path))
    try:
        table = source.table("/multi")
        assert table.page_arrays(0, 4, columns=["value"]) is None
        assert table.page(0, 4, columns=["value"])["value"].tolist() == [0.0, 1.5, 3.0, 4.5]
    finally:
        source.close()


# -- the text of random numbers ---------------------------------------------------------------
PLAIN_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint64", "float16",
                "float32", "float64"]  # fmt: skip
INDEX_DTYPES = [dtype for dtype in PLAIN_DTYPES if dtype != "float16"]  # pandas refuses it


@st.composite
def plain_columns(draw):
    rows = draw(st.integers(0, 12))
    count = draw(st.integers(0, 4))
    dtypes = draw(st.lists(st.sampled_from(PLAIN_DTYPES), min_size=count, max_size=count))
    values = [draw(hnp.arrays(np.dtype(dtype), rows)) for dtype in dtypes]
    names = draw(st.lists(st.text(max_size=4), min_size=count, max_size=count, unique=True))
    index = draw(hnp.arrays(np.dtype(draw(st.sampled_from(INDEX_DTYPES))), rows))
    index_name = draw(st.none() | st.text(max_size=3))
    return PageArrays([index_name], [index], names, values)


@settings(max_examples=examples(200), deadline=None)
@given(plain_columns())
def test_random_numbers_write_the_text_of_their_dataframe(page):
    frame = pd.DataFrame(
        dict(enumerate(page.values)), index=pd.Index(page.index[0], name=page.index_names[0])
    )
    frame.columns = page.names
    assert fmt.frame_text(page) == fmt.frame_text(frame)
    assert page.dtypes() == [str(d) for d in frame.dtypes]


def test_a_file_with_results_of_numbers_opens_and_pages_without_pandas(rpc, tmp_path):
    """Results are listed with their file: those of numbers do not make `open` warm pandas
    (their index is their source table's, judged with it, or row numbers)."""
    path = plain_file(tmp_path)
    rpc.opened(path)
    assert rpc.call("compute_start", source="/store", query="a > 100", columns=["b", "a"])["ok"]
    done = rpc.wait_notification("compute_done")
    env = {"VIME_CONFIG": str(tmp_path / "config.json"), "VIME_RESULTS": str(tmp_path / "results")}
    fresh = RpcProcess(env=env)
    try:
        names = [table["name"] for table in fresh.call("open", path=path)["tables"]]
        assert done["table"] in names
        page = fresh.call("table", name=done["table"], start=0, count=3)
        assert [line.split()[:2] for line in page["content"].splitlines()[3:]] == [
            ["101", f"{101 / 299:g}"],
            ["102", f"{102 / 299:g}"],
            ["103", f"{103 / 299:g}"],
        ]
        assert not maps_pandas(fresh.proc.pid)
    finally:
        fresh.stop()
    index = results.Index(tmp_path / "results")
    listed = results.tables(str(Path(path).resolve()), None, index)
    assert [(t.name, t.pages_need_pandas) for t in listed] == [(done["table"], False)]
