"""The data methods through the real bin/vime-rpc process, plus the handlers in-process."""

from __future__ import annotations

import hashlib
import json
import os
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from tests import h5fixtures as fx
from tests.conftest import RpcProcess
from vime.errors import NoFileOpen
from vime.handlers import data
from vime.state import State


def lines_of(content: str) -> list[str]:
    return content.splitlines()


# -- open / tables -------------------------------------------------------------------
def test_open_lists_tables_with_their_fields(shared_rpc, pandas_file):
    result = shared_rpc.call("open", path=str(pandas_file))
    assert result["ok"] is True
    assert result["path"] == str(pandas_file)
    by_name = {t["name"]: t for t in result["tables"]}
    assert set(by_name) == {"/data", "/group/fixed"}
    assert by_name["/data"] == {
        "name": "/data",
        "rows": 1000,
        "cols": 5,
        "kind": "pandas-table",
        "dtype": "float64, int64, bool, str",
        "shape": [1000, 5],
        "attrs": {"pandas_type": "frame_table", "table_type": "appendable_frame"},
    }
    assert by_name["/group/fixed"]["kind"] == "pandas-fixed"
    assert shared_rpc.call("tables")["tables"] == result["tables"]


def test_open_accepts_the_seeds_file_param(shared_rpc, pandas_file):
    result = shared_rpc.call("open", file=str(pandas_file))
    assert result["ok"] is True and len(result["tables"]) == 2


def test_open_without_a_path_fails(shared_rpc):
    result = shared_rpc.call("open")
    assert result["ok"] is False and "path" in result["error"]


