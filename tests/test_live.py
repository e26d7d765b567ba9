"""Files another program is writing: opened, paged, watched, never harmed.

Each test runs a real writer subprocess (tests/livewriters.py): h5py in SWMR
mode appending to a 1-D and a 2-D dataset, pandas ``HDFStore.append``, a
PyTables table appender, and h5py with ``libver="latest"`` without SWMR.
The writer says when its rows are flushed; the tests wait for that, and for
the backend's replies and notifications, never for a duration.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import tables

from tests import livewriters as lw
from tests.conftest import RpcProcess
from tests.test_worker import alive, descendants, parent_of, wait_until
from vime.errors import NoFileOpen, NoSuchTable, NotHDF5, ReadFailed
from vime.loaders import detect, open_source
from vime.loaders.live import NO_SWMR_WARNING, Changes
from vime.state import State

# Each case: the writer, the table it grows, and what row i shows on a page.
CASES = {
    "swmr-1d": ("swmr", "/x", lambda i: [i, i * 0.5]),
    "swmr-2d": ("swmr", "/m", lambda i: [i, i, 2 * i, 3 * i]),
    "pandas": ("pandas", "/data", lambda i: [i, i, i * 0.25]),
    "pytables": ("pytables", "/events", lambda i: [i, i, i * 0.5]),
}
PLOTTED = {"/x": "x", "/m": "0", "/data": "b", "/events": "value"}
FIRST_ROWS = 1000
MAX_EXACT_ROWS = 19_000  # pages show 6 significant digits: row values stay exact below
WAIT = 60.0


@pytest.fixture(params=sorted(CASES))
def live(request, tmp_path):
    """(writer, table, row) of a writer that has flushed FIRST_ROWS rows and runs on."""
    kind, name, row = CASES[request.param]
    writer = lw.LiveWriter(kind, tmp_path / f"{request.param}.h5", rows=FIRST_ROWS)
    yield writer, name, row
    writer.kill()


def page_rows(reply) -> list[list[float]]:
    """The numbers of each row line of a page (index first)."""
    lines = reply["content"].split("\n")[3:]
    return [[float(word) for word in line.split()] for line in lines if line.strip()]


def assert_page(reply, start: int, stop: int, row) -> None:
    assert reply["ok"], reply
    assert (reply["start"], reply["stop"]) == (start, stop), reply
    assert page_rows(reply) == [row(i) for i in range(start, stop)], reply["content"]


def listed_rows(reply) -> dict[str, int]:
    assert reply["ok"], reply
    return {table["name"]: table["rows"] for table in reply["tables"]}


def watch_worker(rpc: RpcProcess, before: set[int]) -> int:
    """The process a watch started: the one new grandchild of vime-rpc (a child of its
    fork server)."""

    def grandchildren():
        return {pid for pid in descendants(rpc.proc.pid) - before if parent_of(pid) != rpc.proc.pid}

    found = wait_until(grandchildren, "the watch's worker")
    assert len(found) == 1, found
    return found.pop()


def wait_gone(pid: int, what: str) -> None:
    wait_until(lambda: not alive(pid), what)


def end_of_last_chunk(path, name: str) -> int:
    """Where the stored rows of a table end in the file (a pandas table's are in 'table')."""
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        dataset = f[name] if isinstance(f[name], h5py.Dataset) else f[name]["table"]
        last = (dataset.shape[0] - 1) // dataset.chunks[0] * dataset.chunks[0]
        info = dataset.id.get_chunk_info_by_coord((last,) + (0,) * (dataset.ndim - 1))
        return info.byte_offset + info.size


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- opening ------------------------------------------------------------------------------
def test_the_file_opens_while_the_writer_runs_and_says_it_is_being_written(live, shared_rpc):
    writer, name, _row = live
    opened = shared_rpc.call("open", path=str(writer.path))
    assert listed_rows(opened)[name] == FIRST_ROWS
    if writer.kind == "swmr":
        assert opened["writing"] == "swmr"
        assert "warning" not in opened
    else:
        assert opened["writing"] == "no-swmr"
        assert opened["warning"] == NO_SWMR_WARNING
    listing = shared_rpc.call("tables")
    assert listing["writing"] == opened["writing"]
    assert listing.get("warning") == opened.get("warning")


def test_the_superblock_and_the_locks_tell_who_writes(live):
    writer, _name, _row = live
    status = detect.check_file(str(writer.path))
    if writer.kind == "swmr":
        assert (status.superblock, status.writing, status.writer_pid) == (3, "swmr", None)
    else:  # PyTables writes superblock 0: only its write lock shows
        assert (status.superblock, status.writing) == (0, "no-swmr")
        assert status.writer_pid == writer.process.pid
    writer.finish()
    assert detect.check_file(str(writer.path)).writing is None


def test_a_new_page_shows_rows_written_after_open(live, shared_rpc):
    writer, name, row = live
    shared_rpc.opened(writer.path)
    assert writer.append(1500) == 2500
    past_the_old_end = shared_rpc.call("table", name=name, start=FIRST_ROWS, count=5)
    assert past_the_old_end["shape"][0] == 2500
    assert_page(past_the_old_end, 1000, 1005, row)
    assert_page(shared_rpc.call("table", name=name, start=2490, count=100), 2490, 2500, row)
    assert listed_rows(shared_rpc.call("tables"))[name] == 2500
    writer.append(10)
    assert listed_rows(shared_rpc.call("tables"))[name] == 2510, "the listing catches up first"
    assert_page(shared_rpc.call("table", name=name, start=2505, count=100), 2505, 2510, row)


def test_catching_up_with_a_writer_reads_the_superblock_not_the_locks(live, monkeypatch):
    """A page after a flush catches up from the superblock alone: the file locks (which
    can take milliseconds to list) are looked up only for what names the writer."""
    writer, name, _row = live
    source = open_source(str(writer.path))
    try:
        assert source.table(name).rows == FIRST_ROWS
        looked = []
        monkeypatch.setattr(detect, "writer_pid", lambda info: looked.append(info) or 4321)
        writer.append(500)
        assert source.sync()
        assert source.table(name).rows == FIRST_ROWS + 500
        assert looked == []
        writing = source.write_status()["writing"]
        if writer.kind == "swmr":  # the superblock says so
            assert (writing, looked) == ("swmr", [])
        else:  # only the write lock tells
            assert writing == "no-swmr" and len(looked) == 1
    finally:
        source.close()


def test_a_worker_opens_a_file_as_the_loop_reads_it_without_asking_the_locks(live, monkeypatch):
    """A worker's State opens each file of the loop's snapshot as the loop reads it
    (SWMR reader or not), from the superblock and the loop's word: never /proc/locks."""
    writer, name, _row = live
    loop = State()
    loop.open(str(writer.path))
    looked = []
    monkeypatch.setattr(detect, "writer_pid", lambda info: looked.append(info) or 4321)
    try:
        snapshot = loop.snapshot()
        assert snapshot["swmr"] == [str(writer.path)]  # a writer is seen: read as SWMR
        for told in (snapshot, {**snapshot, "swmr": []}):
            worker = State.in_worker(told)
            source = worker.source(str(writer.path))
            assert source.table(name).rows == FIRST_ROWS
            assert source.swmr is (writer.kind == "swmr" or told is snapshot)
            source.close()
        assert looked == []
    finally:
        loop.close()
        loop.workers.stop()


def test_a_file_settles_after_its_file_systems_tick(tmp_path):
    """A look cannot rule out a later write in the same tick of the file's modification
    time: a second where times are kept in whole seconds or tens of milliseconds (ext3,
    FAT, exFAT), a tick of the kernel's clock where they have finer digits."""
    path = tmp_path / "f.h5"
    path.write_bytes(b"x")
    now = time.time_ns()
    coarse = (now - 200_000_000) // 10_000_000 * 10_000_000  # 0.2 s ago, in tens of ms
    for mtime, settled in ((coarse, False), (coarse + 1, True), (now + 10**9 + 1, False)):
        os.utime(path, ns=(now, mtime))
        look = Changes(str(path)).look()
        assert (look is None) == settled, (mtime, now)
        assert look is None or not look.changed


def test_a_settled_file_is_read_again_once_it_changes(live, monkeypatch):
    """A page of a file that has not changed since the last look reads nothing again; a
    page after a flush catches up (rows past the old end, and the new shape)."""
    writer, name, row = live
    source = open_source(str(writer.path))
    try:
        assert source.table(name).rows == FIRST_ROWS
        wait_until(lambda: not source.sync(), "the file to settle after its last write")
        checked = []
        monkeypatch.setattr(detect, "check_file", lambda path: checked.append(path))
        assert not source.sync() and checked == []
        monkeypatch.undo()
        writer.append(500)
        assert source.sync()
        table = source.table(name)
        assert table.rows == FIRST_ROWS + 500
        frame = table.page(FIRST_ROWS + 495, FIRST_ROWS + 500)
        values = [[i, *frame.iloc[i - FIRST_ROWS - 495]] for i in frame.index]
        assert values == [row(i) for i in range(FIRST_ROWS + 495, FIRST_ROWS + 500)]
    finally:
        source.close()


# -- watching ------------------------------------------------------------------------------
def test_watch_pushes_grown_after_a_flush_and_stops_after_unwatch_and_close(live, rpc):
    writer, name, _row = live
    path = str(writer.path)
    rpc.opened(path)
    before = descendants(rpc.proc.pid)
    started = rpc.call("watch", name=name.lstrip("/"))  # named as the listing names it
    assert (started["name"], started["path"], started["rows"]) == (name, path, FIRST_ROWS)
    assert started["watching"] == "started"
    worker = watch_worker(rpc, before)
    writer.append(500)
    grown = rpc.wait_notification("grown", WAIT)
    assert grown == {"name": name, "path": path, "rows": 1500, "previous": FIRST_ROWS}
    assert rpc.call("watch", name=name)["watching"] == "already"

    stopped = rpc.call("unwatch", name=name)
    assert (stopped["unwatched"], stopped["path"]) == (name, path)
    wait_gone(worker, "the watch's worker after unwatch")
    writer.append(100)
    assert listed_rows(rpc.call("tables"))[name] == 1600
    assert not [m for m in rpc.notifications if m[1].get("method") == "grown"]
    assert rpc.call("unwatch", name=name)["unwatched"] is None

    before = descendants(rpc.proc.pid)
    assert rpc.call("watch", name=name)["rows"] == 1600
    worker = watch_worker(rpc, before)
    writer.append(1)
    assert rpc.wait_notification("grown", WAIT)["rows"] == 1601
    assert rpc.call("close", path=path)["closed"] == [path]
    wait_gone(worker, "the watch's worker after close")


def test_a_watch_of_the_whole_file_names_each_table_that_grew(rpc, tmp_path):
    writer = lw.LiveWriter("swmr", tmp_path / "both.h5")
    try:
        rpc.opened(writer.path)
        started = rpc.call("watch")
        assert (started["name"], started["rows"], started["watching"]) == (None, None, "started")
        writer.append(250)
        seen = {}
        while len(seen) < 2:
            grown = rpc.wait_notification("grown", WAIT)
            seen[grown["name"]] = (grown["rows"], grown["previous"])
        assert seen == {"/x": (1250, 1000), "/m": (1250, 1000)}
        assert rpc.call("unwatch")["unwatched"] is None  # the watch of every table
    finally:
        writer.finish()


def test_a_watch_whose_table_is_removed_ends_with_watch_error(rpc, tmp_path):
    writer = lw.LiveWriter("pandas", tmp_path / "removed.h5")
    try:
        rpc.opened(writer.path)
        writer.group("other")
        assert rpc.call("watch", name="/data")["watching"] == "started"
        writer.remove("data")
        ended = rpc.wait_notification("watch_error", WAIT)
        assert (ended["name"], ended["path"]) == ("/data", str(writer.path))
        assert "no table '/data'" in ended["error"], ended
        assert rpc.call("watch", name="/data")["code"] == NoSuchTable.code
    finally:
        writer.finish()


def test_watch_refuses_what_cannot_grow(rpc, pandas_file):
    assert rpc.call("watch", name="/data")["code"] == NoFileOpen.code
    rpc.opened(pandas_file)
    unknown = rpc.call("watch", name="/nope")
    assert unknown["code"] == NoSuchTable.code and "/nope" in unknown["error"]
    result = rpc.call("watch", name="/__computed__/x")
    assert result["code"] == -32602 and "does not grow" in result["error"]
    assert rpc.call("unwatch", name="/data")["message"].startswith("no watch of")


# -- the writer's file ----------------------------------------------------------------------
def test_the_writer_finishes_without_error_and_its_file_is_what_it_wrote(live, rpc):
    writer, name, row = live
    rpc.opened(writer.path)
    assert rpc.call("watch", name=name)["ok"]
    for _ in range(3):
        writer.append(700)
        assert_page(rpc.call("table", name=name, start=writer.rows - 3), writer.rows - 3,
                    writer.rows, row)  # fmt: skip
    assert writer.finish() == ""
    rows = range(writer.rows)
    assert rows.stop == 3100
    if writer.kind == "swmr":
        with h5py.File(writer.path, "r") as f:
            np.testing.assert_array_equal(f["x"][:], lw.expected_x(rows))
            np.testing.assert_array_equal(f["m"][:], lw.expected_m(rows))
    elif writer.kind == "pandas":
        pd.testing.assert_frame_equal(pd.read_hdf(writer.path, "data"), lw.expected_frame(rows),
                                      check_index_type=False)  # fmt: skip
    else:
        with tables.open_file(writer.path) as f:
            np.testing.assert_array_equal(f.root.events.read(), lw.expected_events(rows))


def test_a_session_leaves_the_bytes_of_the_file_unchanged(live, rpc):
    writer, name, row = live
    writer.append(500)
    writer.finish()
    before = digest(writer.path)
    rpc.opened(writer.path)
    assert listed_rows(rpc.call("tables"))[name] == 1500
    assert_page(rpc.call("table", name=name, start=1495), 1495, 1500, row)
    assert rpc.call("info", name=name)["shape"][0] == 1500
    assert rpc.call("watch", name=name)["rows"] == 1500
    assert rpc.call("plot", name=name, y=PLOTTED[name])["points"] == 1500
    assert rpc.call("close")["closed"] == [str(writer.path)]
    assert digest(writer.path) == before


# -- damaged, or only open elsewhere -----------------------------------------------------------
def test_a_damaged_copy_and_the_file_open_elsewhere_get_different_accurate_messages(
    live, shared_rpc, tmp_path
):
    writer, name, row = live
    writer.append(3000)
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(writer.path.read_bytes()[: end_of_last_chunk(writer.path, name) - 8])

    live_file = shared_rpc.call("open", path=str(writer.path))
    assert live_file["ok"] and live_file["writing"] in ("swmr", "no-swmr")
    assert_page(shared_rpc.call("table", name=name, start=3995, count=5), 3995, 4000, row)

    opened = shared_rpc.call("open", path=str(damaged))
    if writer.kind == "swmr":  # a SWMR reader: HDF5 skips its end-of-file check
        assert opened["writing"] == "swmr", "the copy's superblock still says so"
        failed = shared_rpc.call("table", name=name, start=3995, count=5)
        assert failed["code"] == ReadFailed.code, failed
    else:
        failed = opened
        assert failed["code"] == NotHDF5.code, failed
    assert "truncated or damaged" in failed["error"] and str(damaged) in failed["error"]
    assert "writing" not in failed["error"]


def test_a_file_open_for_writing_without_swmr_is_said_to_be_open_elsewhere(shared_rpc, tmp_path):
    writer = lw.LiveWriter("latest", tmp_path / "latest.h5")
    try:
        refused = shared_rpc.call("open", path=str(writer.path))
        assert refused["code"] == ReadFailed.code
        pid = writer.process.pid
        assert f"is open for writing in another program (pid {pid})" in refused["error"]
        assert "without SWMR" in refused["error"] and "damaged" not in refused["error"]
        status = detect.check_file(str(writer.path))
        assert (status.superblock, status.refuses_readers) == (3, True)
    finally:
        writer.finish()
    assert listed_rows(shared_rpc.call("open", path=str(writer.path))) == {"/m": 1000, "/x": 1000}


def test_a_flagged_file_without_a_writer_names_the_stale_mark(shared_rpc, tmp_path):
    path = tmp_path / "crashed.h5"
    crash = ("import h5py, os, sys; f = h5py.File(sys.argv[1], 'w', libver='latest'); "
             "f['x'] = list(range(5)); f.flush(); os._exit(0)")  # fmt: skip
    subprocess.run([sys.executable, "-c", crash, str(path)], check=True, timeout=WAIT)
    assert detect.check_file(str(path)).refuses_readers, "the writer left its mark"
    refused = shared_rpc.call("open", path=str(path))
    assert refused["code"] == ReadFailed.code
    assert "marked as open for writing without SWMR" in refused["error"]
    assert "h5clear -s" in refused["error"] and "damaged" not in refused["error"]


# -- never crash on a half-written file ---------------------------------------------------------
def test_pages_read_while_the_writer_appends_are_right_or_a_named_error(live, shared_rpc):
    writer, name, row = live
    shared_rpc.opened(writer.path)
    done = threading.Event()

    def keep_writing():
        while not done.is_set() and writer.rows < MAX_EXACT_ROWS:
            writer.append(37)

    appending = threading.Thread(target=keep_writing)
    appending.start()
    try:
        outcomes = []
        for _ in range(60):
            reply = shared_rpc.call("table", name=name, start=max(0, writer.rows - 50), count=200)
            if reply["ok"]:
                start, stop = reply["start"], reply["stop"]
                assert page_rows(reply) == [row(i) for i in range(start, stop)]
                outcomes.append("ok")
            else:
                assert reply["code"] == ReadFailed.code and str(writer.path) in reply["error"]
                outcomes.append(reply["error"])
    finally:
        done.set()
        appending.join()
    assert outcomes.count("ok") >= 50, outcomes
    assert shared_rpc.call("ping")["ok"]
    assert writer.finish() == ""


def test_a_group_made_while_the_file_is_listed_appears(shared_rpc, tmp_path):
    writer = lw.LiveWriter("pandas", tmp_path / "groups.h5")
    try:
        shared_rpc.opened(writer.path)
        for number in range(5):
            writer.group(f"run{number}")
            listed = listed_rows(shared_rpc.call("tables"))
            assert listed[f"/run{number}"] == FIRST_ROWS, listed
        assert set(listed) == {"/data", *(f"/run{n}" for n in range(5))}
    finally:
        writer.finish()
