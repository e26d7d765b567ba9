"""Heavy requests in worker processes, through the real bin/vime-rpc subprocess.

A request is made to hang for as long as a test needs, without timing: its
dataset keeps its raw data in an external file that is a FIFO, so a read
blocks in HDF5's C code (open() of a FIFO waits for a writer) until the test
ends it. Each test waits for events (a process blocked there, a reply), never
for a duration.
"""

from __future__ import annotations

import os
import signal
import time

import h5py
import numpy as np
import pandas as pd
import pytest

from benchmarks import processes
from tests.conftest import RpcProcess
from vime.errors import Cancelled, FileMissing, MemoryLimit, WorkerDied

WAIT = 30.0  # seconds before a wait for an event gives up


# -- processes -------------------------------------------------------------------------
def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> set[int]:
    """Every process under pid, from /proc/<pid>/task/*/children: far cheaper than a
    scan of /proc, which the tests do every 10 ms while they wait."""
    return set(processes.descendants(pid))


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def blocked_on_fifo(pid: int) -> bool:
    """A thread of ``pid`` waits in open() of a FIFO for its writer."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/wchan") as handle:
                if handle.read().strip() == "wait_for_partner":
                    return True
        except OSError:
            continue
    return False


def wait_until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def stuck_worker(rpc: RpcProcess) -> int:
    """The pid of the worker that is blocked reading the FIFO."""
    return wait_until(
        lambda: next((p for p in descendants(rpc.proc.pid) if blocked_on_fifo(p)), None),
        "a worker blocked on the FIFO",
    )


def reply_to(rpc: RpcProcess, msg_id, timeout: float = WAIT) -> dict:
    """The reply to an earlier request, whatever else arrived meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        for message in rpc.notifications:
            if isinstance(message, list) and message[0] == msg_id:
                rpc.notifications.remove(message)
                return message[1]
            if isinstance(message, dict) and message.get("id") == msg_id:
                rpc.notifications.remove(message)
                return message
        rpc.notifications.append(rpc.read(max(0.1, deadline - time.monotonic())))


def send(rpc: RpcProcess, msg_id: int, method: str, **params) -> None:
    rpc.send([msg_id, {"method": method, "params": params}])


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture
def stuck_file(tmp_path):
    """/stuck reads from a FIFO (so it hangs), /fine is an ordinary dataset."""
    path = tmp_path / "stuck.h5"
    with h5py.File(path, "w") as handle:
        fifo = str(tmp_path / "raw.bin")
        handle.create_dataset("stuck", shape=(1000,), dtype="f8", external=[(fifo, 0, 8000)])
        handle.create_dataset("fine", data=np.arange(20.0))
    os.mkfifo(tmp_path / "raw.bin")
    return path


@pytest.fixture
def stuck(tmp_path, stuck_file):
    """A backend of its own, for a test that ends it."""
    process = RpcProcess(env={"VIME_CONFIG": str(tmp_path / "config.json")},
                         stderr_path=tmp_path / "stderr.log")  # fmt: skip
    process.opened(stuck_file)
    yield process
    process.stop()


@pytest.fixture
def stuck_shared(shared_rpc, stuck_file):
    """The module's shared backend, for a test whose hung request ends within it (it is
    cancelled, or its worker or fork server killed: the backend goes on)."""
    return shared_rpc.opened(stuck_file)


