"""Wide datasets: millions of columns open, page, describe and reorder without a
per-column object. The sizes are real; the file is small because HDF5 stores
only the chunks that were written."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from vime.loaders.columns import Positions, Reordered, Repeated, distinct

WIDE = 20_000_000
PEAK_LIMIT_KB = 600_000  # the process after open, pages, info and columns (main: 1.6 GB)


@pytest.fixture(scope="module")
def wide_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "wide.h5"
    with h5py.File(path, "w") as f:
        wide = f.create_dataset("wide", shape=(4, WIDE), dtype="f4", chunks=(4, 65536))
        wide[:, 10_000:10_100] = np.arange(400, dtype="f4").reshape(4, 100)
        wide[:, WIDE - 3 :] = -1.5
        f.create_dataset("cube", shape=(2, 3, WIDE), dtype="i2", chunks=(1, 3, 65536))
    return path


def peak_memory_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def rows_of(result: dict) -> list[list[str]]:
    return [line.split() for line in result["content"].splitlines()[3:]]


def test_a_wide_dataset_opens_pages_and_describes_without_a_column_list(shared_rpc, wide_file):
    listed = shared_rpc.call("open", path=str(wide_file))
    entry = {t["name"]: t for t in listed["tables"]}["/wide"]
    assert (entry["rows"], entry["cols"], entry["dtype"]) == (4, WIDE, "float32")

    page = shared_rpc.call("table", name="/wide", col_start=10_000, col_count=50)
    assert page["columns"] == [str(i) for i in range(10_000, 10_050)]
    assert (page["shape"], page["col_start"], page["col_stop"]) == ([4, WIDE], 10_000, 10_050)
    assert page["dtypes"] == ["float32"] * 50
    assert rows_of(page)[1] == ["1", *(str(v) for v in range(100, 150))]

    last = shared_rpc.call("table", name="/wide", col_start=WIDE - 2, count=1)
    assert last["columns"] == [str(WIDE - 2), str(WIDE - 1)]
    assert rows_of(last) == [["0", "-1.5", "-1.5"]]
    fast = shared_rpc.call("table", name="/wide", col_start=10_098, count=2, fast=True)
    assert fast["columns"] == [str(i) for i in range(10_098, 10_148)]
    expected = np.zeros((2, 50), dtype="f4")
    expected[:, :2] = [[98, 99], [198, 199]]
    body = np.array2string(expected, threshold=10**9, max_line_width=200)
    assert fast["content"].splitlines()[2:] == body.splitlines()

    info = shared_rpc.call("info", name="/wide")
    assert info["ok"], info
    assert info["column_count"] == WIDE and len(info["columns"]) == 1000
    assert info["columns"][7] == {"name": "7", "dtype": "float32"}
    assert f"… and {WIDE - 200:,} more columns, the last {WIDE - 1} (float32)" in info["content"]
    assert "summary of the first 1,000 numeric columns" in info["content"]

    saved = shared_rpc.call("columns", name="/wide", order=["10001", "5"], hidden=["0"])
    assert saved["columns"][:4] == ["10001", "5", "1", "2"] and saved["column_count"] == WIDE - 1
    assert len(saved["columns"]) == 10_000 and saved["hidden"] == ["0"]
    reordered = shared_rpc.call("table", name="/wide", col_count=3, count=2)
    assert reordered["columns"] == ["10001", "5", "1"]
    assert rows_of(reordered)[1] == ["1", "101", "0", "0"]
    tail = shared_rpc.call("table", name="/wide", col_start=WIDE - 2, count=1)
    assert tail["columns"] == [str(WIDE - 1)] and tail["col_stop"] == WIDE - 1

    assert peak_memory_kb(shared_rpc.proc.pid) < PEAK_LIMIT_KB


def test_a_wide_cube_pages_planes_and_slices(shared_rpc, wide_file):
    shared_rpc.opened(wide_file)
    plane = shared_rpc.call("table", name="/cube", plane=[1], col_start=WIDE - 1)
    assert plane["ok"] and plane["shape"] == [3, WIDE] and plane["columns"] == [str(WIDE - 1)]
    sliced = shared_rpc.call(
        "table", name="/cube", slice="[:, 2, 5:]", col_start=WIDE - 10, col_count=2
    )
    assert sliced["ok"], sliced
    assert sliced["shape"] == [2, WIDE - 5] and sliced["columns"] == [str(WIDE - 10), str(WIDE - 9)]
    assert peak_memory_kb(shared_rpc.proc.pid) < PEAK_LIMIT_KB


# -- the lazy sequences ---------------------------------------------------------------
def test_positions_answer_like_a_list_of_names():
    names = Positions(12)
    assert len(names) == 12 and names[3] == "3" and names[-1] == "11"
    assert names[2:5] == ["2", "3", "4"] and list(names) == [str(i) for i in range(12)]
    assert names == [str(i) for i in range(12)] and names != ["0"]
    assert "11" in names and "12" not in names and "03" not in names and "x" not in names
    assert "-1" not in names and 3 not in names and "١" not in names  # an Arabic-Indic 1
    assert names.index("7") == 7
    with pytest.raises(IndexError):
        names[12]


def test_reordered_matches_the_eager_merge():
    base = Positions(10)
    order, hidden = ["7", "2", "99", "7"], ["0", "8", "2"]
    view = Reordered(base, order, hidden)
    eager = ["7"] + [c for c in map(str, range(10)) if c not in {"7", "0", "8", "2"}]
    assert list(view) == eager and len(view) == len(eager)
    assert view[3:6] == eager[3:6] and view[-1] == eager[-1]
    assert "2" not in view and "3" in view and "99" not in view


def test_repeated_is_one_value_many_times():
    dtypes = Repeated("float32", WIDE)
    assert len(dtypes) == WIDE and dtypes[5] == "float32" and dtypes[-1] == "float32"
    window = dtypes[10:13]
    assert list(window) == ["float32"] * 3 and distinct(dtypes) == ["float32"]
    assert distinct(Repeated("x", 0)) == [] and distinct(["a", "b", "a"]) == ["a", "b"]
