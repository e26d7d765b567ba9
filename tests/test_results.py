"""Compute results are files: they survive restarts, carry provenance, are named, evicted."""

from __future__ import annotations

import os
import signal

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.conftest import RpcProcess
from tests.test_worker import descendants, parent_of, wait_until
from vime import results


@pytest.fixture
def source(tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "signal": rng.normal(size=2000),
            "station": rng.choice(["north", "south", "east"], 2000),
            "count": np.arange(2000) % 7,
        }
    )
    path = tmp_path / "source.h5"
    frame.to_hdf(path, key="data", format="table", data_columns=True)
    return path, frame


def spawn(tmp_path, **env) -> RpcProcess:
    return RpcProcess(
        env={
            "VIME_RESULTS": str(tmp_path / "results"),
            "VIME_CONFIG": str(tmp_path / "c.json"),
            **env,
        },
        stderr_path=tmp_path / f"stderr-{len(os.listdir(tmp_path))}.log",
    )


def computed(rpc: RpcProcess, **params) -> dict:
    started = rpc.call("compute_start", **params)
    assert started["ok"], started
    done = rpc.wait_notification("compute_done")
    assert done["job"] == started["job"] and done["table"] == started["table"]
    return done


def listing(rpc: RpcProcess) -> dict:
    return {t["name"]: t for t in rpc.call("tables")["tables"]}


def page_frame(rpc: RpcProcess, name: str, count: int = 100) -> list[list[str]]:
    page = rpc.call("table", name=name, count=count)
    assert page["ok"], page
    return [line.split() for line in page["content"].splitlines()[3:]]


def test_a_result_survives_a_restart_and_is_listed_with_its_source(tmp_path, source):
    path, frame = source
    first = spawn(tmp_path).opened(path)
    done = computed(first, source="/data", query="signal > 1", columns=["signal", "count"])
    assert done["table"] == "/__computed__/signal_gt_1"
    assert first.call("shutdown")["ok"] and first.wait() == 0

    second = spawn(tmp_path)
    try:
        opened = second.call("open", path=str(path))
        names = [t["name"] for t in opened["tables"]]
        assert names == ["/data", "/__computed__/signal_gt_1"]
        entry = opened["tables"][1]
        assert entry["kind"] == "computed" and entry["stale"] is False
        assert entry["rows"] == int((frame.signal > 1).sum()) and entry["cols"] == 2
        expected = frame[frame.signal > 1].head(5)
        rows = page_frame(second, done["table"], 5)
        assert [int(r[0]) for r in rows] == list(expected.index)
        assert [float(r[1]) for r in rows] == pytest.approx(expected.signal.tolist(), rel=1e-5)
        assert [int(r[2]) for r in rows] == expected["count"].tolist()
    finally:
        second.stop()


def test_a_changed_source_marks_its_results_stale(tmp_path, source):
    path, frame = source
    rpc = spawn(tmp_path).opened(path)
    try:
        done = computed(rpc, source="/data", groupby="station", agg={"signal": "mean"})
        assert listing(rpc)[done["table"]]["stale"] is False
        frame.iloc[:10].to_hdf(path, key="more", format="table")  # the source is rewritten
        entry = listing(rpc)[done["table"]]
        assert entry["stale"] is True
        assert [r[1] for r in page_frame(rpc, done["table"])] == ["east", "north", "south"]
    finally:
        rpc.stop()


def test_provenance_is_in_the_listing_info_and_the_files_attributes(tmp_path, source):
    path, frame = source
    rpc = spawn(tmp_path).opened(path)
    try:
        done = computed(rpc, source="/data", query="count == 3", assign={"twice": "signal * 2"},
                        sort="signal", descending=True, limit=10)  # fmt: skip
        assert done["table"] == "/__computed__/count_eq_3_with_twice_sorted_by_signal"
        provenance = listing(rpc)[done["table"]]["provenance"]
        assert provenance["source_file"] == str(path) and provenance["source_table"] == "/data"
        assert provenance["query"] == "count == 3"
        assert provenance["assign"] == '{"twice": "signal * 2"}'
        assert (provenance["rows_in"], provenance["rows_out"]) == (2000, 10)
        assert provenance["limit"] == 10 and provenance["descending"] is True
        info = rpc.call("info", name=done["table"])
        assert "query: count == 3" in info["content"] and "rows_out: 10" in info["content"]
        files = list((tmp_path / "results").glob("*.h5"))
        with h5py.File(files[0], "r") as handle:
            attrs = dict(handle["/result"].attrs)
        assert attrs["query"] == "count == 3" and attrs["source_table"] == "/data"
        assert attrs["rows_in"] == 2000 and attrs["vime_version"]
        best = frame[frame["count"] == 3].sort_values("signal", ascending=False).head(10)
        rows = page_frame(rpc, done["table"])
        assert [int(r[0]) for r in rows] == list(best.index)
    finally:
        rpc.stop()