# -- the loop stays free --------------------------------------------------------------------
@pytest.mark.parametrize("method", ["info", "plot", "export"])
def test_pages_are_answered_while_a_heavy_request_hangs(stuck_shared, tmp_path, method):
    params = {"name": "/stuck", **({"y": "stuck"} if method == "plot" else {}),
              **({"to": str(tmp_path / "out.csv")} if method == "export" else {})}  # fmt: skip
    send(stuck_shared, 50, method, **params)
    stuck_worker(stuck_shared)
    page = stuck_shared.call("table", name="/fine", start=18, count=5)
    assert page["ok"] and [r.split() for r in page["content"].splitlines()[3:]] == [
        ["18", "18"],
        ["19", "19"],
    ]
    assert stuck_shared.call("ping")["ok"]
    cancelled = stuck_shared.call("cancel", id=50)
    assert cancelled["cancelled"] == 50 and method in cancelled["message"]
    reply = reply_to(stuck_shared, 50)
    assert reply["ok"] is False and reply["code"] == Cancelled.code
    assert f"{method} of {stuck_file_of(stuck_shared)}:/stuck" in reply["error"]
    assert not (tmp_path / "out.csv").exists()
    wait_until(
        lambda: [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [],
        "no temp file left",
    )


def stuck_file_of(rpc: RpcProcess) -> str:
    return rpc.call("tables")["path"]


def test_cancel_without_id_cancels_the_newest_request(stuck_shared):
    send(stuck_shared, 7, "info", name="/stuck")
    stuck_worker(stuck_shared)
    assert stuck_shared.call("cancel")["cancelled"] == 7
    assert reply_to(stuck_shared, 7)["code"] == Cancelled.code
    assert stuck_shared.call("cancel") == {"ok": True, "cancelled": None,
                                    "message": "no request is running"}  # fmt: skip
    assert stuck_shared.call("cancel", id=7)["message"] == "no running request 7"


def test_lsp_cancel_request_notification(stuck_shared):
    stuck_shared.send({"jsonrpc": "2.0", "id": "p1", "method": "plot",
                "params": {"name": "/stuck", "y": "stuck"}})  # fmt: skip
    stuck_worker(stuck_shared)
    stuck_shared.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "p1"}})
    reply = reply_to(stuck_shared, "p1")
    assert reply["error"]["code"] == Cancelled.code and "plot of" in reply["error"]["message"]
    assert stuck_shared.call("ping")["ok"]  # the notification itself got no reply


def test_a_dead_worker_costs_one_error_and_the_next_request_works(stuck_shared):
    send(stuck_shared, 9, "info", name="/stuck")
    os.kill(stuck_worker(stuck_shared), signal.SIGSEGV)
    reply = reply_to(stuck_shared, 9)
    assert reply["code"] == WorkerDied.code
    assert "the worker process died (SIGSEGV) during info of" in reply["error"]
    info = stuck_shared.call("info", name="/fine")
    assert info["ok"] and info["shape"] == [20]


def test_a_dead_fork_server_is_restarted(stuck_shared):
    send(stuck_shared, 3, "info", name="/stuck")
    worker = stuck_worker(stuck_shared)
    server = parent_of(worker)
    os.kill(server, signal.SIGKILL)
    assert reply_to(stuck_shared, 3)["code"] == WorkerDied.code
    info = stuck_shared.call("info", name="/fine")
    assert info["ok"] and "count" in info["content"]
    assert server not in descendants(stuck_shared.proc.pid)


def test_progress_is_pushed_for_a_request_over_half_a_second(tmp_path):
    rows = 4000
    path = tmp_path / "slow.h5"
    pd.DataFrame({"x": np.arange(rows) * 0.5}).to_hdf(path, key="slow", format="table")
    process = RpcProcess(env={"VIME_CHUNK_ROWS": "1"}, stderr_path=tmp_path / "stderr.log")
    try:
        process.opened(path)
        target = tmp_path / "out.csv"
        process.send([11, {"method": "export", "params": {"name": "/slow", "to": str(target)}}])
        progress = process.wait_notification("progress")
        assert progress["id"] == 11 and progress["unit"] == "rows" and progress["total"] == rows
        assert 0 < progress["done"] < rows and progress["elapsed"] >= 0.5
        assert progress["message"] == "exporting /slow"
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert process.call("cancel", id=11)["cancelled"] == 11
        assert reply_to(process, 11)["code"] == Cancelled.code
        # The temp file goes once the killed worker is gone (it may still be writing),
        # even when the backend exits at once (the editor's restart after CTRL-C).
        process.close_stdin()
        assert process.wait(timeout=10) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.h5", "stderr.log"]
    finally:
        process.stop()


