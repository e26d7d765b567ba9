"""The index is a column: named by its own name and by `index` wherever a column is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests import h5fixtures as fx
from vime import expressions
from vime.errors import NoSuchColumn
from vime.loaders import open_source

ROWS = 48


def sensor_log() -> pd.DataFrame:
    # No freq on the index: pandas would pickle a DateOffset, which vime refuses to load.
    time = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=ROWS, freq="h"), freq=None)
    return pd.DataFrame(
        {"temperature": np.linspace(10.0, 20.0, ROWS), "station": ["north", "south"] * (ROWS // 2)},
        index=time.rename("time"),
    )


@pytest.fixture
def indexed_file(tmp_path):
    path = tmp_path / "indexed.h5"
    sensor_log().to_hdf(path, key="log", format="table", data_columns=True)
    sensor_log().to_hdf(path, key="fixed", format="fixed")
    fx.pandas_multiindex_frame().to_hdf(path, key="multi", format="table")
    return path


def page_rows(result: dict) -> list[list[str]]:
    return [line.split() for line in result["content"].splitlines()[3:]]


def test_a_page_takes_the_index_by_its_name_and_as_index(shared_rpc, indexed_file):
    shared_rpc.opened(indexed_file)
    for key in ("/log", "/fixed"):
        for name in ("time", "index"):
            page = shared_rpc.call("table", name=key, columns=[name, "temperature"], count=2)
            assert page["ok"], page
            assert page["columns"] == ["temperature"] and page["shape"] == [ROWS, 2]
            assert page["content"].splitlines()[2].split() == ["time", "temperature"]
            assert page_rows(page)[1] == ["2024-01-01", "01:00:00", "10.2128"]


def test_an_unknown_column_says_how_the_index_is_named(shared_rpc, indexed_file):
    shared_rpc.opened(indexed_file)
    result = shared_rpc.call("table", name="/log", columns=["tme"])
    assert result["ok"] is False and result["code"] == -32004
    assert "no column 'tme'" in result["error"]
    assert "the index is 'time' (or 'index')" in result["error"]


def test_query_and_assign_name_the_index(shared_rpc, indexed_file):
    shared_rpc.opened(indexed_file)
    started = shared_rpc.call(
        "compute_start",
        source="/log",
        query="time >= '2024-01-02 20:00' and index < '2024-01-02 22:00'",
        assign={"warm": "temperature > 15"},
        name="late",
    )
    assert started["ok"], started
    done = shared_rpc.wait_notification("compute_done")
    assert done["rows"] == 2, done
    page = shared_rpc.call("table", name=done["table"])
    expected = sensor_log().loc["2024-01-02 20:00":"2024-01-02 21:00"]
    assert [row[:2] for row in page_rows(page)] == [
        str(t).split() for t in expected.index
    ]  # fmt: skip
    assert [row[-1] for row in page_rows(page)] == ["True", "True"]
    refused = shared_rpc.call("compute_start", source="/log", query="tim > 3")
    assert refused["ok"] is True
    error = shared_rpc.wait_notification("compute_error")
    assert "no column 'tim'" in error["error"] and "index: index, time" in error["error"]


def test_the_checker_accepts_index_names_without_reading_them():
    used = expressions.check(
        "time > 3 and `my t` < 2 and v0 > 1", ["v0"], "query", ["time", "my t"]
    )
    assert used == {"v0"}
    with pytest.raises(NoSuchColumn, match="no column 'time'"):
        expressions.check("time > 3", ["v0"], "query")


def test_info_lists_the_index_with_its_dtype_and_range(shared_rpc, indexed_file):
    shared_rpc.opened(indexed_file)
    frame = sensor_log()
    info = shared_rpc.call("info", name="/log")
    assert info["ok"], info
    dtype = str(pd.read_hdf(indexed_file, "log").index.dtype)
    assert info["index"] == [
        {
            "name": "time",
            "dtype": dtype,
            "first": "2024-01-01 00:00:00",
            "last": str(frame.index[-1]),
        }
    ]
    lines = info["content"].splitlines()
    at = lines.index("index:")
    assert lines[at + 2].split() == [
        "time",
        dtype,
        "2024-01-01",
        "00:00:00",
        "…",
        "2024-01-02",
        "23:00:00",
    ]
    multi = shared_rpc.call("info", name="/multi")
    assert [(level["name"], level["first"], level["last"]) for level in multi["index"]] == [
        ("letter", "a", "c"),
        ("number", "0", "3"),
    ]
    raw = shared_rpc.call("info", name="/multi/table")  # the store's own dataset, read with h5py
    assert raw["ok"] and raw["index"] == [
        {"name": "index", "dtype": "int64", "first": "0", "last": "11"}
    ]


def test_plot_takes_the_index_as_x_or_y(shared_rpc, indexed_file):
    shared_rpc.opened(indexed_file)
    by_time = shared_rpc.call("plot", name="/log", x="time", y="temperature", width=40, height=10)
    assert by_time["ok"], by_time
    assert (by_time["x"], by_time["y"], by_time["points"]) == ("time", "temperature", ROWS)
    by_level = shared_rpc.call("plot", name="/multi", x="number", y="value", type="scatter")
    assert by_level["ok"] and by_level["points"] == 12


# -- arrays: the numpy chunks the plot engine reads -------------------------------------------
def test_arrays_give_index_values_by_name(indexed_file):
    source = open_source(str(indexed_file))
    try:
        chunks = list(source.table("/log").arrays(["temperature", "time"], chunk_rows=20))
        assert [len(chunk["time"]) for chunk in chunks] == [20, 20, 8]
        times = np.concatenate([chunk["time"] for chunk in chunks])
        np.testing.assert_array_equal(times, sensor_log().index.to_numpy())
        (multi,) = source.table("/multi").arrays(["letter", "index"])
        assert multi["letter"].tolist() == multi["index"].tolist() == list("aaaabbbbcccc")
    finally:
        source.close()


class FieldSpy:
    """An h5py dataset stand-in that records which fields are read."""

    def __init__(self, dataset):
        self.dataset, self.asked = dataset, []

    def fields(self, names):
        self.asked.append(list(names))
        return self.dataset.fields(names)

    def __getattr__(self, name):
        return getattr(self.dataset, name)

    def __getitem__(self, key):
        self.asked.append(key)
        return self.dataset[key]


def test_dataset_arrays_read_only_the_named_fields_or_positions(tmp_path, monkeypatch):
    source = open_source(str(fx.generic_file(tmp_path)))
    try:
        compound = source.table("/compound")
        spy = FieldSpy(compound.dataset)
        monkeypatch.setattr(compound, "dataset", spy)
        monkeypatch.setattr(compound, "_read", None)  # no DataFrame on the way
        (chunk,) = compound.arrays(["pos.inner.z", "id", "index"], start=1, stop=4)
        assert spy.asked == [["pos", "id"]]
        assert chunk["id"].tolist() == [1, 2, 3] and chunk["index"].tolist() == [1, 2, 3]
        assert (
            chunk["pos.inner.z"].dtype == np.float32 and chunk["pos.inner.z"].tolist() == [2.5] * 3
        )
        matrix = source.table("/matrix")
        matrix_spy = FieldSpy(matrix.dataset)
        monkeypatch.setattr(matrix, "dataset", matrix_spy)
        monkeypatch.setattr(matrix, "_read", None)
        (plane,) = matrix.arrays(["3"], stop=2)
        assert list(plane) == ["3"] and isinstance(plane["3"], np.ndarray)
        assert plane["3"].tolist() == [3, 7]
        assert matrix_spy.asked == [(slice(0, 2, 1), slice(3, 4, 1))], "column 3 alone"
    finally:
        source.close()
