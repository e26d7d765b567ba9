"""Sorting compute results of any size: sorted runs spilled to disk, then merged.

The engine is checked against pandas' own stable sort (missing values last)
through its functions, with hypothesis; the job through the real bin/vime-rpc.
"""

from __future__ import annotations

import os
import signal

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RpcProcess, examples
from tests.test_compute import FrameSink, chunk_frame
from tests.test_compute_rpc import spawn
from tests.test_worker import alive, stuck_worker, wait_until
from vime import sorting
from vime.compute import Plan, run_plan
from vime.errors import InvalidParams, NoSuchColumn

KEYS = ["i", "f", "s", "t", "index"]


def sorted_by_pandas(frame: pd.DataFrame, by: list[str], descending: bool) -> pd.DataFrame:
    """What the result must be: pandas' stable sort, NaN last; 'index' names the index."""
    named = frame.rename_axis("index")
    return named.sort_values(by, ascending=not descending, kind="stable").rename_axis(None)


def run_sort(plan: Plan, frame: pd.DataFrame, chunk_rows: int, spill, on_chunk=None):
    """The result of a plan over ``frame`` in chunks; its index levels are named as a
    table names them."""
    sink = FrameSink()
    extra = {} if on_chunk is None else {"on_chunk": on_chunk}
    index_names = [name for name in frame.index.names if name is not None]
    run_plan(plan, chunk_frame(frame, chunk_rows), list(frame.columns), sink,
             index_names=index_names, spill=str(spill), **extra)  # fmt: skip
    return sink.result()


@pytest.fixture
def small_buffers(monkeypatch):
    """Merge buffers of a row or two per run (a run that sorts alone grows to half a
    chunk): rounds, bounds and refills on small frames."""
    monkeypatch.setattr(sorting, "MIN_BUFFER_ROWS", 1)
    monkeypatch.setattr(sorting, "BUFFER_SHARE", 0.5)


# -- the engine, against pandas ---------------------------------------------------------------
@st.composite
def frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(1, 45))  # (a source with no rows has no chunk to give dtypes)
    few = st.integers(0, 3)  # few distinct values: many ties
    floats = st.sampled_from([np.nan, -1.5, 0.0, 2.25, np.inf, -np.inf])
    texts = st.sampled_from([None, "", "a", "b", "ab", "é", "Z"])
    times = st.sampled_from([None, "2024-01-01", "1999-12-31 23:59", "2024-01-01 00:00:01"])
    column = lambda strategy: draw(st.lists(strategy, min_size=rows, max_size=rows))  # noqa: E731
    return pd.DataFrame(
        {
            "i": np.array(column(few), dtype=np.int64),
            "f": np.array(column(floats), dtype=np.float64),
            "s": pd.array(column(texts), dtype="str"),
            "t": pd.to_datetime(pd.Series(column(times), dtype=object), format="ISO8601"),
            "row": np.arange(rows),  # payload: tells rows apart
        }
    )


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=frames(),
    by=st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True),
    descending=st.booleans(),
    chunk_rows=st.integers(3, 20),
    buffer_rows=st.integers(1, 4),
    buffer_share=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_external_sort_equals_pandas_stable_sort(
    tmp_path_factory, frame, by, descending, chunk_rows, buffer_rows, buffer_share
):
    spill = tmp_path_factory.mktemp("spill") / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sorting, "MIN_BUFFER_ROWS", buffer_rows)
        patch.setattr(sorting, "BUFFER_SHARE", buffer_share)
        result = run_sort(Plan(sort=by, descending=descending), frame, chunk_rows, spill)
    pd.testing.assert_frame_equal(result, sorted_by_pandas(frame, by, descending))
    assert not spill.exists()


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), descending=st.booleans(), chunk_rows=st.integers(3, 20))
def test_query_assign_and_columns_come_before_the_sort(
    tmp_path_factory, frame, descending, chunk_rows
):
    spill = tmp_path_factory.mktemp("spill") / "runs"
    plan = Plan(query="i > 0", assign={"g": "f * 2"}, sort=["g", "s"], descending=descending,
                columns=["t", "s", "row"])  # fmt: skip
    result = run_sort(plan, frame, chunk_rows, spill)
    kept = frame[frame.i > 0].assign(g=lambda d: d.f * 2)
    expected = sorted_by_pandas(kept, ["g", "s"], descending)[["t", "s", "row"]]
    pd.testing.assert_frame_equal(result, expected)