# -- runaway work -------------------------------------------------------------------------
@pytest.fixture
def numbers(tmp_path):
    path = tmp_path / "numbers.h5"
    pd.DataFrame({"i": np.arange(100)}).to_hdf(path, key="n", format="table")
    return path


def test_a_runaway_expression_is_cancelled_and_the_loop_answers_meanwhile(tmp_path, numbers):
    process = RpcProcess(stderr_path=tmp_path / "stderr.log")
    try:
        process.opened(numbers)
        started = process.call("compute_start", source="/n", query="9 ** 9 ** 9 > i")
        assert started["ok"], started
        workers = wait_until(lambda: descendants(process.proc.pid) - {None}, "the workers")
        assert process.call("ping")["ok"]
        assert process.call("compute_status")["status"] == "running"
        assert process.call("compute_cancel")["status"] == "cancelling"
        assert process.wait_notification("compute_cancelled") == {"job": started["job"]}
        process.close_stdin()
        assert process.wait(timeout=10) == 0
        wait_until(lambda: not any(alive(p) for p in workers), "the workers to end")
    finally:
        process.stop()


def test_the_memory_limit_ends_a_job_with_a_named_error(tmp_path, numbers):
    process = RpcProcess(env={"VIME_JOB_MEMORY": "1G"}, stderr_path=tmp_path / "stderr.log")
    try:
        process.opened(numbers)
        assert process.call("compute_start", source="/n", assign={"x": "'a' * 10 ** 10"})["ok"]
        error = process.wait_notification("compute_error")
        assert "memory limit of 1 GiB (VIME_JOB_MEMORY)" in error["error"]
        assert process.call("info", name="/n")["ok"]
        send(process, 40, "plot", name="/n", y="i")
        assert reply_to(process, 40)["ok"]
    finally:
        process.stop()
    assert MemoryLimit.code == -32013


# -- ending the process -----------------------------------------------------------------
@pytest.mark.parametrize("how", ["eof", "shutdown", "sigterm", "sigint", "sigkill"])
def test_no_process_outlives_vime_rpc(stuck, how):
    send(stuck, 5, "info", name="/stuck")
    stuck_worker(stuck)
    family = descendants(stuck.proc.pid)
    assert len(family) >= 2  # the fork server and the stuck worker
    if how == "eof":
        stuck.close_stdin()
    elif how == "shutdown":
        assert stuck.call("shutdown")["ok"]
    else:
        os.kill(stuck.proc.pid, getattr(signal, how.upper()))
    status = stuck.wait(timeout=10)
    assert status == (-signal.SIGKILL if how == "sigkill" else 0)
    wait_until(lambda: not any(alive(p) for p in family), "every child to end")


