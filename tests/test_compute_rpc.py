"""Compute jobs and export through the real bin/vime-rpc subprocess."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import RpcProcess, SharedBackend
from vime.errors import Busy, ExportFailed, NoSuchTable

ROWS = 4000


def spawn(tmp_path, chunk_rows: int) -> RpcProcess:
    return RpcProcess(
        env={
            "VIME_CONFIG": str(tmp_path / "config.json"),
            "VIME_CHUNK_ROWS": str(chunk_rows),
            "VIME_RESULTS": str(tmp_path / "results"),
        },
        stderr_path=tmp_path / f"rpc-stderr-{chunk_rows}.log",
    )


@pytest.fixture(scope="module")
def shared_backend(tmp_path_factory):
    """The module's shared vime-rpc reads 100-row chunks (see chunked and busy)."""
    backend = SharedBackend(tmp_path_factory.mktemp("shared-backend"), {"VIME_CHUNK_ROWS": "100"})
    yield backend
    backend.stop()


@pytest.fixture
def chunked(shared_rpc, pandas_file):
    """vime-rpc reading 100-row chunks, so the 1000-row /data takes 10 chunks; shared by
    the module's tests (each job ends within its test)."""
    return shared_rpc.opened(pandas_file)


@pytest.fixture
def own_chunked(tmp_path, pandas_file):
    """The same, started for one test: it looks at its results folder or its first job."""
    process = spawn(tmp_path, 100)
    process.opened(pandas_file)
    yield process
    process.stop()


@pytest.fixture
def rows_file(tmp_path):
    frame = pd.DataFrame({"x": np.arange(ROWS) * 0.5, "label": [f"r{i}" for i in range(ROWS)]})
    path = tmp_path / "rows.h5"
    frame.to_hdf(path, key="rows", format="table")
    return path, frame


@pytest.fixture
def busy(shared_rpc, rows_file):
    """vime-rpc reading 100-row chunks of /rows: a job reads 40 chunks (see Gate)."""
    return shared_rpc.opened(rows_file[0])


@pytest.fixture
def own_busy(tmp_path, rows_file):
    """The same, started for one test that ends it."""
    process = spawn(tmp_path, 100)
    process.opened(rows_file[0])
    yield process
    process.stop()


def read_frame(pandas_file) -> pd.DataFrame:
    return pd.read_hdf(pandas_file, "data")


def run_job(rpc: RpcProcess, **params) -> dict:
    started = rpc.call("compute_start", **params)
    assert started["ok"] and started["status"] == "running", started
    done = rpc.wait_notification("compute_done")
    assert done["job"] == started["job"]
    return done


def exported(rpc: RpcProcess, name: str, target) -> pd.DataFrame:
    reply = rpc.call("export", name=name, to=str(target))
    assert reply["ok"], reply
    if str(target).endswith(".csv"):
        return pd.read_csv(target)
    return pd.read_hdf(target, reply["key"])


def test_done_is_pushed_without_status_calls(chunked, pandas_file, tmp_path):
    done = run_job(chunked, source="/data", query="v0 > 1", assign={"p": "v0 * v1"})
    assert done["table"] == "/__computed__/v0_gt_1_with_p"
    assert done["status"] == "done" and done["message"] == f"Compute done: {done['table']}"
    expected = read_frame(pandas_file).query("v0 > 1").assign(p=lambda d: d.v0 * d.v1)
    assert (done["rows"], done["cols"]) == expected.shape
    assert isinstance(done["elapsed"], float)
    back = exported(chunked, done["table"], tmp_path / "r.h5")
    pd.testing.assert_frame_equal(back, expected)
    status = chunked.call("compute_status")
    assert status == {"ok": True, "status": "done", "message": done["message"],
                      "table": done["table"], "error": None, "job": done["job"]}  # fmt: skip


def test_progress_arrives_for_a_multi_chunk_job(chunked):
    started = chunked.call("compute_start", source="/data", query="n % 3 == 0")
    progress = chunked.wait_notification("compute_progress")
    assert progress["job"] == started["job"]
    assert progress["rows_total"] == 1000
    assert progress["rows_done"] % 100 == 0 and 0 < progress["rows_done"] <= 1000
    assert progress["elapsed"] >= 0
    done = chunked.wait_notification("compute_done")
    assert (done["job"], done["rows"]) == (started["job"], 334)