def ties_frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"k": np.arange(rows) % 3, "row": np.arange(rows)})


@pytest.mark.parametrize(
    "keys",
    [
        np.arange(120.0),  # presorted: one run's buffer at a time
        np.arange(120.0)[::-1],  # reversed: the last run's rows come first
        np.zeros(120),  # one tie: source order across every run
        np.tile([2.0, np.nan, 1.0], 40),
    ],
    ids=["presorted", "reversed", "all-equal", "nan-last"],
)
@pytest.mark.parametrize("descending", [False, True])
def test_runs_merge_in_order_whatever_the_input(tmp_path, small_buffers, keys, descending):
    frame = pd.DataFrame({"k": keys, "row": np.arange(len(keys))})
    result = run_sort(Plan(sort=["k"], descending=descending), frame, 7, tmp_path / "runs")
    pd.testing.assert_frame_equal(result, sorted_by_pandas(frame, ["k"], descending))


DTYPES = {
    "categorical": pd.Categorical(["b", "a", None, "c"] * 25, categories=["c", "b", "a"]),
    "tz-aware": pd.date_range("2024-03-30", periods=100, freq="7h", tz="Europe/Paris")[::-1],
    "nullable int": pd.array([3, None, 1, 2] * 25, dtype="Int64"),
    "nullable bool": pd.array([True, None, False, True] * 25, dtype="boolean"),
    "bytes": np.array([b"b", b"", b"a\xff", b"ab"] * 25, dtype=object),
    "object text": pd.Series(["b", None, "a", "ä"] * 25, dtype=object),
    "lone surrogate payload": pd.Series(["b", None, "a\udcff", "ä"] * 25, dtype=object),
    "durations": pd.to_timedelta(np.arange(100)[::-1] % 9, unit="s"),
    "bool": np.arange(100) % 3 == 0,
    "uint8": (np.arange(100) % 7).astype(np.uint8),
    "complex payload": np.arange(100) * (1 + 1j),
}


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_storable_dtype_survives_the_runs(tmp_path, small_buffers, dtype):
    """The sort key and a payload column of each kind come back as they went in."""
    frame = pd.DataFrame({"x": DTYPES[dtype], "row": np.arange(100)[::-1]})
    by = ["row"] if dtype.endswith("payload") else ["x", "row"]
    for descending in (False, True):
        result = run_sort(Plan(sort=by, descending=descending), frame, 9, tmp_path / "runs")
        pd.testing.assert_frame_equal(result, sorted_by_pandas(frame, by, descending))


def test_a_named_index_sorts_by_its_name_and_as_index(tmp_path, small_buffers):
    frame = pd.DataFrame({"v": np.arange(40) % 4},
                         index=pd.Index(np.arange(40)[::-1] * 1.5, name="time"))  # fmt: skip
    expected = frame.sort_values(["v", "time"], kind="stable")
    for name in ("time", "index"):
        result = run_sort(Plan(sort=["v", name]), frame, 6, tmp_path / "runs")
        pd.testing.assert_frame_equal(result, expected)


def test_an_index_level_named_by_a_number_sorts_by_its_text(tmp_path):
    """Tables name index levels as text; a frame's level may be named 5, not '5'."""
    frame = pd.DataFrame({"v": np.arange(20) % 3}, index=pd.Index(np.arange(20)[::-1], name=5))
    for limit in (None, 3):
        sink = FrameSink()
        run_plan(Plan(sort=["5"], limit=limit), chunk_frame(frame, 6), ["v"], sink,
                 index_names=["5"], spill=str(tmp_path / "runs"))  # fmt: skip
        pd.testing.assert_frame_equal(sink.result(), frame.sort_index(kind="stable").head(limit))


