"""The pure-h5py pandas reader against pandas' own ``HDFStore.select``.

Random frames of every dtype pandas stores are written with pandas (format
'table' appended in chunks, with and without data_columns, and format
'fixed'); every page the reader rebuilds must equal the page pandas reads.
"""

from __future__ import annotations

import itertools
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import examples, run_python
from vime.errors import NoSuchColumn
from vime.loaders import open_source
from vime.loaders.pandas_h5 import store_layout

TEXT = st.text(alphabet="abcxyz é-日_", min_size=0, max_size=6)
STRING_ITEMSIZE = 40  # room for any drawn string, so that appended chunks fit


# -- random frames ---------------------------------------------------------------------
@st.composite
def columns(draw, rows: int, table: bool) -> dict:
    """A few columns of the dtypes pandas stores; categoricals only in table format."""
    kinds = ["int", "uint", "float", "bool", "str", "object", "naive", "aware", "delta"]
    kinds += ["category"] if table else []
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=5))
    return {f"{kind}{i}": draw(column(kind, rows, table)) for i, kind in enumerate(chosen)}


@st.composite
def column(draw, kind: str, rows: int, table: bool):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "int":
        dtype = draw(st.sampled_from(["int8", "int16", "int32", "int64"]))
        return rng.integers(-100, 100, rows).astype(dtype)
    if kind == "uint":
        dtype = draw(st.sampled_from(["uint8", "uint16", "uint32", "uint64"]))
        return rng.integers(0, 200, rows).astype(dtype)
    if kind == "float":
        values = rng.normal(size=rows).astype(draw(st.sampled_from(["float32", "float64"])))
        values[rng.random(rows) < 0.2] = np.nan
        return values
    if kind == "bool":
        return rng.random(rows) < 0.5
    if kind in ("str", "object", "category"):
        pool = [*draw(st.lists(TEXT, min_size=1, max_size=5, unique=True)), "nan", None]
        values = [pool[i] for i in rng.integers(0, len(pool), rows)]
        if kind == "str":
            return pd.array(values, dtype="str")
        if kind == "category":
            categories = [v for v in pool if v is not None]
            return pd.Categorical(values, categories=categories)
        if table:  # a table stores object columns of strings only
            return np.array(values, dtype=object)
        floats = [1.5 if v == "nan" else v for v in values]  # object: str, None and floats
        return np.array(floats, dtype=object)
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    if kind == "delta":
        return pd.to_timedelta(rng.integers(-(10**6), 10**6, rows), unit="s").as_unit(unit)
    stamps = pd.to_datetime(rng.integers(0, 2 * 10**9, rows), unit="s").as_unit(unit)
    if kind == "aware":
        zone = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Etc/GMT-3"]))
        stamps = stamps.tz_localize("UTC").tz_convert(zone)
    values = pd.Series(stamps)
    values[rng.random(rows) < 0.1] = pd.NaT
    return values.array


@st.composite
def indexes(draw, rows: int):
    kind = draw(st.sampled_from(["range", "int", "str", "dates", "aware", "multi"]))
    name = draw(st.sampled_from([None, "key"]))
    if kind == "range":
        start = draw(st.integers(0, 5))
        return pd.RangeIndex(start, start + rows, name=name)
    if kind == "int":
        values = draw(st.lists(st.integers(-(2**40), 2**40), min_size=rows, max_size=rows))
        return pd.Index(np.array(values, dtype="int64"), name=name)
    if kind == "str":
        return pd.Index([f"r{i}" for i in range(rows)], name=name, dtype="str")
    if kind in ("dates", "aware"):
        zone = "Europe/Paris" if kind == "aware" else None
        freq = draw(st.sampled_from(["h", "D", "s"]))
        return pd.date_range("2024-03-30", periods=rows, freq=freq, tz=zone, name=name)
    letters = np.array(["a", "b", "c"])[np.arange(rows) % 3]
    names = draw(st.sampled_from([["letter", "number"], [None, None]]))
    return pd.MultiIndex.from_arrays([letters, np.arange(rows)], names=names)