def test_result_lists_pages_and_drops(own_chunked, pandas_file, tmp_path):
    done = run_job(
        own_chunked, source="/data", groupby="flag", agg={"v0": ["mean", "max"]}, name="g"
    )
    name = "/__computed__/g"
    assert done["table"] == name and (done["rows"], done["cols"]) == (2, 3)
    listed = {t["name"]: t for t in own_chunked.call("tables")["tables"]}
    assert listed[name]["kind"] == "computed" and listed[name]["rows"] == 2
    assert listed[name]["source"] == {"path": str(pandas_file), "table": "/data"}
    assert listed[name]["stale"] is False
    page = own_chunked.call("table", name=name)
    assert page["columns"] == ["flag", "v0_mean", "v0_max"]
    frame = read_frame(pandas_file)
    assert f"{frame.v0[frame.flag].max():.6g}" in page["content"]
    info = own_chunked.call("info", name=name)
    assert info["ok"] and "groupby: " in info["content"] and "rows_in: 1000" in info["content"]
    files = list((tmp_path / "results").glob("*.h5"))
    assert len(files) == 1
    dropped = own_chunked.call("drop", name=name)
    assert dropped["dropped"] == name and dropped["tables"] == []
    assert not files[0].exists()
    missing = own_chunked.call("drop", name=name)
    assert missing["code"] == NoSuchTable.code and "'/__computed__/g'" in missing["error"]
    assert name not in {t["name"] for t in own_chunked.call("tables")["tables"]}


def test_groupby_result_equals_pandas(chunked, pandas_file, tmp_path):
    agg = {"v1": ["mean", "std", "min", "count"], "v0": ["sum", "median"]}
    done = run_job(chunked, source="/data", query="v0 > -1", groupby=["flag"], agg=agg,
                   sort="v1_mean", descending=True)  # fmt: skip
    expected = read_frame(pandas_file).query("v0 > -1").groupby("flag").agg(agg)
    expected.columns = [f"{c}_{how}" for c, how in expected.columns]
    expected = expected.reset_index().sort_values("v1_mean", ascending=False)
    back = exported(chunked, done["table"], tmp_path / "g.h5")
    pd.testing.assert_frame_equal(back, expected)


def test_h5py_dataset_columns_are_quoted_with_backticks(shared_rpc, tmp_path):
    import h5py

    matrix = np.random.default_rng(3).normal(size=(450, 3))
    path = tmp_path / "matrix.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("m", data=matrix, chunks=(64, 3))
    shared_rpc.opened(path)
    done = run_job(shared_rpc, source="/m", query="`0` > 0", agg={"1": ["sum", "max"]})
    back = exported(shared_rpc, done["table"], tmp_path / "agg.csv")
    kept = matrix[matrix[:, 0] > 0, 1]
    assert back["1_sum"][0] == pytest.approx(kept.sum())
    assert back["1_max"][0] == pytest.approx(kept.max())


def test_script_runs_the_users_function(chunked, pandas_file, tmp_path):
    script = tmp_path / "mine.py"
    script.write_text("def top(df):\n    return df.nlargest(3, 'v1')[['label', 'v1']]\n")
    done = run_job(chunked, source="/data", script=f"{script}:top")
    back = exported(chunked, done["table"], tmp_path / "top.h5")
    pd.testing.assert_frame_equal(back, read_frame(pandas_file).nlargest(3, "v1")[["label", "v1"]])