def test_a_second_sigterm_does_not_cut_the_cleanup_short(tmp_path):
    """Editors may signal twice (a stop, then a restart): the first signal's cleanup
    (kill the workers, remove their files) still runs to its end."""
    path = tmp_path / "slow.h5"
    pd.DataFrame({"x": np.arange(4000) * 0.5}).to_hdf(path, key="slow", format="table")
    process = RpcProcess(env={"VIME_CHUNK_ROWS": "1"}, stderr_path=tmp_path / "stderr.log")
    try:
        process.opened(path)
        process.send(
            [12, {"method": "export", "params": {"name": "/slow", "to": str(tmp_path / "o.csv")}}]
        )
        assert process.wait_notification("progress")["id"] == 12
        family = descendants(process.proc.pid)
        for _ in range(5):
            os.kill(process.proc.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        wait_until(lambda: not any(alive(p) for p in family), "every child to end")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.h5", "stderr.log"]
    finally:
        process.stop()


def test_sigterm_during_a_page_in_the_loop_exits_zero(stuck):
    send(stuck, 21, "table", name="/stuck", count=5)  # a page runs in the loop itself
    wait_until(lambda: blocked_on_fifo(stuck.proc.pid), "the loop blocked on the FIFO")
    os.kill(stuck.proc.pid, signal.SIGTERM)
    assert stuck.wait(timeout=10) == 0


# -- smaller items ----------------------------------------------------------------------------
def test_a_path_with_a_lone_surrogate_gets_a_reply(shared_rpc, tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.h5"
    with h5py.File(raw, "w") as handle:
        handle["x"] = np.arange(3)
    name = os.fsdecode(raw)
    assert "\udce9" in name
    reply = shared_rpc.call("open", path=name)
    assert reply["ok"] and reply["path"] == name
    assert [t["name"] for t in reply["tables"]] == ["/x"]
    missing = shared_rpc.call("open", path=str(tmp_path) + "/nope\udcff.h5")
    assert missing["code"] == FileMissing.code and "nope\udcff.h5" in missing["error"]
    assert shared_rpc.call("ping")["ok"]


def test_a_failed_open_keeps_the_file_opened_before(shared_rpc, tmp_path):
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as handle:
        handle["x"] = np.arange(3)
    shared_rpc.opened(good)
    assert shared_rpc.call("open", path=str(tmp_path / "missing.h5"))["code"] == FileMissing.code
    (tmp_path / "text.h5").write_text("not hdf5")
    assert shared_rpc.call("open", path=str(tmp_path / "text.h5"))["ok"] is False
    page = shared_rpc.call("table", name="/x")
    assert page["ok"] and page["content"].splitlines()[-1].split() == ["2", "2"]
    assert shared_rpc.call("tables")["path"] == str(good)


def test_close_during_a_job_leaves_the_loop_no_handle(tmp_path, numbers):
    process = RpcProcess(env={"VIME_CHUNK_ROWS": "1"}, stderr_path=tmp_path / "stderr.log")
    try:
        process.opened(numbers)
        assert process.call("compute_start", source="/n", query="i >= 0")["ok"]
        process.wait_notification("compute_progress")
        assert process.call("close")["closed"] == [str(numbers)]
        process.wait_notification("compute_done")

        def handles() -> list[str]:
            folder = f"/proc/{process.proc.pid}/fd"
            return [os.readlink(f"{folder}/{fd}") for fd in os.listdir(folder)]

        assert str(numbers) not in handles()
        assert process.call("ping")["ok"]
    finally:
        process.stop()


def test_a_scripts_duplicate_column_labels_become_unique(shared_rpc, tmp_path, numbers):
    script = tmp_path / "dupes.py"
    script.write_text(
        "import pandas as pd\n"
        "def f(df):\n"
        "    out = pd.concat([df['i'], df['i'] * 2], axis=1)\n"
        "    out.columns = ['a', 'a']\n"
        "    return out.head(3)\n"
    )
    shared_rpc.opened(numbers)
    assert shared_rpc.call("compute_start", source="/n", script=f"{script}:f")["ok"]
    done = shared_rpc.wait_notification("compute_done")
    page = shared_rpc.call("table", name=done["table"])
    assert page["columns"] == ["a", "a_2"]
    assert [line.split() for line in page["content"].splitlines()[3:]] == [
        ["0", "0", "0"],
        ["1", "1", "2"],
        ["2", "2", "4"],
    ]


def test_a_child_imports_nothing_and_its_collections_skip_the_preloaded_objects(tmp_path):
    """What a forked child runs before its handler is imported by the fork server, and
    the server's objects are frozen (a full collection in a child walks none of them)."""
    import json
    import subprocess
    import sys

    probe = """
import gc, json, os, sys
from vime import worker
worker.prepare_for_forks()
read, write = os.pipe()
if os.fork() == 0:
    before = set(sys.modules)
    worker._die_with_parent(os.getppid())
    worker._limit_memory()
    from vime import protocol
    from vime.handlers import handler_for
    from vime.state import State
    handler_for("plot")
    import numpy as np
    from vime import heatmap, plot
    plot.braille_plot(np.arange(50.0), np.sin(np.arange(50.0)), width=30, height=8)
    heatmap.heat_matrix(lambda: iter([np.ones((4, 6))]), rows=4, cols=6, width=30, height=8)
    gc.collect()
    report = {"imported": sorted(set(sys.modules) - before), "frozen": gc.get_freeze_count(),
              "tracked": len(gc.get_objects())}
    os.write(write, json.dumps(report).encode())
    os._exit(0)
os.close(write)
print(os.read(read, 65536).decode())
"""
    env = {**os.environ, "VIME_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=WAIT, env=env)  # fmt: skip
    report = json.loads(done.stdout)
    assert report["imported"] == []
    assert report["frozen"] > 20_000  # numpy, h5py, the readers and plot engines: 26k here
    assert report["tracked"] < report["frozen"] // 10  # a child's collections skip them


def test_the_fork_server_imports_the_hsds_reader_once_a_domain_is_open(tmp_path):
    """h5pyd is imported by the fork server only when asked (a domain is open): each of
    its children then finds it imported."""
    import json
    import subprocess
    import sys

    # The fork loop runs in this probe's main thread (as in the server), after the preload.
    probe = """
import json, os, socket, sys
from vime import worker
worker.prepare_for_forks()
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
before = "vime.loaders.remote" in sys.modules
ours.send(json.dumps({"preload": "vime.loaders.remote"}).encode())
ours.close()  # the loop returns at EOF, after the preload
worker._fork_loop(theirs, os.pipe()[0])
print(json.dumps({"before": before, "after": "vime.loaders.remote" in sys.modules,
                  "h5pyd": "h5pyd" in sys.modules}))
"""
    env = {**os.environ, "VIME_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=WAIT, env=env)  # fmt: skip
    report = json.loads(done.stdout)
    assert report["before"] is False
    assert report["after"] is True
    installed = subprocess.run([sys.executable, "-c", "import h5pyd"]).returncode == 0
    assert report["h5pyd"] is installed


def maps_pyarrow(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return "pyarrow" in maps.read()


def test_no_process_of_vime_loads_pyarrow_until_a_parquet_export(rpc, pandas_file, tmp_path):
    """pandas would load pyarrow (35 MB) into the backend, the fork server and every
    worker to hold its strings; vime's processes load it for Parquet export only."""
    pytest.importorskip("pyarrow")
    opened = rpc.call("open", path=str(pandas_file))
    assert "/data" in [table["name"] for table in opened["tables"]]
    page = rpc.call("table", name="/data", start=0, count=5)
    assert page["content"].splitlines()[3].split()[-1] == "row0"
    info = rpc.call("info", name="/data")
    assert info["shape"] == [1000, 5]
    backend = rpc.proc.pid
    servers = [pid for pid in descendants(backend) if parent_of(pid) == backend]
    assert len(servers) == 1
    assert not maps_pyarrow(backend)
    assert not maps_pyarrow(servers[0])
    to = tmp_path / "out.parquet"
    assert rpc.call("export", name="/data", to=str(to))["rows"] == 1000
    assert pd.read_parquet(to)["label"].tolist()[:2] == ["row0", "row1"]


def maps_pandas(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return "pandas/_libs" in maps.read()


def test_the_fork_server_preloads_pandas_once_a_child_has_needed_it(rpc, pandas_file):
    """A plot or a text search of numbers needs no pandas: the fork server (and so each
    child) goes without its 40 MB until a child imports it; then it preloads it."""
    opened = rpc.call("open", path=str(pandas_file))
    assert "/data" in [table["name"] for table in opened["tables"]]
    plot = rpc.call("plot", name="/data", y="v0", width=40, height=10)
    assert plot["points"] + plot["dropped"] == 1000
    found = rpc.call("search", name="/data", text="-", columns=["v0"])
    assert found["row"] is not None and found["column"] == "v0"
    backend = rpc.proc.pid
    servers = [pid for pid in descendants(backend) if parent_of(pid) == backend]
    assert len(servers) == 1
    assert not maps_pandas(servers[0])
    assert rpc.call("info", name="/data")["shape"] == [1000, 5]
    deadline = time.monotonic() + WAIT
    while not maps_pandas(servers[0]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert maps_pandas(servers[0])