@st.composite
def stores(draw) -> dict:
    """A frame (or Series) and how pandas writes it."""
    table = draw(st.booleans())
    rows = draw(st.integers(1 if table else 0, 40))
    frame = pd.DataFrame(draw(columns(rows, table)), index=draw(indexes(rows)))
    if draw(st.booleans()) and not isinstance(frame.index, pd.MultiIndex):
        series = frame.iloc[:, 0]
        names = [None, "reading"] if table else [None, "reading", 3]  # tables need str names
        data = series.rename(draw(st.sampled_from(names)))
    else:
        data = frame
    spec = {"data": data, "table": table, "chunks": 1, "data_columns": None, "nan_rep": None}
    if table:
        spec["chunks"] = draw(st.integers(1, 3))
        spec["nan_rep"] = draw(st.sampled_from([None, "NA", "-"]))  # pandas' own marker by default
        if isinstance(data, pd.DataFrame):
            spec["data_columns"] = draw(
                st.sampled_from([None, True, list(frame.columns[: draw(st.integers(0, 2))])])
            )
    return spec


def write_store(path: Path, spec: dict) -> None:
    data = spec["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about object columns in fixed stores
        if not spec["table"]:
            data.to_hdf(path, key="data", format="fixed", mode="w")
            return
        with pd.HDFStore(path, mode="w") as store:
            bounds = np.linspace(0, len(data), spec["chunks"] + 1).astype(int)
            for first, last in itertools.pairwise(bounds):
                chosen = spec["data_columns"]  # pandas adds index levels to a list it is given
                store.append(
                    "data",
                    data.iloc[first:last],
                    format="table",
                    data_columns=list(chosen) if isinstance(chosen, list) else chosen,
                    min_itemsize=_itemsizes(data, spec["data_columns"]),
                    index=not _has_uint64_data_column(data, spec["data_columns"]),
                    nan_rep=spec["nan_rep"],
                )


# Frames pandas refuses to append: a literal equal to the missing-value marker
# an earlier chunk chose, a marker longer than the column, a category equal to
# the marker (it reads back as NaN, so the next chunk's categories differ).
WRITER_LIMITS = (
    "collides with the sentinel",
    "NaN representation is too large",
    "cannot append a categorical with different categories",
)


def written(path: Path, spec: dict) -> None:
    """Write the store; a frame pandas itself refuses to write is no example."""
    try:
        write_store(path, spec)
    except ValueError as refused:
        for limit in WRITER_LIMITS:
            assume(limit not in str(refused))
        raise


def _has_uint64_data_column(data, data_columns) -> bool:
    """PyTables cannot index a uint64 column: such data columns are written unindexed."""
    if isinstance(data, pd.Series):
        return data.dtype == "uint64"
    names = data.columns if data_columns is True else data_columns or []
    return any(data[name].dtype == "uint64" for name in names)


def _itemsizes(data, data_columns) -> dict:
    sizes = {"values": STRING_ITEMSIZE}
    if isinstance(data, pd.Series):  # pandas stores a Series as a frame of one data column
        data, data_columns = data.to_frame(name=data.name or "values"), True
    for name in data.columns if data_columns is True else data_columns or []:
        if data[name].dtype == object or str(data[name].dtype) == "str":
            sizes[name] = STRING_ITEMSIZE
    if not isinstance(data.index, pd.MultiIndex) and str(data.index.dtype) == "str":
        sizes["index"] = STRING_ITEMSIZE
    return sizes


def assert_same(ours, theirs) -> None:
    if isinstance(theirs, pd.Series):
        pd.testing.assert_series_equal(ours, theirs)
    else:
        pd.testing.assert_frame_equal(ours, theirs)


# -- the property ---------------------------------------------------------------------------
@settings(
    max_examples=examples(250),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    spec=stores(),
    ranges=st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), min_size=1, max_size=4),
)
def test_pages_equal_hdfstore_select(spec, ranges):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.h5"
        written(path, spec)
        with pd.HDFStore(path, mode="r") as store, h5py.File(path, "r") as handle:
            layout = store_layout(handle["data"])
            for start, stop in ranges:
                if layout.rows == 0:  # pandas cannot slice the placeholder of an empty array
                    assert_same(layout.select(0, 0), store.select("data"))
                    continue
                assert_same(
                    layout.select(start, stop), store.select("data", start=start, stop=stop)
                )


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=stores(), start=st.integers(0, 40), count=st.integers(0, 10), data=st.data())
def test_table_pages_arrays_and_chunks_agree_with_pandas(spec, start, count, data):
    """Through the Table: a page of some columns, their arrays and their chunks."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.h5"
        written(path, spec)
        source = open_source(str(path))
        try:
            table = source.table("/data")
            stop = start + count
            names = data.draw(st.lists(st.sampled_from(table.columns), unique=True))
            window = as_frame(_pandas_page(path, start, stop, table.rows), table.columns)[names]
            page = table.page(start, stop, columns=names)  # vime's labels: a list of str
            pd.testing.assert_frame_equal(page, window, check_column_type=False)
            whole = as_frame(pd.read_hdf(path, "data"), table.columns)
            for listed, (name, shown) in zip(table.dtypes, whole.dtypes.items(), strict=True):
                # pandas infers str from the values, so all-missing strings read as object;
                # a fixed store's object block is one pickle, so listing it does not read it:
                # it lists as object until a page has read the block
                unread_block = not spec["table"] and listed == "object" and name not in names
                assert (
                    listed == str(shown)
                    or (listed, whole[name].isna().all()) == ("str", True)
                    or unread_block
                ), (listed, str(shown), name)
            expected = whole
            asked = [*names, "index", *table.index_names]
            chunks = list(table.arrays(asked, start=start, stop=stop, chunk_rows=3))
            assert all(set(chunk) == set(asked) for chunk in chunks)
            for name in names:
                got = np.concatenate([c[name] for c in chunks]) if chunks else np.array([])
                _assert_values(got, window[name])
            index = expected.index[start:stop]
            levels = [index.get_level_values(i) for i in range(index.nlevels)]
            for i, name in enumerate(table.index_names):
                got = np.concatenate([c[name] for c in chunks]) if chunks else np.array([])
                _assert_values(got, pd.Series(levels[i]))
        finally:
            source.close()


def _pandas_page(path: Path, start: int, stop: int, rows: int):
    with pd.HDFStore(path, mode="r") as store:
        if rows:
            return store.select("data", start=start, stop=stop)
        return store.select("data")  # pandas cannot slice an empty fixed store


def as_frame(data, columns: list[str]) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        data = data.to_frame(name=columns[0])
    data.columns = [str(c) for c in data.columns]
    return data


def _assert_values(got: np.ndarray, expected: pd.Series) -> None:
    """arrays() gives what the page shows, as numpy (wall-clock times for aware ones)."""
    if isinstance(expected.dtype, pd.DatetimeTZDtype):
        expected = expected.dt.tz_localize(None)
    want = expected.to_numpy()
    assert len(got) == len(want)
    assert pd.isna(got).tolist() == pd.isna(want).tolist()
    present = ~pd.isna(want)
    assert got[present].tolist() == want[present].tolist()


# -- the fixture store, case by case ------------------------------------------------------------
def test_arrays_read_only_the_named_fields(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10), "s": list("abcdefghij")})
    path = tmp_path / "store.h5"
    frame.to_hdf(path, key="t", format="table", data_columns=["a"])
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, **kwargs):
        if "new_dtype" in kwargs:  # h5py's own read of the fields asked: only 'a'
            assert kwargs["new_dtype"] == np.dtype([("a", "<f8")]), kwargs
        else:
            reads.append((self.name, args))
        return original(self, args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(pd, "DataFrame", None)  # no frame may be built
    source = open_source(str(path))
    try:
        chunks = list(source.table("/t").arrays(["a"], start=2, stop=9, chunk_rows=4))
    finally:
        source.close()
    assert [c["a"].tolist() for c in chunks] == [[2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    assert reads == [("/t/table", (slice(2, 6), "a")), ("/t/table", (slice(6, 9), "a"))]


def test_arrays_of_a_fixed_store_read_one_block(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": np.arange(6.0), "n": np.arange(6), "s": list("abcdef")})
    frame.index = pd.date_range("2024-01-01", periods=6, freq="h", tz="Europe/Paris", name="t")
    path = tmp_path / "fixed.h5"
    frame.to_hdf(path, key="f", format="fixed")
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, **kwargs):
        reads.append(self.name)
        return original(self, args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    source = open_source(str(path))
    try:
        table = source.table("/f")
        assert table.index_names == ["t"]
        (chunk,) = table.arrays(["n", "t"], start=1, stop=3)
    finally:
        source.close()
    assert chunk["n"].tolist() == [1, 2]
    expected = frame.index[1:3].tz_localize(None).to_numpy()  # the wall clock the page shows
    assert chunk["t"].tolist() == expected.tolist()
    block_of_n = [name for name in reads if name.endswith("_values")]
    assert block_of_n == ["/f/block1_values"]


def test_arrays_refuse_an_unknown_name(tmp_path):
    path = tmp_path / "store.h5"
    pd.DataFrame({"a": [1.0]}).to_hdf(path, key="t", format="table")
    source = open_source(str(path))
    try:
        with pytest.raises(NoSuchColumn, match="no column 'nope'; columns are a, index"):
            next(source.table("/t").arrays(["nope"]))
    finally:
        source.close()


def test_index_names_of_pandas_tables(tmp_path):
    path = tmp_path / "store.h5"
    frame = pd.DataFrame({"v": [1.0, 2.0]})
    frame.to_hdf(path, key="plain", format="table")
    frame.set_axis(pd.Index(["x", "y"], name="key")).to_hdf(path, key="named", format="fixed")
    multi = pd.MultiIndex.from_arrays([["a", "b"], [1, 2]], names=["letter", None])
    frame.set_axis(multi).to_hdf(path, key="multi", format="table")
    frame.set_axis(multi).to_hdf(path, key="multi_fixed", format="fixed")
    source = open_source(str(path))
    try:
        names = {key: source.table(key).index_names for key in ("/plain", "/named", "/multi")}
        names["/multi_fixed"] = source.table("/multi_fixed").index_names
    finally:
        source.close()
    assert names == {
        "/plain": ["index"],
        "/named": ["key"],
        "/multi": ["letter", "level_1"],
        "/multi_fixed": ["letter", "level_1"],
    }


def test_empty_table_store(tmp_path):
    """A table whose rows were all removed: zero rows, its columns and dtypes kept."""
    path = tmp_path / "store.h5"
    frame = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    with pd.HDFStore(path, mode="w") as store:
        store.append("t", frame, format="table")
        store.remove("t", start=0, stop=2)
    with pd.HDFStore(path, mode="r") as store:
        expected = store.select("t", start=0, stop=5)
    source = open_source(str(path))
    try:
        table = source.table("/t")
        assert (table.rows, table.columns) == (0, ["a", "s"])
        assert_same(store_layout(source.h5["t"]).select(0, 5), expected)
        assert table.page(0, 5).shape == (0, 2)
    finally:
        source.close()


def test_pages_never_import_pytables(tmp_path):
    """Listing and paging both formats (and plotting them) leave PyTables unimported."""
    path = tmp_path / "store.h5"
    frame = pd.DataFrame({"a": np.arange(5.0), "s": list("abcde")})
    frame.to_hdf(path, key="t", format="table")
    frame.to_hdf(path, key="f", format="fixed")
    code = (
        "import sys; from vime.loaders import open_source; "
        f"s = open_source({str(path)!r}); "
        "[s.table(k).page(1, 4) for k in ('/t', '/f')]; "
        "[list(s.table(k).arrays(['a'])) for k in ('/t', '/f')]; "
        "print('tables' in sys.modules)"
    )
    assert run_python(code).stdout.split() == [b"False"]


def test_a_layout_the_reader_does_not_know_is_read_by_pandas(tmp_path, caplog):
    """A period column: pandas reads it (after the safety check), and the log says why."""
    path = tmp_path / "store.h5"
    frame = pd.DataFrame({"p": pd.period_range("2024-01", periods=4, freq="M"), "v": range(4)})
    frame.to_hdf(path, key="t", format="table")
    with caplog.at_level(logging.INFO, logger="vime.loaders.pandas"):
        source = open_source(str(path))
        try:
            table = source.table("/t")
            page = table.page(1, 3)
        finally:
            source.close()
    assert page["p"].tolist() == list(frame["p"].iloc[1:3])
    assert "pages come from pandas" in caplog.text
    assert "tables" in sys.modules  # the fallback is pandas' own reader


def test_all_columns_of_a_fixed_store_in_another_order(tmp_path):
    """Every column asked, in an order other than the stored one (found by hypothesis)."""
    path = tmp_path / "fixed.h5"
    frame = pd.DataFrame({"int0": [70], "int1": [71], "object2": pd.Series([None], dtype=object)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame.to_hdf(path, key="data", format="fixed")
    source = open_source(str(path))
    try:
        page = source.table("/data").page(0, 1, columns=["int0", "object2", "int1"])
        expected = pd.read_hdf(path, "data")[["int0", "object2", "int1"]]
        pd.testing.assert_frame_equal(page, expected, check_column_type=False)
    finally:
        source.close()