def test_failing_script_and_unknown_column_give_compute_error(chunked, tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("def f(df):\n    raise RuntimeError('broken on purpose')\n")
    started = chunked.call("compute_start", source="/data", script=f"{script}:f")
    error = chunked.wait_notification("compute_error")
    assert error["job"] == started["job"]
    assert error["status"] == "error" and "broken on purpose" in error["error"]
    started = chunked.call("compute_start", source="/data", query="nope > 1")
    error = chunked.wait_notification("compute_error")
    assert error["job"] == started["job"] and "no column 'nope'" in error["error"]
    status = chunked.call("compute_status")
    assert status["status"] == "error" and status["error"] == error["error"]
    assert status["message"] == "Compute failed" and status["table"] is None
    assert chunked.call("ping")["ok"]


@pytest.mark.parametrize(
    "params",
    [
        {"query": "__import__('os').system('touch {marker}')"},
        {"query": "v0.__class__.__init__.__globals__['os'].system('touch {marker}')"},
        {"assign": {"x": "__import__('os').system('touch {marker}')"}},
        {"query": "@pd.io.common.os.system('touch {marker}')"},
    ],
)
def test_injection_is_refused(chunked, tmp_path, params):
    marker = tmp_path / "pwned"
    params = json.loads(json.dumps(params).replace("{marker}", str(marker)))
    assert chunked.call("compute_start", source="/data", **params)["ok"]
    error = chunked.wait_notification("compute_error")
    assert "not allowed" in error["error"] or "not supported" in error["error"]
    assert not marker.exists()
    status = chunked.call("compute_status")
    assert status["status"] == "error"
    assert chunked.call("ping")["ok"]


def test_bad_params_are_refused_at_start(own_chunked):
    reply = own_chunked.call("compute_start", source="/data", agg={"v0": "average"})
    assert reply["ok"] is False and "'average'" in reply["error"]
    reply = own_chunked.call("compute_start", source="/nope")
    assert reply["code"] == NoSuchTable.code
    reply = own_chunked.call("compute_start", source="/data", name=" ")
    assert reply["ok"] is False and "'name'" in reply["error"]
    assert own_chunked.call("compute_status")["status"] == "idle"


def test_notifications_follow_the_starting_envelope(chunked):
    chunked.send({"jsonrpc": "2.0", "id": 7, "method": "compute_start",
                  "params": {"source": "/data", "query": "n < 10"}})  # fmt: skip
    reply = chunked.read()
    assert reply["id"] == 7 and reply["result"]["status"] == "running"
    while True:
        message = chunked.read()
        assert isinstance(message, dict) and message["jsonrpc"] == "2.0" and "id" not in message
        if message["method"] == "compute_done":
            assert message["params"]["rows"] == 10
            break
        assert message["method"] == "compute_progress"
    page = chunked.call("table", name=message["params"]["table"], columns=["n", "label"])
    rows = [line.split() for line in page["content"].splitlines()[3:]]
    assert rows == [[str(n), str(n), f"row{n}"] for n in range(10)]


# -- long jobs ---------------------------------------------------------------------------
# A job that runs until the test says so: its script waits for a file the test creates.
# Nothing here waits for a duration; each step waits for a reply or a notification.
GATE_SCRIPT = """\
import os
import time

OPEN = {marker!r}


def gate(df):
    while not os.path.exists(OPEN):
        time.sleep(0.005)
    return df
"""


class Gate:
    """The ``script`` of a job that ends only after ``open()``."""

    def __init__(self, folder):
        self.marker = folder / "gate-open"
        path = folder / "gate.py"
        path.write_text(GATE_SCRIPT.format(marker=str(self.marker)))
        self.script = f"{path}:gate"

    def open(self) -> None:
        self.marker.touch()


@pytest.fixture
def gate(tmp_path):
    folder = tmp_path / "gate"
    folder.mkdir()
    return Gate(folder)


def start_gated(busy: RpcProcess, gate: Gate, **params) -> int:
    started = busy.call("compute_start", source="/rows", script=gate.script, **params)
    assert started["ok"] and started["status"] == "running", started
    return started["job"]


def test_cancel_stops_a_running_job(busy, gate):
    job = start_gated(busy, gate, query="x >= 0")
    assert busy.wait_notification("compute_progress")["job"] == job
    assert busy.call("compute_status")["status"] == "running"
    reply = busy.call("compute_cancel", job=job)
    assert reply == {"ok": True, "status": "cancelling", "job": job,
                     "message": f"cancelling job {job}"}  # fmt: skip
    gate.open()
    assert busy.wait_notification("compute_cancelled") == {"job": job}
    status = busy.call("compute_status")
    assert status["status"] == "cancelled" and status["table"] is None
    assert [t["kind"] for t in busy.call("tables")["tables"]] == ["pandas-table"]
    assert busy.call("compute_cancel")["message"] == "no job is running"


def test_second_start_is_refused_while_busy(busy, gate):
    first = start_gated(busy, gate, query="x >= 0")
    second = busy.call("compute_start", source="/rows", query="x < 0")
    assert second["ok"] is False and second["code"] == Busy.code
    assert second["job"] == first and str(first) in second["error"]
    wrong = busy.call("compute_cancel", job=first + 100)
    assert wrong["ok"] is False and str(first) in wrong["error"]
    assert busy.call("compute_cancel")["status"] == "cancelling"
    gate.open()
    assert busy.wait_notification("compute_cancelled") == {"job": first}
    # `limit` stops the read at the first match (row 7), so this job ends after one chunk.
    third = busy.call("compute_start", source="/rows", query="x >= 3.5", limit=1, name="/one")
    assert third["ok"] and third["job"] == first + 1
    done = busy.wait_notification("compute_done")
    assert (done["job"], done["rows"], done["table"]) == (third["job"], 1, "/__computed__/one")
    rows = page_rows(busy.call("table", name=done["table"])["content"])
    assert rows == [["7", "3.5", "r7"]]


def page_rows(content: str) -> list[list[str]]:
    return [line.split() for line in content.splitlines()[3:]]


def test_pages_read_during_a_job_are_correct(busy, rows_file, gate):
    _, frame = rows_file
    job = start_gated(busy, gate, assign={"y": "x * 2"})
    busy.wait_notification("compute_progress")
    for start in (0, 1234, 3990, 2500, 17):
        assert busy.call("compute_status")["status"] == "running"  # held by the gate
        page = busy.call("table", name="/rows", start=start, count=10)
        assert page["ok"] and page["shape"] == [ROWS, 2]
        expected = frame.iloc[start : start + 10]
        rows = page_rows(page["content"])
        assert [int(r[0]) for r in rows] == list(expected.index)
        assert [float(r[1]) for r in rows] == expected["x"].tolist()
        assert [r[2] for r in rows] == expected["label"].tolist()
    gate.open()
    done = busy.wait_notification("compute_done")
    assert (done["job"], done["rows"], done["cols"]) == (job, ROWS, 3)


def test_eof_during_a_job_exits_without_waiting_for_it(own_busy, gate, tmp_path):
    """The gate stays shut: the job can never end, so exiting proves nothing waits for it."""
    before = sorted(p.name for p in tmp_path.iterdir())
    start_gated(own_busy, gate, assign={"y": "x * 2"})
    own_busy.wait_notification("compute_progress")
    own_busy.close_stdin()
    assert own_busy.wait(timeout=60) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "results") == before
    assert list((tmp_path / "results").iterdir()) == []