# -- table -----------------------------------------------------------------------------
def test_table_page_has_header_blank_line_and_indexed_rows(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", start=10, count=3)
    assert result["ok"] is True
    assert (result["name"], result["shape"], result["start"], result["stop"]) == (
        "/data",
        [1000, 5],
        10,
        13,
    )
    assert result["columns"] == ["v0", "v1", "n", "flag", "label"]
    assert result["dtypes"] == ["float64", "float64", "int64", "bool", "str"]
    lines = lines_of(result["content"])
    assert lines[0] == "/data  [1,000 rows x 5 cols]  rows 10–12"
    assert lines[1] == ""
    assert lines[2].split() == ["v0", "v1", "n", "flag", "label"]
    expected = pd.read_hdf(pandas_file, "data").iloc[10:13]
    for line, (index, row) in zip(lines[3:], expected.iterrows(), strict=True):
        cells = line.split()
        assert cells[0] == str(index)
        assert cells[3:] == [str(row["n"]), str(row["flag"]), row["label"]]
        assert float(cells[1]) == pytest.approx(row["v0"], rel=1e-5)


def test_default_page_is_a_hundred_rows(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data")
    assert (result["start"], result["stop"]) == (0, 100)
    rows = [line.split() for line in lines_of(result["content"])[3:]]
    assert [(row[0], row[-1]) for row in rows] == [(str(i), f"row{i}") for i in range(100)]


def test_head_keeps_its_old_meaning(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    head = shared_rpc.call("table", name="/data", head=5, start=50)
    assert head["stop"] == 5
    assert [line.split()[0] for line in lines_of(head["content"])[3:]] == ["0", "1", "2", "3", "4"]
    everything = shared_rpc.call("table", name="/group/fixed", head=0)
    assert (everything["start"], everything["stop"]) == (0, 100)
    last = lines_of(everything["content"])[-1].split()
    assert (last[0], last[-1]) == ("99", "row99")


def test_start_past_the_end_is_an_empty_page_with_the_real_shape(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", start=5000, count=10)
    assert result["ok"] is True
    assert (result["shape"], result["start"], result["stop"]) == ([1000, 5], 1000, 1000)
    assert lines_of(result["content"])[0].endswith("no rows from 1,000")


def test_last_partial_page(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", start=995, count=100)
    assert (result["start"], result["stop"]) == (995, 1000)
    assert lines_of(result["content"])[-1].split()[0] == "999"


def test_fast_page_is_numpy_text(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/group/fixed", start=0, count=2, fast=True)
    assert result["ok"] is True
    lines = lines_of(result["content"])
    assert lines[0] == "/group/fixed  [100 rows x 5 cols]  rows 0–1"
    rows = [line.strip(" []").split() for line in lines[2:]]  # numpy's repr of the objects
    expected = pd.read_hdf(pandas_file, "group/fixed").iloc[:2]
    assert [[float(r[0]), float(r[1]), int(r[2]), r[3], r[4]] for r in rows] == [
        [row.v0, row.v1, row.n, str(row.flag), repr(row.label)] for row in expected.itertuples()
    ]


def test_columns_param_selects_and_orders(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", count=2, columns=["label", "n"])
    assert result["columns"] == ["label", "n"]
    assert lines_of(result["content"])[3].split() == ["0", "row0", "0"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"name": "/nope"}, "no table '/nope'"),
        ({"name": "/data", "count": -1}, "/data: count must be >= 0"),
        ({"name": "/data", "start": -3}, "/data: start must be >= 0"),
        ({"name": "/data", "columns": ["zz"]}, "no column 'zz'"),
        ({"name": "/data", "plane": [1]}, "plane needs 0 indices"),
    ],
)
def test_bad_table_requests_name_the_file_and_reason(shared_rpc, pandas_file, params, fragment):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", **params)
    assert result["ok"] is False
    assert str(pandas_file) in result["error"] and fragment in result["error"]
    assert shared_rpc.call("table", name="/data", count=1)["ok"] is True  # still usable


def test_n_d_dataset_pages_planes(shared_rpc, tmp_path):
    path = fx.generic_file(tmp_path)
    shared_rpc.opened(path)
    result = shared_rpc.call("table", name="/cube", plane=[1, 2], count=2)
    assert result["plane"] == [1, 2] and result["full_shape"] == [2, 3, 4, 5]
    assert result["shape"] == [4, 5]
    first = np.arange(120).reshape(2, 3, 4, 5)[1, 2, 0]
    assert lines_of(result["content"])[3].split() == ["0", *map(str, first)]
    assert "plane [1, 2]" in lines_of(result["content"])[0]
    bad = shared_rpc.call("table", name="/cube", plane=[5, 0])
    assert bad["ok"] is False and "plane index 5 on axis 0" in bad["error"]


def test_every_generic_table_pages_or_says_why(shared_rpc, tmp_path):
    """Each table of each non-pandas fixture gives a page; only the unreadable ones fail."""
    links, _ = fx.linked_file(tmp_path)
    paths = [
        fx.generic_file(tmp_path),
        links,
        fx.compressed_file(tmp_path),
        fx.netcdf4_file(tmp_path),
        fx.matlab_file(tmp_path),
        fx.pytables_file(tmp_path),
    ]
    failures = {}
    for path in paths:
        for entry in shared_rpc.call("open", path=str(path))["tables"]:
            result = shared_rpc.call("table", name=entry["name"], count=5)
            if not result["ok"]:
                failures[(path.name, entry["name"])] = result["error"]
            else:
                assert result["shape"][0] == entry["rows"]
    assert set(failures) == {
        ("links.h5", "/dangling"),
        ("links.h5", "/external_missing"),
        ("compressed.h5", "/lzo"),
    }
    assert "filter 'lzo'" in failures[("compressed.h5", "/lzo")]


# -- info -------------------------------------------------------------------------------
def test_info_describes_a_table(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("info", name="/data")
    assert result["ok"] is True
    assert result["shape"] == [1000, 5]
    assert result["columns"][4] == {"name": "label", "dtype": "str"}
    assert set(result["storage"]) == {"chunks", "compression", "filters", "bytes"}
    assert result["storage"]["bytes"] > 0
    content = result["content"]
    assert content.startswith("/data  [1,000 rows x 5 cols]")
    assert "pandas_type: frame_table" in content
    frame = pd.read_hdf(pandas_file, "data")
    n_line = [line for line in lines_of(content) if line.split()[:1] == ["n"]][-1]
    assert n_line.split()[1:3] == ["1000", "499.5"]
    assert float(n_line.split()[3]) == pytest.approx(frame["n"].std(), rel=1e-5)
    assert not any(
        line.split()[:1] == ["label"] for line in content.split("describe")[1].splitlines()
    )


def test_info_of_an_unknown_table_fails(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("info", name="/nope")
    assert result["ok"] is False and "/nope" in result["error"]


# -- columns -----------------------------------------------------------------------------
def test_columns_saves_the_order_and_table_applies_it(rpc, pandas_file, tmp_path):
    rpc.opened(pandas_file)
    saved = rpc.call("columns", name="/data", order=["label", "n"], hidden=["flag"])
    assert saved["columns"] == ["label", "n", "v0", "v1"] and saved["hidden"] == ["flag"]
    page = rpc.call("table", name="/data", count=1)
    assert page["columns"] == ["label", "n", "v0", "v1"]
    assert lines_of(page["content"])[2].split() == ["label", "n", "v0", "v1"]
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["tables"][str(pandas_file)]["/data"]["order"][:2] == ["label", "n"]
    assert rpc.call("columns", name="/data")["columns"] == ["label", "n", "v0", "v1"]


def test_saved_order_survives_a_restart(tmp_path, pandas_file):
    env = {"VIME_CONFIG": str(tmp_path / "shared.json")}
    first = RpcProcess(env=env)
    try:
        first.opened(pandas_file)
        saved = first.call("columns", name="/group/fixed", order=["flag"])
        assert saved["columns"] == ["flag", "v0", "v1", "n", "label"]
    finally:
        first.stop()
    second = RpcProcess(env=env)
    try:
        second.opened(pandas_file)
        assert second.call("table", name="/group/fixed", count=1)["columns"][0] == "flag"
    finally:
        second.stop()


def test_columns_with_an_unknown_name_fails(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("columns", name="/data", order=["nope"])
    assert result["ok"] is False and "no column 'nope'" in result["error"]


def test_corrupt_config_does_not_break_table(tmp_path, pandas_file):
    config = tmp_path / "broken.json"
    config.write_text("{ nope")
    process = RpcProcess(env={"VIME_CONFIG": str(config)})
    try:
        process.opened(pandas_file)
        assert process.call("table", name="/data", count=1)["ok"] is True
        assert process.call("columns", name="/data", order=["n"])["columns"][0] == "n"
    finally:
        process.stop()


# -- several files, close --------------------------------------------------------------------
def test_several_files_open_at_once_and_close(rpc, pandas_file, tmp_path):
    other = fx.generic_file(tmp_path)
    rpc.opened(pandas_file)
    assert rpc.call("open", path=str(other))["attrs"] == {"title": "generic fixture", "version": 3}
    assert rpc.call("table", name="/matrix", count=1)["ok"] is True  # the last opened
    assert rpc.call("table", name="/data", path=str(pandas_file), count=1)["ok"] is True
    assert rpc.call("tables", path=str(pandas_file))["path"] == str(pandas_file)
    assert rpc.call("close", path=str(other))["closed"] == [str(other)]
    assert rpc.call("table", name="/data", count=1)["ok"] is True  # back to the first file
    assert rpc.call("table", name="/matrix", path=str(other))["ok"] is False
    assert rpc.call("close")["closed"] == [str(pandas_file)]
    result = rpc.call("table", name="/data")
    assert result["ok"] is False and "no file is open" in result["error"]


# -- bad input ----------------------------------------------------------------------------
def unreadable_path(tmp_path):
    """A file this process cannot read, even as root (root ignores mode bits on files)."""
    if os.geteuid() == 0:
        return "/proc/sys/vm/compact_memory"  # write-only to everyone, root included
    path = tmp_path / "secret.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    path.chmod(0)
    return str(path)


def test_bad_input_fails_clearly_and_the_process_stays_up(shared_rpc, pandas_file, tmp_path):
    shared_rpc.opened(pandas_file)
    bad = fx.bad_files(tmp_path)
    cases = {
        str(bad["empty"]): "empty file",
        str(bad["text"]): "a text file, not HDF5",
        str(bad["truncated"]): "truncated",
        str(bad["netcdf3"]): "NetCDF-3 classic, not HDF5",
        str(bad["directory"]): "is a directory",
        str(tmp_path / "missing.h5"): "no such file",
        unreadable_path(tmp_path): "permission denied",
    }
    for path, reason in cases.items():
        result = shared_rpc.call("open", path=path)
        assert result["ok"] is False, path
        assert path in result["error"] and reason in result["error"], result["error"]
    assert shared_rpc.call("table", name="/data", count=2)["ok"] is True
    assert shared_rpc.call("ping")["ok"] is True


def file_digests(directory) -> dict:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


def test_fixture_bytes_are_unchanged_after_a_full_session(rpc, tmp_path):
    """Open, page, fast-page, describe and close every fixture; no byte changes."""
    directory = tmp_path / "fixtures"
    directory.mkdir()
    fx.pandas_store(directory)
    fx.generic_file(directory)
    fx.linked_file(directory)
    fx.compressed_file(directory)
    fx.netcdf4_file(directory)
    fx.matlab_file(directory)
    fx.pytables_file(directory)
    before = file_digests(directory)
    stamps = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    failed = {}
    for name in sorted(before):
        listed = rpc.call("open", path=str(directory / name))
        assert listed["ok"], listed
        for entry in listed["tables"]:
            failed.update(check_every_reply(rpc, name, entry))
        first = listed["tables"][0]["name"]
        assert rpc.call("columns", name=first, order=[])["name"] == first
    expected_failures = {  # nothing else fails, and these fail for their own reason
        ("compressed.h5", "/lzo", "page"): "filter 'lzo' (id 305) is not available",
        ("compressed.h5", "/lzo", "fast"): "filter 'lzo' (id 305) is not available",
        ("compressed.h5", "/lzo", "info"): "filter 'lzo' (id 305) is not available",
        ("links.h5", "/dangling", "page"): "dangling soft link to /nowhere/at/all",
        ("links.h5", "/dangling", "fast"): "dangling soft link to /nowhere/at/all",
        ("links.h5", "/external_missing", "page"): "external link to missing.h5:/x",
        ("links.h5", "/external_missing", "fast"): "external link to missing.h5:/x",
    }
    assert set(failed) == set(expected_failures)
    for key, reason in expected_failures.items():
        assert reason in failed[key]
    assert sorted(rpc.call("close")["closed"]) == [str(directory / name) for name in sorted(before)]
    assert rpc.call("shutdown")["ok"] is True
    rpc.wait()
    assert file_digests(directory) == before
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == stamps


def check_every_reply(rpc, file: str, entry: dict) -> dict:
    """Page, fast-page and describe one listed table; check each reply that succeeds
    against the listing, return {(file, table, request): reason} for those that fail."""
    name, failed = entry["name"], {}
    replies = {
        "page": rpc.call("table", name=name, count=3, start=1),
        "fast": rpc.call("table", name=name, count=3, fast=True),
        "info": rpc.call("info", name=name),
    }
    for request, reply in replies.items():
        if not reply["ok"]:
            assert reply["code"] == -32008, reply  # read failed, never an internal error
            failed[(file, name, request)] = reply["error"]
            continue
        assert reply["name"] == name
        if request == "info":
            assert reply["shape"] == entry["shape"] and reply["column_count"] == entry["cols"]
            assert reply["content"].startswith(f"{name}  [{entry['rows']:,} rows")
        else:
            assert reply["shape"] == [entry["rows"], entry["cols"]]
            assert reply["stop"] - reply["start"] == max(0, min(3, entry["rows"] - reply["start"]))
    return failed


# -- handlers in-process: compute results ----------------------------------------------
def published_result(source_path: str, frame: pd.DataFrame, name: str) -> dict:
    """A result file for ``source_path`` as a compute job publishes it."""
    from vime import results
    from vime.storewriter import StoreWriter

    result = results.ResultFile()
    writer = StoreWriter(result.temp, results.RESULT_KEY)
    writer.append(frame)
    writer.close()
    meta = {"rows": len(frame), "cols": frame.shape[1], "columns": list(frame.columns),
            "dtypes": [str(d) for d in frame.dtypes]}  # fmt: skip
    source = {**results.source_identity(source_path), "table": "/data"}
    return result.publish(name, source, meta, {"query": "x > 0"})


def test_tables_lists_results_after_the_files_own(pandas_file, tmp_path, monkeypatch):
    monkeypatch.setenv("VIME_RESULTS", str(tmp_path / "results"))
    state = State()
    try:
        data.open_file(state, {"path": str(pandas_file)})
        published_result(str(pandas_file), pd.DataFrame({"x": [1.0, 2.0, 3.0]}), "/__computed__/r")
        listed = data.tables(state, {})["tables"]
        assert [t["name"] for t in listed] == ["/data", "/group/fixed", "/__computed__/r"]
        assert listed[2]["kind"] == "computed" and listed[2]["provenance"] == {"query": "x > 0"}
        page = data.table(state, {"name": "/__computed__/r", "count": 2})
        assert page["shape"] == [3, 1] and lines_of(page["content"])[4].split() == ["1", "2"]
        described = data.info(state, {"name": "/__computed__/r"})
        assert described["storage"]["bytes"] > 0 and "query: x > 0" in described["content"]
    finally:
        state.close()


def test_tables_without_a_file_says_so():
    with pytest.raises(NoFileOpen, match="no file is open"):
        data.tables(State(), {})


# -- the column window ----------------------------------------------------------------
def test_table_pages_columns_with_col_start_and_col_count(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", count=2, col_start=1, col_count=2)
    assert result["ok"], result
    assert result["columns"] == ["v1", "n"] and result["dtypes"] == ["float64", "int64"]
    assert (result["col_start"], result["col_stop"], result["shape"]) == (1, 3, [1000, 5])
    header = result["content"].splitlines()[2].split()
    assert header == ["v1", "n"]


def test_column_window_defaults_and_clamps(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    whole = shared_rpc.call("table", name="/data", count=1)
    assert (whole["col_start"], whole["col_stop"]) == (0, 5)
    past = shared_rpc.call("table", name="/data", count=1, col_start=9)
    assert (past["col_start"], past["col_stop"], past["columns"]) == (5, 5, [])
    bad = shared_rpc.call("table", name="/data", col_count=0)
    assert bad["ok"] is False and bad["code"] == -32602 and "col_count" in bad["error"]


# -- issue 12: the smaller data-layer bugs --------------------------------------------------
def test_info_of_h5py_string_columns_describes_the_numeric_ones(shared_rpc, tmp_path):
    """numpy 2 raises ValueError (not TypeError) for 'str (ascii, fixed 8)'."""
    from vime.demo import write_demo

    demo = write_demo(tmp_path / "demo.h5", rows=2000)
    shared_rpc.opened(demo)
    events = shared_rpc.call("info", name="/detector/events")
    assert events["ok"], events
    assert {"name": "detector", "dtype": "str (ascii, fixed 8)"} in events["columns"]
    summary = lines_of(events["content"].split("describe")[1])
    id_line = next(line for line in summary if line.split()[:1] == ["id"])
    assert id_line.split()[1:3] == ["20000", "9999.5"]
    assert [line.split()[0] for line in summary[2:]] == ["id", "energy", "position.x", "position.y"]
    strings = shared_rpc.opened(fx.generic_file(tmp_path)).call("info", name="/strings/vlen_utf8")
    assert strings["ok"], strings
    assert strings["columns"] == [{"name": "vlen_utf8", "dtype": "str (utf-8, vlen)"}]
    assert "(no numeric columns)" in strings["content"]


def test_non_utf8_names_are_listed_readably_and_open_by_that_name(tmp_path):
    path = tmp_path / "latin1.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(b"caf\xe9", data=np.arange(3))
        f.create_group(b"gr\xfcn").create_dataset(b"x\xff", data=np.arange(2.0))
    for fresh in (True, False):  # a table asked before and after the listing
        process = RpcProcess()
        try:
            if fresh:
                opened = process.call("open", path=str(path))
                names = [t["name"] for t in opened["tables"]]
                assert names == ["/caf\\xe9", "/gr\\xfcn/x\\xff"]
            else:
                process.send([1, {"method": "open", "params": {"path": str(path)}}])
                process.read()
            page = process.call("table", name="/gr\\xfcn/x\\xff")
            assert page["ok"], page
            assert page["columns"] == ["x\\xff"] and lines_of(page["content"])[4].split() == [
                "1",
                "1",
            ]
            assert process.call("info", name="/caf\\xe9")["shape"] == [3]
            missing = process.call("table", name="/caf\\xe8")
            assert missing["ok"] is False and missing["code"] == -32003
        finally:
            process.stop()


def test_listings_cap_long_attributes_and_info_shows_more(shared_rpc, tmp_path):
    path = tmp_path / "chatty.h5"
    long_text = "x" * 20_000
    with h5py.File(path, "w") as f:
        f.attrs["notes"] = long_text
        for i in range(500):
            f.create_dataset(f"d{i:03d}", data=[i]).attrs["history"] = long_text
        many = f["d000"]
        for i in range(100):
            many.attrs[f"a{i:02d}"] = np.bytes_(b"y" * 300)
    opened = shared_rpc.call("open", path=str(path))
    assert opened["ok"], opened
    assert len(json.dumps(opened)) < 300_000  # 10 MB before
    assert opened["attrs"]["notes"] == "x" * 200 + "… (20,000 characters)"
    first, second = opened["tables"][0]["attrs"], opened["tables"][1]["attrs"]
    assert second == {"history": "x" * 200 + "… (20,000 characters)"}
    assert list(first) == [f"a{i:02d}" for i in range(64)] + ["…"]
    assert first["…"] == "37 more attributes (info shows more)"
    assert first["a00"] == "y" * 200 + "… (300 characters)"
    assert shared_rpc.call("tables")["tables"] == opened["tables"]
    info = shared_rpc.call("info", name="/d001")
    assert info["attrs"]["history"] == "x" * 4000 + "… (20,000 characters)"
    assert "history: " + "x" * 4000 + "… (20,000 characters)" in info["content"]
    assert len(shared_rpc.call("info", name="/d000")["attrs"]) == 101


def test_control_characters_in_cells_keep_one_line_per_row(shared_rpc, tmp_path):
    path = tmp_path / "multiline.h5"
    frame = pd.DataFrame(
        {"text": ["one\ntwo", "tab\there", "bell\x07\r\n", "plain"], "n": [1, 2, 3, 4]},
        index=pd.Index(["a\nb", "c", "d", "e"], name="key"),
    )
    frame.to_hdf(path, key="notes", format="fixed")
    with h5py.File(path, "a") as f:
        f.create_dataset("lines", data=["first\nsecond", "ok"], dtype=h5py.string_dtype())
    shared_rpc.opened(path)
    page = shared_rpc.call("table", name="/notes")
    lines = lines_of(page["content"])
    assert len(lines) == 3 + 4
    assert [line.split() for line in lines[3:]] == [
        ["a\\nb", "one\\ntwo", "1"],
        ["c", "tab\\there", "2"],
        ["d", "bell\\x07\\r\\n", "3"],
        ["e", "plain", "4"],
    ]
    strings = lines_of(shared_rpc.call("table", name="/lines")["content"])
    assert [line.split() for line in strings[3:]] == [["0", "first\\nsecond"], ["1", "ok"]]


def test_ping_finds_packages_installed_with_egg_info(tmp_path):
    """Debian's python3-tabulate ships tabulate-0.8.9.egg-info, a folder or a file."""
    site = tmp_path / "dist-packages"
    site.mkdir()
    (site / "tabulate-0.8.9.egg-info").mkdir()
    (site / "hdf5plugin-4.1.3-py3.11.egg-info").write_text("Metadata-Version: 1.1\n")
    bare = tmp_path / "bare-python"  # no site-packages: only what PYTHONPATH holds
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    process = RpcProcess(env={"VIME_PYTHON": str(bare), "PYTHONPATH": str(site)})
    try:
        libraries = process.call("ping")["libraries"]
    finally:
        process.stop()
    assert libraries == {
        "numpy": None,
        "pandas": None,
        "h5py": None,
        "tables": None,
        "tabulate": "0.8.9",
        "hdf5plugin": "4.1.3",
    }


def test_a_failed_open_keeps_the_files_open_before(shared_rpc, tmp_path):
    path = fx.generic_file(tmp_path)
    names = [t["name"] for t in shared_rpc.call("open", path=str(path))["tables"]]
    missing = shared_rpc.call("open", path=str(tmp_path / "missing.h5"))
    assert missing["ok"] is False and missing["code"] == -32001
    assert shared_rpc.call("tables")["path"] == str(path)
    text = tmp_path / "notes.txt"
    text.write_text("not hdf5\n")
    os.replace(text, path)  # the same path, now not HDF5: its reopen fails
    again = shared_rpc.call("open", path=str(path))
    assert again["ok"] is False and again["code"] == -32002 and "a text file" in again["error"]
    listed = shared_rpc.call("tables")
    assert listed["ok"] and listed["path"] == str(path)
    assert [t["name"] for t in listed["tables"]] == names
    page = shared_rpc.call("table", name="/matrix", count=2)
    assert page["ok"], page
    assert lines_of(page["content"])[4].split() == ["1", "4", "5", "6", "7"]


def test_info_shows_a_large_count_in_full(rpc, tmp_path):
    path = tmp_path / "count.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.arange(1_234_567.0)
    rpc.opened(path)
    info = rpc.call("info", name="/x")
    summary = info["content"].splitlines()[-1].split()
    assert summary[:2] == ["x", "1234567"], info["content"]