def test_a_run_cut_short_on_disk_fails_the_merge_and_is_removed(tmp_path):
    spill = tmp_path / "runs"

    def truncate_after_the_last(rows, seen=[]):  # noqa: B006 - the calls so far
        seen.append(rows)
        if len(seen) == 5:
            os.truncate(spill, spill.stat().st_size // 2)

    with pytest.raises(OSError, match="a sorted run is shorter than written"):
        run_sort(Plan(sort=["k"]), ties_frame(50), 10, spill, on_chunk=truncate_after_the_last)
    assert not spill.exists()


def test_a_multi_level_index_travels_with_its_rows(tmp_path, small_buffers):
    index = pd.MultiIndex.from_arrays([np.arange(30) % 2, [f"k{i}" for i in range(30)]],
                                      names=["a", "b"])  # fmt: skip
    frame = pd.DataFrame({"v": (np.arange(30) * 7) % 5}, index=index)
    result = run_sort(Plan(sort=["v", "b"], descending=True), frame, 4, tmp_path / "runs")
    pd.testing.assert_frame_equal(result, frame.sort_values(["v", "b"], ascending=False,
                                                            kind="stable"))  # fmt: skip


def test_a_sort_with_no_surviving_row_keeps_its_columns_and_dtypes(tmp_path):
    frame = ties_frame(50).assign(s=pd.array(["x"] * 50, dtype="str"))
    result = run_sort(Plan(query="k > 5", sort=["k"], columns=["s", "row"]), frame, 8,
                      tmp_path / "runs")  # fmt: skip
    assert len(result) == 0 and list(result.columns) == ["s", "row"]
    assert list(result.dtypes) == [frame.s.dtype, frame.row.dtype]
    assert not (tmp_path / "runs").exists()


def test_runs_are_spilled_while_reading_and_removed_after(tmp_path):
    spill = tmp_path / "runs"
    sizes = []
    frame = ties_frame(100)
    result = run_sort(Plan(sort=["k"]), frame, 10, spill,
                      on_chunk=lambda rows: sizes.append(spill.stat().st_size))  # fmt: skip
    pd.testing.assert_frame_equal(result, sorted_by_pandas(frame, ["k"], False))
    assert len(sizes) == 10 and sizes == sorted(sizes) and sizes[0] > 0
    assert sizes[-1] >= frame.memory_usage().sum()  # every row went to disk
    assert not spill.exists()


def test_a_failed_run_removes_its_runs(tmp_path):
    spill = tmp_path / "runs"

    def stop_at_the_fourth(rows, seen=[]):  # noqa: B006 - the calls so far
        seen.append(rows)
        if len(seen) == 4:
            assert spill.exists()
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        run_sort(Plan(sort=["k"]), ties_frame(100), 10, spill, on_chunk=stop_at_the_fourth)
    assert not spill.exists()


def test_columns_no_run_can_hold_are_refused_by_name(tmp_path):
    mixed = pd.DataFrame({"k": [2, 1], "m": np.array([1, "a"], dtype=object)})
    with pytest.raises(InvalidParams, match=r"column 'm' holds int, str values"):
        run_sort(Plan(sort=["k"]), mixed, 2, tmp_path / "runs")
    periods = pd.DataFrame({"k": [2, 1], "p": pd.period_range("2024-01", periods=2, freq="M")})
    with pytest.raises(InvalidParams, match=r"column 'p' has dtype period\[M\]"):
        run_sort(Plan(sort=["k"]), periods, 1, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    # With a limit the sort stays in memory, and needs no run.
    limited = run_sort(Plan(sort=["k"], limit=1), periods, 1, tmp_path / "runs")
    pd.testing.assert_frame_equal(limited, periods.iloc[[1]])


def test_an_unknown_sort_key_names_the_columns_and_the_index(tmp_path):
    with pytest.raises(NoSuchColumn, match=r"sort: no column 'nope' \(columns: k, row, index\)"):
        run_sort(Plan(sort=["nope"]), ties_frame(10), 3, tmp_path / "runs")


def test_sort_with_limit_by_the_index_keeps_the_fast_path(tmp_path):
    frame = ties_frame(60)
    result = run_sort(Plan(sort=["k", "index"], descending=True, limit=7), frame, 8,
                      tmp_path / "runs")  # fmt: skip
    pd.testing.assert_frame_equal(result, sorted_by_pandas(frame, ["k", "index"], True).head(7))
    assert not (tmp_path / "runs").exists()


def test_group_by_results_sort_by_their_index_in_memory(tmp_path):
    frame = ties_frame(60).assign(v=np.arange(60.0))
    result = run_sort(Plan(groupby=["k"], agg={"v": ["sum"]}, sort=["index"], descending=True),
                      frame, 8, tmp_path / "runs")  # fmt: skip
    expected = frame.groupby("k")["v"].sum().rename("v_sum").reset_index().iloc[::-1]
    pd.testing.assert_frame_equal(result, expected)
    assert not (tmp_path / "runs").exists()


# -- the job, through bin/vime-rpc ---------------------------------------------------------
ROWS = 3000


@pytest.fixture
def sort_source(tmp_path):
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "x": rng.integers(0, 40, ROWS) * 0.25,  # many ties
            "label": [f"r{i}" for i in range(ROWS)],
            "n": rng.integers(-5, 5, ROWS),
        }
    )
    frame.loc[::17, "x"] = np.nan
    path = tmp_path / "sort.h5"
    frame.to_hdf(path, key="data", format="table")
    return path, frame


