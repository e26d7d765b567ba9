"""CSV export writes the bytes of ``DataFrame.to_csv``: numeric rows through the fast
writer (vime/csvrows.py), every other table through pandas."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import RpcProcess
from tests.h5fixtures import pandas_multiindex_frame, pandas_rich_frame
from vime.csvrows import plain_arrays, rows_text, write_csv_rows

FAST_DTYPES = ["int64", "int32", "int8", "uint64", "uint8", "bool", "float64", "float32", "float16"]
INDEX_DTYPES = [name for name in FAST_DTYPES if name != "float16"]  # pandas refuses those
EDGES = [
    np.nan,
    np.inf,
    -np.inf,
    -0.0,
    0.0,
    5e-324,  # the smallest subnormal float64
    2.2250738585072014e-308,
    1.7976931348623157e308,
    1e16,  # where repr and numpy switch to exponent notation
    9999999999999998.0,
    1e-4,
    9.999999999999999e-05,
    0.1,
    -123456.789,
]
INT_EDGES = {
    "int64": [np.iinfo("int64").min, np.iinfo("int64").max, 0, -1],
    "uint64": [np.iinfo("uint64").max, 0, 2**63],
}


@st.composite
def columns(draw, rows: int, dtypes=FAST_DTYPES) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    values = draw(hnp.arrays(dtype, rows))
    edges = EDGES if dtype.kind == "f" else INT_EDGES.get(dtype.name, [])
    for position in draw(st.lists(st.integers(0, max(rows - 1, 0)), max_size=rows)):
        if edges:
            with np.errstate(over="ignore"):  # float16/float32 overflow to inf, as wanted
                values[position] = np.array(draw(st.sampled_from(edges))).astype(dtype)
    return values


@st.composite
def numeric_frames(draw) -> tuple[pd.DataFrame, bool]:
    rows = draw(st.integers(0, 40))
    with_index = draw(st.booleans())
    count = draw(st.integers(0 if with_index else 1, 5))
    data = {f"c{number}": draw(columns(rows)) for number in range(count)}
    index = pd.Index(draw(columns(rows, INDEX_DTYPES))) if draw(st.booleans()) else None
    return pd.DataFrame(data, index=index), with_index


@settings(max_examples=300, deadline=None)
@given(numeric_frames(), st.integers(1, 9))
def test_fast_rows_are_the_text_of_to_csv(case, slice_rows):
    frame, with_index = case
    arrays = plain_arrays(frame, with_index)
    assert arrays is not None, frame.dtypes
    text = "".join(rows_text(arrays, slice_rows))
    assert text == frame.to_csv(index=with_index, header=False)


def test_nan_alone_on_its_row_is_quoted_as_pandas_does():
    frame = pd.DataFrame({"x": [1.5, np.nan, np.inf], "y": [np.nan, np.nan, 2.0]})
    alone = "".join(rows_text(plain_arrays(frame[["x"]], False)))
    assert alone.splitlines() == ["1.5", '""', "inf"]
    assert alone == frame[["x"]].to_csv(index=False, header=False)
    both = "".join(rows_text(plain_arrays(frame, False)))
    assert both.splitlines() == ["1.5,", ",", "inf,2.0"]


@pytest.mark.parametrize(
    "frame",
    [
        pandas_rich_frame(30),
        pandas_multiindex_frame(12).drop(columns=["label"]),
        pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
        pd.DataFrame({"b": pd.array([True, None, False], dtype="boolean")}),
        pd.DataFrame({"o": np.array([1, 2.5, "x"], dtype=object)}),
        pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3)}),
        pd.DataFrame({"z": np.array([1 + 2j, 0, -1j])}),
        pd.DataFrame({"l": np.array([0.1, 1 / 3], dtype=np.longdouble)}),
    ],
    ids=["rich", "multiindex", "Int64", "boolean", "object", "datetime", "complex", "longdouble"],
)  # fmt: skip
def test_other_tables_go_to_pandas_and_match(frame):
    assert plain_arrays(frame, with_index=True) is None
    for with_index in (True, False):
        assert written_rows(frame, with_index) == frame.to_csv(index=with_index, header=False)


def test_a_table_of_no_columns_writes_its_index_or_goes_to_pandas():
    frame = pd.DataFrame(index=pd.Index([7, 8, 9]))
    assert plain_arrays(frame, with_index=False) is None
    assert written_rows(frame, False) == frame.to_csv(index=False, header=False)
    assert written_rows(frame, True) == "7\n8\n9\n" == frame.to_csv(header=False)


def written_rows(frame: pd.DataFrame, with_index: bool) -> str:
    handle = io.StringIO()
    write_csv_rows(frame, handle, with_index)
    return handle.getvalue()


# -- through bin/vime-rpc ---------------------------------------------------------
def numeric_table(rows: int) -> pd.DataFrame:
    """The benchmark's table in small: an int64 index that is not row numbers, floats
    with NaN, infinities and -0.0, ints, int32, a bool, and a float32."""
    rng = np.random.default_rng(13)
    floats = rng.normal(size=(rows, 3)) * 10.0 ** rng.integers(-30, 30, size=(rows, 3))
    floats[rng.random((rows, 3)) < 0.05] = np.nan
    floats[:4, 0] = [np.inf, -np.inf, -0.0, 5e-324]
    return pd.DataFrame(
        {
            "v0": floats[:, 0],
            "v1": floats[:, 1],
            "v2": floats[:, 2],
            "n0": rng.integers(np.iinfo("int64").min, np.iinfo("int64").max, rows),
            "n2": rng.integers(-(2**31), 2**31 - 1, rows).astype("int32"),
            "flag": rng.random(rows) < 0.5,
            "f32": rng.normal(size=rows).astype("float32"),
        },
        index=pd.Index(np.arange(rows, dtype="int64") * 3 - 1000),
    )


@pytest.fixture
def exporter(tmp_path):
    """A backend whose exports read 700 rows a chunk, so a table spans several."""
    process = RpcProcess(
        env={"VIME_CONFIG": str(tmp_path / "c.json"), "VIME_CHUNK_ROWS": "700"},
        stderr_path=tmp_path / "rpc-stderr.log",
    )
    yield process
    process.stop()


def exported_bytes(rpc: RpcProcess, source, key: str, target) -> bytes:
    rpc.opened(source)
    reply = rpc.call("export", path=str(source), name=key, to=str(target))
    assert reply["ok"], reply
    assert reply["format"] == "csv" and reply["bytes"] == target.stat().st_size
    assert reply["rows"] == len(pd.read_hdf(source, key))
    return target.read_bytes()


def test_export_of_a_numeric_table_is_byte_equal_to_pandas(exporter, tmp_path):
    frame = numeric_table(2500)
    source = tmp_path / "numbers.h5"
    frame.to_hdf(source, key="data", format="table")
    assert plain_arrays(pd.read_hdf(source, "data"), with_index=True) is not None
    written = exported_bytes(exporter, source, "/data", tmp_path / "out.csv")
    pd.read_hdf(source, "data").to_csv(tmp_path / "pandas.csv")
    assert written == (tmp_path / "pandas.csv").read_bytes()
    assert written.count(b"\n") == 2501 and b",inf," in written and b",-0.0," in written


def test_export_of_a_mixed_table_takes_pandas_and_is_byte_equal(exporter, tmp_path):
    frame = pandas_rich_frame(2000)
    source = tmp_path / "mixed.h5"
    frame.to_hdf(source, key="data", format="table")
    assert plain_arrays(pd.read_hdf(source, "data"), with_index=True) is None
    written = exported_bytes(exporter, source, "/data", tmp_path / "out.csv")
    pd.read_hdf(source, "data").to_csv(tmp_path / "pandas.csv")
    assert written == (tmp_path / "pandas.csv").read_bytes()
    assert b"item-1999" in written and b"2024-01-01 01:00:00" in written