def test_names_get_a_suffix_and_a_given_name_replaces(tmp_path, source):
    path, _ = source
    rpc = spawn(tmp_path).opened(path)
    try:
        first = computed(rpc, source="/data", query="signal > 2")
        second = computed(rpc, source="/data", query="signal > 2")
        assert (first["table"], second["table"]) == (
            "/__computed__/signal_gt_2",
            "/__computed__/signal_gt_2_2",
        )
        mine = computed(rpc, source="/data", query="signal > 2", name="mine")
        again = computed(rpc, source="/data", query="signal > 3", name="mine")
        assert mine["table"] == again["table"] == "/__computed__/mine"
        assert listing(rpc)["/__computed__/mine"]["rows"] == again["rows"]
        assert len(list((tmp_path / "results").glob("*.h5"))) == 3
        chained = computed(rpc, source="/__computed__/mine", query="count > 3")
        entry = listing(rpc)[chained["table"]]
        assert entry["source"] == {"path": str(path), "table": "/__computed__/mine"}
    finally:
        rpc.stop()


def test_derived_names_are_short_readable_and_valid():
    assert results.derive_name({"query": "signal > 3"}, "/t") == "/__computed__/signal_gt_3"
    by = results.derive_name({"groupby": "station", "agg": {"signal": "mean"}}, "/t")
    assert by == "/__computed__/by_station_mean_signal"
    assert results.derive_name({}, "/sensors/timeseries") == "/__computed__/copy_of_timeseries"
    assert results.derive_name({"script": "a/b.py:top"}, "/t") == "/__computed__/script_top"
    long = results.derive_name({"query": "a_long_column_name > 1 and other_column < 2 or x"}, "/t")
    assert long.startswith("/__computed__/a_long_column_name_gt_1")
    assert len(long.removeprefix(results.PREFIX)) <= results.MAX_NAME
    taken = {long} | {f"{long}_{n}" for n in range(2, 12)}
    unique = results.unique_name(long, taken)
    assert unique not in taken and unique.endswith("_12")
    assert len(unique.removeprefix(results.PREFIX)) <= results.MAX_NAME


def test_a_killed_job_leaves_no_half_result(tmp_path, source):
    path, _ = source
    rpc = spawn(tmp_path, VIME_CHUNK_ROWS="1").opened(path)
    try:
        assert rpc.call("compute_start", source="/data", query="signal > 0")["ok"]
        rpc.wait_notification("compute_progress")
        workers = [p for p in descendants(rpc.proc.pid) if parent_of(p) != rpc.proc.pid]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        error = rpc.wait_notification("compute_error")
        assert "the worker process died (SIGKILL)" in error["error"]
        assert [t["kind"] for t in listing(rpc).values()] == ["pandas-table"]
        wait_until(lambda: not list((tmp_path / "results").glob(".tmp-*")), "the temp file gone")
        assert list((tmp_path / "results").glob("*.h5")) == []
    finally:
        rpc.stop()


def test_the_cache_limit_evicts_the_oldest_closed_result(tmp_path, source):
    path, _ = source
    rpc = spawn(tmp_path).opened(path)
    try:
        first = computed(rpc, source="/data", query="signal > 0")
        size = sum(f.stat().st_size for f in (tmp_path / "results").glob("*.h5"))
        assert rpc.call("shutdown")["ok"] and rpc.wait() == 0
        # Room for two results of this size: the third evicts the oldest.
        rpc = spawn(tmp_path, VIME_RESULTS_MAX=str(int(size * 2.5))).opened(path)
        second = computed(rpc, source="/data", query="signal < 0")
        assert set(listing(rpc)) == {"/data", first["table"], second["table"]}
        third = computed(rpc, source="/data", query="signal > -1")
        assert set(listing(rpc)) == {"/data", second["table"], third["table"]}
        page_frame(rpc, second["table"], 1)  # open now: spared, though the oldest
        fourth = computed(rpc, source="/data", query="signal < 1")
        assert set(listing(rpc)) == {"/data", second["table"], fourth["table"]}
        assert len(list((tmp_path / "results").glob("*.h5"))) == 2
    finally:
        rpc.stop()


def test_export_to_parquet_and_a_missing_pyarrow_is_named(tmp_path, source):
    path, frame = source
    rpc = spawn(tmp_path).opened(path)
    try:
        reply = rpc.call("export", name="/data", to=str(tmp_path / "out.parquet"))
        assert reply["ok"] and reply["format"] == "parquet" and reply["rows"] == 2000
        back = pd.read_parquet(tmp_path / "out.parquet")
        assert back["signal"].tolist() == frame["signal"].tolist()
        assert back["station"].tolist() == frame["station"].tolist()
    finally:
        rpc.stop()
    fake = tmp_path / "nopyarrow" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no pyarrow here')\n")
    rpc = spawn(tmp_path, PYTHONPATH=str(fake.parent)).opened(path)
    try:
        refused = rpc.call("export", name="/data", to=str(tmp_path / "no.parquet"))
        assert refused["ok"] is False and "vime[parquet]" in refused["error"]
        assert not (tmp_path / "no.parquet").exists()
    finally:
        rpc.stop()


def test_the_first_open_sweeps_temp_files_of_dead_workers(tmp_path, source):
    path, _ = source
    folder = tmp_path / "results"
    folder.mkdir()
    dead = 2**22 + 12345  # above the kernel's pid_max (4,194,304): never a running process
    gone = folder / f".tmp-{dead}-abc.h5"
    runs = folder / f".tmp-{dead}-abc.runs"
    mine = folder / f".tmp-{os.getpid()}-def.h5"  # a live process's: kept
    for temp in (gone, runs, mine):
        temp.write_bytes(b"partial")
    rpc = spawn(tmp_path).opened(path)
    try:
        assert sorted(p.name for p in folder.iterdir()) == [mine.name]
    finally:
        rpc.stop()