def page(rpc: RpcProcess, name: str, start: int, count: int) -> list[list[str]]:
    reply = rpc.call("table", name=name, start=start, count=count)
    assert reply["ok"] and (reply["start"], reply["stop"]) == (start, start + count), reply
    return [line.split() for line in reply["content"].splitlines()[3:]]


def shown(frame: pd.DataFrame) -> list[list[str]]:
    """Rows as a page shows them: the index, then x, label and n."""
    columns = zip(frame.index, frame.x, frame.label, frame.n, strict=True)
    return [[str(i), "nan" if np.isnan(x) else f"{x:g}", label, str(n)]
            for i, x, label, n in columns]  # fmt: skip


def test_a_sort_of_many_chunks_pages_like_pandas(tmp_path, sort_source):
    path, frame = sort_source
    rpc = spawn(tmp_path, 250).opened(path)  # 12 chunks, 12 runs
    try:
        started = rpc.call("compute_start", source="/data", sort=["x", "n"], descending=True)
        assert started["ok"] and started["table"] == "/__computed__/sorted_by_x_n_desc"
        done = rpc.wait_notification("compute_done")
        assert (done["job"], done["rows"], done["cols"]) == (started["job"], ROWS, 3)
        expected = frame.sort_values(["x", "n"], ascending=False, kind="stable")
        for start in (0, 245, 1500, ROWS - 40):
            assert page(rpc, done["table"], start, 40) == shown(expected.iloc[start : start + 40])
        by_index = rpc.call("compute_start", source="/data", query="n > 2", sort="index",
                            descending=True, columns=["label"])  # fmt: skip
        assert by_index["ok"]
        done = rpc.wait_notification("compute_done")
        kept = frame[frame.n > 2].iloc[::-1]
        assert done["rows"] == len(kept)
        rows = page(rpc, done["table"], 0, 30)
        assert rows == [[str(i), label] for i, label in zip(kept.index[:30], kept.label[:30],
                                                            strict=True)]  # fmt: skip
        left = sorted(p.name for p in (tmp_path / "results").iterdir())
        assert [name for name in left if not name.startswith("index.")] == sorted(
            p.name for p in (tmp_path / "results").glob("*.h5")
        )  # the results, and no run or temp file
        assert len(left) == 4  # two results, index.json and its lock
    finally:
        rpc.stop()


@pytest.fixture
def half_stuck(tmp_path):
    """/values: its first 400 rows are in a file, the rest in a FIFO, so a job that reads
    it in 100-row chunks sorts four chunks, then hangs in the fifth."""
    values = np.random.default_rng(2).normal(size=400)
    values.tofile(tmp_path / "head.bin")
    os.mkfifo(tmp_path / "tail.fifo")
    path = tmp_path / "half.h5"
    with h5py.File(path, "w") as handle:
        head, tail = str(tmp_path / "head.bin"), str(tmp_path / "tail.fifo")
        external = [(head, 0, 400 * 8), (tail, 0, 1000 * 8)]
        handle.create_dataset("values", shape=(1400,), dtype="f8", external=external)
    return path


def test_a_cancelled_sort_leaves_no_run_file(tmp_path, half_stuck):
    rpc = spawn(tmp_path, 100).opened(half_stuck)
    try:
        started = rpc.call("compute_start", source="/values", sort="values")
        assert started["ok"]
        worker = stuck_worker(rpc)  # in the fifth chunk: four runs are on disk
        results = tmp_path / "results"
        runs = list(results.glob(".tmp-*.runs"))
        assert len(runs) == 1 and runs[0].stat().st_size == 400 * (8 + 8)  # value and row
        os.kill(worker, signal.SIGSTOP)  # not one more step: the cancel does all the cleaning
        assert rpc.call("compute_cancel")["status"] == "cancelling"
        assert rpc.wait_notification("compute_cancelled") == {"job": started["job"]}
        wait_until(lambda: not alive(worker), "the cancelled worker gone")
        wait_until(  # removed once vime-rpc has seen the worker's end
            lambda: [p.name for p in results.iterdir() if not p.name.startswith("index.")] == [],
            "the run and result files removed",
        )
    finally:
        rpc.stop()
