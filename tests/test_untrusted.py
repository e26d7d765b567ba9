"""Files never run code: crafted pandas stores, through the loaders and vime-rpc.

Every payload of tests/h5fixtures.untrusted_store() touches a marker file when
plain pickle (or pandas) loads it; that is checked first, so that "no marker
after a whole session" means vime never unpickled them.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import h5py
import pytest

from tests import h5fixtures as fx
from tests.conftest import ROOT
from vime.errors import ReadFailed
from vime.loaders.pandas_safety import UNSAFE

UNSAFE_KEYS = [
    "table_attr",
    "table_column_attr",
    "table_categories_attr",
    "fixed_attr",
    "fallback_attr",
]


# -- the crafted store ---------------------------------------------------------------------
@pytest.fixture
def untrusted(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    path = fx.untrusted_store(tmp_path, markers)
    return path, markers


def test_every_payload_runs_under_plain_pickle_and_pandas(untrusted):
    """The control: the fixture's pickles do run code when loaded the usual way."""
    path, markers = untrusted
    with h5py.File(path, "r") as f:
        stored = [
            bytes(f["table_attr"].attrs["non_index_axes"]),
            bytes(f["table_column_attr/table"].attrs["values_block_0_kind"]),
            bytes(f["table_categories_attr/meta/values_block_0/meta"].attrs["info"]),
            bytes(f["fixed_attr/axis0"].attrs["name"]),
            f["fixed_block/block1_values"][0].tobytes(),
            bytes(f["fallback_attr"].attrs["note"]),
            bytes(f["index_attr/_i_table/x"].attrs["TITLE"]),
        ]
    for data in stored:
        pickle.loads(data)  # the point: plain pickle runs the payload
    assert sorted(p.name for p in markers.iterdir()) == sorted(f"marker_{k}" for k in fx.UNTRUSTED)
    for marker in markers.iterdir():
        marker.unlink()
    reading = (
        f"import pandas as pd; [pd.read_hdf({str(path)!r}, k) for k in {list(fx.UNTRUSTED)!r}]"
    )
    subprocess.run([sys.executable, "-c", reading], check=True, cwd=ROOT, capture_output=True)
    assert sorted(p.name for p in markers.iterdir()) == sorted(f"marker_{k}" for k in fx.UNTRUSTED)


def test_a_whole_session_on_the_crafted_store_runs_no_payload(rpc, untrusted, tmp_path):
    path, markers = untrusted
    opened = rpc.call("open", path=str(path))
    assert opened["ok"], opened
    listed = rpc.call("tables")["tables"]
    names = [t["name"] for t in listed]
    internal = []
    for name in [*names, *(f"/{key}" for key in fx.UNTRUSTED)]:
        replies = [
            rpc.call("table", name=name),
            rpc.call("table", name=name, fast=True),
            rpc.call("info", name=name),
            rpc.call("plot", name=name, y=0),
            rpc.call("export", name=name, to=str(tmp_path / f"out{len(name)}.csv"), overwrite=True),
            rpc.call("export", name=name, to=str(tmp_path / f"out{len(name)}.h5"), overwrite=True),
        ]
        # Every reply is a result or a named refusal, never an internal error.
        internal += [(name, r["error"]) for r in replies if not r["ok"] and r["code"] == -32603]
        started = rpc.call("compute_start", source=name, query="index >= 0")
        if started["ok"]:
            finished = wait_job_end(rpc)
            assert finished["job"] == started["job"]
    assert internal == []
    assert rpc.call("ping")["ok"]  # still up
    assert list(markers.iterdir()) == []


def wait_job_end(rpc) -> dict:
    while True:
        for message in list(rpc.notifications):
            method = message[1].get("method") if message[0] == 0 else None
            if method in ("compute_done", "compute_error"):
                rpc.notifications.remove(message)
                return message[1]["params"]
        rpc.notifications.append(rpc.read())


def test_unsafe_stores_are_listed_raw_with_a_warning(shared_rpc, untrusted):
    path, markers = untrusted
    listed = {t["name"]: t for t in shared_rpc.call("open", path=str(path))["tables"]}
    for key in UNSAFE_KEYS:
        assert f"/{key}" not in listed
        mine = {name: t for name, t in listed.items() if name.startswith(f"/{key}/")}
        assert mine and all(t["warning"] == UNSAFE for t in mine.values())
        assert all(t["kind"] != "pandas-table" for t in mine.values())
        assert not any("/_i_table" in name for name in mine)  # PyTables' index bookkeeping
    assert listed["/table_attr/table"]["kind"] == "compound"
    assert listed["/table_attr/table"]["rows"] == 6
    assert listed["/fixed_attr/block0_values"]["shape"] == [6, 1]
    assert "warning" not in listed["/clean"] and listed["/clean"]["kind"] == "pandas-table"
    info = shared_rpc.call("info", name="/fixed_attr/block0_values")
    assert f"warning: {UNSAFE}" in info["content"].splitlines()
    page = shared_rpc.call("table", name="/table_attr/table")
    assert page["ok"] and page["columns"][:2] == ["index", "values_block_0"]
    assert list(markers.iterdir()) == []


def test_a_refused_object_block_fails_its_reads_and_nothing_else(shared_rpc, untrusted):
    path, markers = untrusted
    listed = {t["name"]: t for t in shared_rpc.call("open", path=str(path))["tables"]}
    assert listed["/fixed_block"]["kind"] == "pandas-fixed"  # its attributes are clean
    page = shared_rpc.call("table", name="/fixed_block")
    assert page["code"] == ReadFailed.code
    assert "block1_values: unsafe pickled data, not loaded (refusing os.system)" in page["error"]
    numbers = shared_rpc.call("table", name="/fixed_block", columns=["x"], count=2)
    assert numbers["ok"] and numbers["content"].splitlines()[-1].split() == ["10", "1"]
    assert shared_rpc.call("info", name="/fixed_block")["ok"]  # the summary reads numbers only
    assert list(markers.iterdir()) == []


def test_an_unsafe_index_of_pytables_is_read_with_h5py_and_kept_from_pandas(shared_rpc, untrusted):
    """The listing leaves PyTables' index nodes out (hundreds on a wide table); the
    h5py reader never opens them, and the check before pandas reads a node does."""
    from vime.loaders import open_source

    path, markers = untrusted
    listed = {t["name"]: t for t in shared_rpc.call("open", path=str(path))["tables"]}
    assert (
        listed["/index_attr"]["kind"] == "pandas-table" and "warning" not in listed["/index_attr"]
    )
    page = shared_rpc.call("table", name="/index_attr", count=2)
    assert page["ok"] and page["content"].splitlines()[-1].split() == ["10", "1", "row1", "g"]
    source = open_source(str(path))
    try:
        table = source.table("/index_attr")
        table.layout = None  # as if the h5py reader did not know the layout
        with pytest.raises(ReadFailed, match=r"_i_table/x @TITLE: refusing os.system"):
            table.page(0, 2)
    finally:
        source.close()
    assert list(markers.iterdir()) == []


def test_a_refused_object_block_never_reaches_pandas(untrusted):
    """Even the fallback to pandas checks the blocks first."""
    from vime.loaders import open_source

    path, markers = untrusted
    source = open_source(str(path))
    try:
        table = source.table("/fixed_block")
        table.layout = None  # as if the h5py reader did not know the layout
        with pytest.raises(ReadFailed, match="unsafe pickled data, not read"):
            table.page(0, 2)
    finally:
        source.close()
    assert list(markers.iterdir()) == []