# -- export ------------------------------------------------------------------------------
def test_export_round_trips_csv_and_hdf5(chunked, pandas_file, tmp_path):
    frame = read_frame(pandas_file)
    csv = chunked.call("export", name="/data", to=str(tmp_path / "d.csv"))
    assert csv["ok"] and csv["rows"] == 1000 and csv["format"] == "csv"
    back = pd.read_csv(tmp_path / "d.csv", index_col=0)
    back.index.name = None
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["label"].tolist() == frame["label"].tolist()
    h5 = chunked.call("export", name="/data", to=str(tmp_path / "d.h5"), format="hdf5")
    assert h5["ok"] and h5["key"] == "/data"
    pd.testing.assert_frame_equal(pd.read_hdf(tmp_path / "d.h5", "/data"), frame)
    fixed = chunked.call("export", name="/group/fixed", to=str(tmp_path / "f.h5"))
    assert fixed["ok"] and fixed["rows"] == 100
    pd.testing.assert_frame_equal(
        pd.read_hdf(tmp_path / "f.h5", "/group/fixed"), pd.read_hdf(pandas_file, "group/fixed")
    )


def test_export_refuses_existing_files_and_sources(chunked, pandas_file, tmp_path):
    target = tmp_path / "d.csv"
    target.write_text("mine")
    refused = chunked.call("export", name="/data", to=str(target))
    assert refused["code"] == ExportFailed.code and "overwrite" in refused["error"]
    assert target.read_text() == "mine"
    assert chunked.call("export", name="/data", to=str(target), overwrite=True)["ok"]
    assert target.read_text().startswith(",v0,v1,n,flag,label")
    before = pandas_file.read_bytes()
    source = chunked.call("export", name="/data", to=str(pandas_file), overwrite=True)
    assert source["code"] == ExportFailed.code and "open as a source" in source["error"]
    assert pandas_file.read_bytes() == before
    unknown = chunked.call("export", name="/data", to=str(tmp_path / "x.txt"))
    assert unknown["ok"] is False and "format" in unknown["error"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
