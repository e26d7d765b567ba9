"""HSDS domains through h5pyd: the same cases against local files and the same files in a
real HSDS service (tests/hsds.py), started once per test process.

Every case runs twice, on the local file and on the domain it was copied to
(``where``), and checks values against the data the fixture was built from.
One test then compares every page, plane, slice and ``info`` of the two,
reply for reply. The rest are the domain's own: its errors, a service that
stops answering, a connection dropped mid-job, reads in flight together,
and the log that never holds a password.
"""

from __future__ import annotations

import csv
import json
import os

import h5py
import numpy as np
import pandas as pd
import pytest

from tests import h5fixtures as fx
from tests.conftest import RpcProcess, SharedBackend
from tests.hsds import HOME, PASSWORD, Service, hsds_command
from vime.errors import ExportFailed, FileMissing, NoSuchColumn, NoSuchTable, ReadFailed

ROWS = 30_000  # rows of /big and /grid: several compute chunks, several pieces of a read
CHUNK_ROWS = 7_000  # VIME_CHUNK_ROWS of the backends under test


# -- the service and the fixtures -------------------------------------------------------
def service_or_skip() -> None:
    """hsds and h5pyd are in the test extra; CI (see .ci/run) must run these tests."""
    missing = [name for name in ("hsds", "h5pyd") if not _importable(name)]
    if hsds_command() is None and "hsds" not in missing:
        missing.append("hsds (the command)")
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed: pip install 'vime[test]' to test HSDS domains"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.fixture(scope="session")
def hsds(tmp_path_factory):
    """One HSDS per test process (xdist worker): its own storage and socket folders."""
    service_or_skip()
    service = Service(tmp_path_factory.mktemp("hsds")).start()
    yield service
    service.stop()


def kinds_file(directory) -> tuple:
    """One dataset of each kind HSDS can hold, and the arrays they were made from."""
    path = directory / "kinds.h5"
    # (h5pyd 1.0 cannot write a compound holding both a vlen string and an array field)
    record = np.dtype([("id", "<i4"), ("pos", [("x", "<f8"), ("y", "<f8")]),
                       ("label", h5py.string_dtype("utf-8")), ("ok", "?")])  # fmt: skip
    records = np.zeros(6, dtype=record)
    records["id"] = np.arange(6) * 10
    records["pos"]["x"] = np.arange(6) * 0.5
    records["pos"]["y"] = -np.arange(6)
    records["label"] = [f"née-{i}" for i in range(6)]
    records["ok"] = np.arange(6) % 2 == 0
    histograms = np.zeros(4, dtype=[("id", "<i4"), ("hist", "<i2", (3,))])
    histograms["id"] = np.arange(4)
    histograms["hist"] = np.arange(12).reshape(4, 3)
    data = {
        "compound": records,
        "histograms": histograms,
        "signal": np.sin(np.arange(2500) / 40.0),
        "matrix": np.arange(12, dtype="i8").reshape(3, 4),
        "cube": np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5),
        "wide": np.arange(4 * 300, dtype="f4").reshape(4, 300),
    }
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "kinds"
        for name, values in data.items():
            f[name] = values
        f["matrix"].attrs["units"] = "m/s"
        colours = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 7}, basetype="i1")
        f.create_dataset("enum", data=np.array([0, 1, 7, 3, 0], dtype="i1"), dtype=colours)
        f.create_dataset("strings/vlen_utf8", data=["héllo", "wörld", "日本"],
                         dtype=h5py.string_dtype("utf-8"))  # fmt: skip
        f["strings/fixed_ascii"] = np.array([b"alpha", b"beta", b""], dtype="S6")
        f["scalar"] = 42.5
        f.create_dataset("empty", shape=(0,), dtype="f8")
        f["big_endian"] = np.array([1, -2, 3000000], dtype=">i4")
    return path, data


def big_file(directory) -> tuple[object, pd.DataFrame, np.ndarray]:
    """A pandas table and a 2-D float dataset of ROWS rows, for whole-table work."""
    path = directory / "big.h5"
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "signal": rng.normal(size=ROWS),
            "count": np.arange(ROWS, dtype="int64") % 97,
            "station": np.array(["north", "south", "east"])[np.arange(ROWS) % 3],
        },
        index=pd.date_range("2024-01-01", periods=ROWS, freq="s", name="time"),
    )
    frame.to_hdf(path, key="big", format="table", data_columns=["station"])
    grid = rng.normal(size=(ROWS, 8))
    with h5py.File(path, "a") as f:
        f.create_dataset("grid", data=grid, chunks=(2000, 8))
    return path, frame, grid


class Files:
    """The local fixture files, and where the service holds each."""

    def __init__(self, folder, service: Service):
        self.kinds, self.kinds_data = kinds_file(folder)
        self.store = fx.pandas_store(folder)
        self.big, self.frame, self.grid = big_file(folder)
        named = {path.name: path for path in (self.kinds, self.store, self.big)}
        # Copies of their own for the tests that change a domain, scanned with the rest.
        to_change = {"written.h5": self.big, "changing.h5": self.kinds}
        domains = service.copy_many({**named, **to_change})
        self.domains = {path: domains[name] for name, path in named.items()}
        self.to_change = {name: domains[name] for name in to_change}

    def path(self, local, where: str) -> str:
        """The local path, or the domain as an hdf5:// path (the endpoint from HS_ENDPOINT)."""
        return str(local) if where == "local" else "hdf5:/" + self.domains[local]


@pytest.fixture(scope="module")
def files(hsds, tmp_path_factory):
    return Files(tmp_path_factory.mktemp("hsds-files"), hsds)


def backend_env(tmp_path, service: Service, **env) -> dict:
    return {
        "VIME_CONFIG": str(tmp_path / "config.json"),
        "VIME_RESULTS": str(tmp_path / "results"),
        "VIME_CHUNK_ROWS": str(CHUNK_ROWS),
        **service.env,
        **env,
    }


def backend(tmp_path, service: Service, **env) -> RpcProcess:
    return RpcProcess(env=backend_env(tmp_path, service, **env),
                      stderr_path=tmp_path / "rpc-stderr.log")  # fmt: skip


@pytest.fixture(scope="module")
def shared_backend(hsds, tmp_path_factory):
    """The module's shared vime-rpc (conftest.SharedBackend) reaches the service through
    HS_ENDPOINT, HS_USERNAME and HS_PASSWORD."""
    folder = tmp_path_factory.mktemp("hsds-backend")
    env = {"VIME_CHUNK_ROWS": str(CHUNK_ROWS), "VIME_LOG": str(folder / "vime.log"), **hsds.env}
    backend = SharedBackend(folder, env)
    yield backend
    backend.stop()


@pytest.fixture
def job_rpc(tmp_path, hsds):
    """A vime-rpc of the test's own: a job's result is listed under its source file."""
    process = backend(tmp_path, hsds)
    yield process
    process.stop()


WHERE = pytest.mark.parametrize("where", ["local", "hsds"])


def rows_of(content: str) -> list[list[str]]:
    """The cells of a page's rows (the title, a blank line and the header come first)."""
    return [line.split() for line in content.splitlines()[3:]]


def ok(reply: dict) -> dict:
    assert reply["ok"] is True, reply
    return reply


# -- the shared cases -------------------------------------------------------------------
@WHERE
def test_open_lists_every_kind(shared_rpc, files, where):
    path = files.path(files.kinds, where)
    opened = ok(shared_rpc.call("open", path=path))
    assert opened["path"] == path  # a domain is named as given, never made a local path
    assert opened["attrs"] == {"title": "kinds"}
    listed = {t["name"]: (t["kind"], t["shape"], t["dtype"]) for t in opened["tables"]}
    assert listed == {
        "/big_endian": ("dataset", [3], "int32"),
        "/compound": ("compound", [6], "int32, float64, str (utf-8, vlen), bool"),
        "/histograms": ("compound", [4], "int32, int16[3]"),
        "/cube": ("dataset", [2, 3, 4, 5], "int64"),
        "/empty": ("dataset", [0], "float64"),
        "/enum": ("dataset", [5], "enum"),
        "/matrix": ("dataset", [3, 4], "int64"),
        "/scalar": ("scalar", [], "float64"),
        "/signal": ("dataset", [2500], "float64"),
        "/strings/fixed_ascii": ("dataset", [3], "str (ascii, fixed 6)"),
        "/strings/vlen_utf8": ("dataset", [3], "str (utf-8, vlen)"),
        "/wide": ("dataset", [4, 300], "float32"),
    }
    matrix = next(t for t in opened["tables"] if t["name"] == "/matrix")
    assert matrix["attrs"] == {"units": "m/s"}


@WHERE
def test_pages_of_every_kind_hold_the_data(shared_rpc, files, where):
    shared_rpc.opened(files.path(files.kinds, where))
    data = files.kinds_data

    compound = ok(shared_rpc.call("table", name="/compound", start=2, count=3))
    assert compound["columns"] == ["id", "pos.x", "pos.y", "label", "ok"]
    rows = rows_of(compound["content"])
    assert [int(r[1]) for r in rows] == [20, 30, 40]
    assert [float(r[2]) for r in rows] == [1.0, 1.5, 2.0]
    assert [r[4] for r in rows] == ["née-2", "née-3", "née-4"]
    arrays = ok(shared_rpc.call("table", name="/histograms", start=1, count=1))
    assert rows_of(arrays["content"]) == [["1", "1", "[3", "4", "5]"]]

    signal_page = ok(shared_rpc.call("table", name="/signal", start=1234, count=4))
    values = [float(r[1]) for r in rows_of(signal_page["content"])]
    assert np.allclose(values, data["signal"][1234:1238], rtol=1e-5)

    window = ok(shared_rpc.call("table", name="/wide", col_start=298, col_count=5, count=2))
    assert (window["columns"], window["col_stop"]) == (["298", "299"], 300)
    assert [[float(v) for v in r[1:]] for r in rows_of(window["content"])] == [
        [298.0, 299.0],
        [598.0, 599.0],
    ]

    plane = ok(shared_rpc.call("table", name="/cube", plane=[1, 2]))
    assert [[int(v) for v in r[1:]] for r in rows_of(plane["content"])] == data["cube"][
        1, 2
    ].tolist()
    sliced = ok(shared_rpc.call("table", name="/cube", slice="[1, :, 2, ::-2]"))
    assert sliced["slice"] == "[1, :, 2, 4::-2]" and sliced["full_shape"] == [2, 3, 4, 5]
    assert [[int(v) for v in r[1:]] for r in rows_of(sliced["content"])] == data["cube"][
        1, :, 2, ::-2
    ].tolist()

    enum = ok(shared_rpc.call("table", name="/enum"))
    assert [r[1] for r in rows_of(enum["content"])] == ["RED", "GREEN", "BLUE", "3", "RED"]
    strings = ok(shared_rpc.call("table", name="/strings/vlen_utf8"))
    assert [r[1] for r in rows_of(strings["content"])] == ["héllo", "wörld", "日本"]
    scalar = ok(shared_rpc.call("table", name="/scalar"))
    assert rows_of(scalar["content"]) == [["0", "42.5"]]
    empty = ok(shared_rpc.call("table", name="/empty"))
    assert (empty["shape"], empty["start"], empty["stop"]) == ([0, 1], 0, 0)


@WHERE
def test_pandas_tables_equal_pandas(shared_rpc, files, where):
    """Both formats, a Series, a MultiIndex, categories and time zones, read without PyTables."""
    shared_rpc.opened(files.path(files.store, where))
    rich = fx.pandas_rich_frame()
    page = ok(shared_rpc.call("table", name="/exp/rich", start=100, count=3))
    assert page["columns"] == list(rich.columns)
    assert page["dtypes"][4:7] == ["str", "category", "datetime64[us]"]
    rows = rows_of(page["content"])
    assert [int(r[0]) for r in rows] == [100, 101, 102]  # the index
    assert [float(r[1]) for r in rows] == pytest.approx(rich["x"].iloc[100:103].tolist(), rel=1e-5)
    assert [r[5:7] for r in rows] == [["item-100", "green"], ["item-101", "blue"],
                                      ["item-102", "red"]]  # fmt: skip

    multi = ok(shared_rpc.call("table", name="/multi/table", count=4))
    assert [r[:3] for r in rows_of(multi["content"])] == [
        ["a", "0", "0"], ["a", "1", "1.5"], ["a", "2", "3"], ["a", "3", "4.5"]
    ]  # fmt: skip
    series = ok(shared_rpc.call("table", name="/series/fixed"))
    assert [float(r[1]) for r in rows_of(series["content"])] == [0.0, 1.0, 2.0, 3.0, 4.0]
    fixed = ok(shared_rpc.call("table", name="/exp/fixed", start=3, count=2, columns=["x", "name"]))
    assert [r[2] for r in rows_of(fixed["content"])] == ["item-3", "item-4"]
    packed = ok(shared_rpc.call("table", name="/packed", start=199, count=5))
    assert [int(r[0]) for r in rows_of(packed["content"])] == [199]


@WHERE
def test_info_describes_tables(shared_rpc, files, where):
    shared_rpc.opened(files.path(files.big, where))
    info = ok(shared_rpc.call("info", name="/big"))
    assert info["shape"] == [ROWS, 3]
    assert info["columns"] == [
        {"name": "signal", "dtype": "float64"},
        {"name": "count", "dtype": "int64"},
        {"name": "station", "dtype": "str"},
    ]
    assert info["index"][0]["name"] == "time"
    assert info["index"][0]["first"].startswith("2024-01-01 00:00:00")
    mean = f"{files.frame['signal'].mean():.6g}"[:6]
    assert mean in info["content"]
    grid = ok(shared_rpc.call("info", name="/grid"))
    assert grid["storage"]["chunks"] == [2000, 8]
    assert grid["storage"]["bytes"] == ROWS * 8 * 8  # a domain's as the service's scan counted


@WHERE
def test_plot_reads_whole_columns(shared_rpc, files, where):
    """The plot of a whole column is the plot engine's picture of the file's numbers."""
    from vime.plot import braille_plot

    shared_rpc.opened(files.path(files.big, where))
    line = ok(shared_rpc.call("plot", name="/big", y="signal", width=60, height=12))
    assert (line["points"], line["dropped"]) == (ROWS, 0)
    drawn = braille_plot(None, files.frame["signal"].to_numpy(), width=60, height=12,
                         y_name="signal")  # fmt: skip
    assert "\n".join(drawn) in line["content"]
    scatter = ok(shared_rpc.call("plot", name="/grid", y="3", x="5", type="scatter", width=40))
    assert scatter["points"] == ROWS
    drawn = braille_plot(files.grid[:, 5], files.grid[:, 3], kind="scatter", width=40,
                         x_name="5", y_name="3")  # fmt: skip
    assert "\n".join(drawn) in scatter["content"]


@WHERE
def test_search_and_count_scan_every_chunk(shared_rpc, files, where):
    shared_rpc.opened(files.path(files.big, where))
    frame = files.frame
    needle = f"{frame['signal'].iloc[ROWS - 5]:.6g}"
    found = ok(shared_rpc.call("search", name="/big", text=needle, from_row=10))
    assert (found["row"], found["column"]) == (ROWS - 5, "signal")
    by_query = ok(shared_rpc.call("search", name="/big", query="count == 96 & station == 'east'"))
    expected = frame.reset_index().query("count == 96 and station == 'east'").index[0]
    assert by_query["row"] == expected
    counted = ok(shared_rpc.call("count", name="/big", query="signal > 1.5"))
    assert counted["count"] == int((frame["signal"] > 1.5).sum())


@WHERE
def test_compute_writes_a_result_listed_under_the_source(job_rpc, files, where):
    path = files.path(files.big, where)
    job_rpc.opened(path)
    started = ok(job_rpc.call("compute_start", source="/big", query="signal > 0",
                          groupby="station", agg={"count": ["sum"]}))  # fmt: skip
    done = job_rpc.wait_notification("compute_done")
    assert done["status"] == "done" and done["table"] == started["table"]
    expected = files.frame[files.frame["signal"] > 0].groupby("station")["count"].sum()
    page = ok(job_rpc.call("table", name=done["table"]))
    assert {r[1]: int(r[2]) for r in rows_of(page["content"])} == expected.to_dict()
    listed = ok(job_rpc.call("tables"))["tables"]
    result = next(t for t in listed if t["name"] == done["table"])
    assert result["source"] == {"path": path, "table": "/big"}
    assert result["stale"] is False


@WHERE
def test_export_writes_a_local_file(shared_rpc, files, where, tmp_path):
    shared_rpc.opened(files.path(files.big, where))
    target = tmp_path / "out.csv"
    exported = ok(shared_rpc.call("export", name="/grid", to=str(target)))
    assert (exported["rows"], exported["cols"]) == (ROWS, 8)
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [str(i) for i in range(8)]
    assert len(rows) == ROWS + 1
    assert np.allclose([float(v) for v in rows[ROWS]], files.grid[ROWS - 1])
    to_domain = shared_rpc.call("export", name="/grid", to=f"hdf5:/{HOME}/out.h5")
    assert to_domain["code"] == ExportFailed.code
    assert (
        to_domain["error"] == f"hdf5:/{HOME}/out.h5: export writes a local file, not an HSDS domain"
    )


@WHERE
def test_bad_requests_name_the_domain_and_the_reason(shared_rpc, files, where):
    path = files.path(files.kinds, where)
    shared_rpc.opened(path)
    table = shared_rpc.call("table", name="/nope")
    assert (table["ok"], table["code"]) == (False, NoSuchTable.code)
    assert table["error"].startswith(f"{path}: no table '/nope'")
    column = shared_rpc.call("plot", name="/compound", y="nope")
    assert column["code"] == NoSuchColumn.code and path in column["error"]
    sliced = shared_rpc.call("table", name="/cube", slice="[9]")
    assert sliced["code"] == -32602 and "axis 0" in sliced["error"]


# -- the same replies from both -----------------------------------------------------------
REQUESTS = [
    {"start": 0, "count": 7},
    {"start": 2, "count": 3, "fast": True},
    {"start": 1, "count": 2, "col_start": 1, "col_count": 2},
    {"plane": [1, 1]},
    {"slice": "[0, 1:3, 2, ::-1]"},
]


def comparable(reply: dict, path: str) -> str:
    """A reply as text without its path, nor the storage (each store's own; info's
    ``storage`` and its line in ``content``)."""
    reply = {key: reply[key] for key in reply if key != "storage"}
    if "storage" in reply.get("content", ""):
        lines = reply["content"].splitlines()
        reply["content"] = "\n".join(line for line in lines if not line.startswith("storage:"))
    return json.dumps(reply, sort_keys=True).replace(path, "<path>")


def test_every_table_reads_the_same_from_a_domain_as_from_its_file(shared_rpc, files):
    """Each table of each fixture: its listing, pages, fast pages, column windows,
    planes and slices (of N-D datasets), and info, reply for reply.

    The one difference is HSDS's: it has no bitfield type, so a fixed store's bool
    block (a PyTables bitfield) is plain uint8 in a domain.
    """
    differences = []
    for local in (files.kinds, files.store, files.big):
        paths = {where: files.path(local, where) for where in ("local", "hsds")}
        listings = {
            where: ok(shared_rpc.call("open", path=p))["tables"] for where, p in paths.items()
        }
        for entry, remote in zip(listings["local"], listings["hsds"], strict=True):
            name = entry["name"]
            if comparable(entry, paths["local"]) != comparable(remote, paths["hsds"]):
                differences.append((name, "listing"))
            asks = [("info", {})] + [
                ("table", ask) for ask in REQUESTS if len(entry["shape"]) > 2 or not
                ask.keys() & {"plane", "slice"}
            ]  # fmt: skip
            for method, ask in asks:
                replies = {
                    w: shared_rpc.call(method, name=name, path=p, **ask) for w, p in paths.items()
                }
                assert replies["local"]["ok"], (name, ask, replies["local"])
                if comparable(replies["local"], paths["local"]) != comparable(
                    replies["hsds"], paths["hsds"]
                ):
                    differences.append((name, method, ask))
    bool_block = "/exp/fixed"
    assert differences == [
        (bool_block, "listing"),
        (bool_block, "info", {}),
        (bool_block, "table", REQUESTS[0]),
        (bool_block, "table", REQUESTS[1]),
    ]


# -- the domain's own -----------------------------------------------------------------------
def test_a_domain_url_names_its_endpoint(tmp_path, hsds, files):
    """http+unix:// (like http:// and https://) carries the endpoint: no HS_ENDPOINT needed."""
    url = hsds.domain_url(files.domains[files.kinds])
    process = backend(tmp_path, hsds, HS_ENDPOINT="")
    try:
        opened = ok(process.call("open", path=url))
        assert opened["path"] == url and len(opened["tables"]) == 12
        page = ok(process.call("table", name="/matrix", path=url))
        assert rows_of(page["content"])[2] == ["2", "8", "9", "10", "11"]
        plotted = ok(process.call("plot", name="/signal", path=url, y="signal"))
        assert plotted["points"] == 2500  # the worker opened the same URL
        no_endpoint = process.call("open", path="hdf5:/" + files.domains[files.kinds])
        assert no_endpoint["code"] == ReadFailed.code
        assert "no HSDS endpoint: set HS_ENDPOINT" in no_endpoint["error"]
        assert ok(process.call("tables"))["path"] == url  # a failed open keeps the others
    finally:
        process.stop()


def test_errors_name_the_domain_the_endpoint_and_the_reason(shared_rpc, hsds, tmp_path):
    absent = shared_rpc.call("open", path=f"hdf5:/{HOME}/absent.h5")
    assert absent["code"] == FileMissing.code
    assert absent["error"].startswith(f"hdf5:/{HOME}/absent.h5: no such domain on HSDS at ")
    assert hsds.endpoint in absent["error"]

    endpoint = "http+unix://" + str(tmp_path / "no.sock").replace("/", "%2F")
    unreachable = shared_rpc.call("open", path=f"{endpoint}{HOME}/kinds.h5")
    assert unreachable["code"] == ReadFailed.code
    assert unreachable["error"] == (
        f"{endpoint}{HOME}/kinds.h5: cannot reach HSDS at {endpoint}: no such socket"
    )
    in_url = shared_rpc.call("open", path=f"http://me:s3cret@127.0.0.1:1{HOME}/kinds.h5")
    assert in_url["code"] == -32602 and "s3cret" not in json.dumps(in_url)
    assert in_url["error"] == (
        f"http://127.0.0.1:1{HOME}/kinds.h5: put the user and password in HS_USERNAME and "
        "HS_PASSWORD (or ~/.hscfg), not in the URL"
    )
    assert ok(shared_rpc.call("ping"))["pid"] > 0


def test_a_wrong_password_is_refused_and_written_nowhere(tmp_path, hsds, files):
    wrong = "wr0ng-Secret-4711"
    log = tmp_path / "debug.log"
    process = RpcProcess(
        "--debug", "--log", str(log),
        env={**hsds.env, "HS_PASSWORD": wrong, "VIME_RESULTS": str(tmp_path / "results")},
        stderr_path=tmp_path / "stderr.log",
    )  # fmt: skip
    try:
        refused = process.call("open", path=files.path(files.kinds, "hsds"))
        assert refused["code"] == FileMissing.code
        assert "refused the user name or password (401)" in refused["error"]
        assert wrong not in json.dumps(refused)
        assert ok(process.call("ping"))["pid"] > 0
    finally:
        process.stop()
    written = log.read_text() + (tmp_path / "stderr.log").read_text()
    assert "ping" in written  # --debug logs each request, after the domain's open too
    assert wrong not in written


def test_a_user_without_rights_is_forbidden(tmp_path, hsds, files):
    """No user at all: the domain's ACL lets only its owner read it."""
    process = backend(tmp_path, hsds, HS_USERNAME="", HS_PASSWORD="")
    try:
        path = files.path(files.kinds, "hsds")
        forbidden = process.call("open", path=path)
        assert forbidden["code"] == FileMissing.code
        assert forbidden["error"] == (
            f"{path}: HSDS at {hsds.endpoint}: this user may not read the domain (403)"
        )
    finally:
        process.stop()


def test_the_log_of_a_session_on_a_domain_holds_no_password(tmp_path, hsds, files):
    log = tmp_path / "debug.log"
    process = RpcProcess("--debug", "--log", str(log), env=backend_env(tmp_path, hsds),
                         stderr_path=tmp_path / "stderr.log")  # fmt: skip
    try:
        process.opened(files.path(files.big, "hsds"))
        assert ok(process.call("table", name="/big", start=100, count=5))["stop"] == 105
        assert ok(process.call("count", name="/big", query="count == 3"))["count"] > 0
    finally:
        process.stop()
    written = log.read_text() + (tmp_path / "stderr.log").read_text()
    assert "table" in written and "count" in written  # the requests after the open
    assert PASSWORD not in written
    assert "h5pyd" not in written  # h5pyd's own request log stays out


def test_a_service_that_stops_answering_times_out_and_the_session_goes_on(tmp_path, hsds, files):
    process = backend(tmp_path, hsds, VIME_REMOTE_TIMEOUT="2")
    try:
        path = files.path(files.big, "hsds")
        process.opened(path)
        hsds.pause()
        try:
            stuck = process.call("table", name="/grid", start=20_000, count=3)
        finally:
            hsds.resume()
        assert stuck["code"] == ReadFailed.code
        assert stuck["error"] == (
            f"{path}:/grid: HSDS at {hsds.endpoint} did not answer within 2 s (VIME_REMOTE_TIMEOUT)"
        )
        assert ok(process.call("ping"))["pid"] > 0
        page = answered_again(process, hsds, name="/grid", start=20_000, count=3)
        cells = [[float(v) for v in row[1:]] for row in rows_of(page["content"])]
        assert np.allclose(cells, files.grid[20_000:20_003], rtol=1e-5)
    finally:
        process.stop()


def answered_again(process: RpcProcess, service: Service, **params) -> dict:
    """The page, once the resumed service answers within the timeout again (a loaded
    machine may need a few tries: each one that times out is the same -32008)."""
    assert service.about().get("state") == "READY"
    for _attempt in range(10):
        page = process.call("table", **params)
        if page["ok"] or "did not answer" not in page["error"]:
            return ok(page)
    return ok(page)


def test_a_connection_dropped_mid_job_is_one_error_and_the_session_goes_on(tmp_path, hsds, files):
    """A second service beside the session's (its own socket folder), killed mid-job."""
    private = Service(tmp_path / "private").start()
    process = backend(tmp_path, private, VIME_CHUNK_ROWS="20")  # 1,500 chunks, a request each
    try:
        path = "hdf5:/" + private.copy(files.big, "dropped.h5")
        process.opened(path)
        started = ok(process.call("compute_start", source="/big", query="signal > 0"))
        assert process.wait_notification("compute_progress")["job"] == started["job"]
        private.kill()
        failed = process.wait_notification("compute_error")
        assert failed["job"] == started["job"] and failed["status"] == "error"
        assert failed["error"].startswith(f"{path}:/big/table: cannot reach HSDS at ")
        assert private.endpoint in failed["error"]
        again = process.call("table", name="/big", path=path, start=29_000, count=2)
        assert again["code"] == ReadFailed.code and "cannot reach HSDS" in again["error"]
        # the session goes on: a local file, and the other service, read as before
        process.opened(files.big)
        assert ok(process.call("count", name="/big", query="count == 5"))["count"] == (
            int((files.frame["count"] == 5).sum())
        )
        other = hsds.domain_url(files.domains[files.kinds])  # HS_ENDPOINT is the dead one's
        process.opened(other)
        page = ok(process.call("table", name="/matrix", path=other))
        assert rows_of(page["content"])[1] == ["1", "4", "5", "6", "7"]
    finally:
        process.stop()
        private.stop()


READ_IN_PIECES = """
import json, sys, threading
import numpy as np
import h5pyd
from vime import loaders
from vime.loaders import remote

remote.PIECE_BYTES = 2000 * 8  # a piece of one float64 column is one 2,000-row chunk
together = threading.Barrier(4, timeout=60)  # passes only with 4 requests in flight
calls = []
original = h5pyd.Dataset.__getitem__

def counted(self, key, *args, **kwargs):
    calls.append(key)
    if len(calls) <= 4:
        together.wait()
    return original(self, key, *args, **kwargs)

h5pyd.Dataset.__getitem__ = counted
table = loaders.open_source(sys.argv[1]).table("/grid")
column = np.concatenate([chunk["3"] for chunk in table.arrays(["3"])])
np.save(sys.argv[2], column)
print(json.dumps({"calls": len(calls)}))
"""


def test_a_long_read_is_fetched_in_pieces_several_at_a_time(tmp_path, hsds, files, monkeypatch):
    for key, value in hsds.env.items():
        monkeypatch.setenv(key, value)
    import subprocess
    import sys

    saved = tmp_path / "column.npy"
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_PIECES, files.path(files.big, "hsds"), str(saved)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"calls": ROWS // 2000}
    assert np.array_equal(np.load(saved), files.grid[:, 3])


ASKED_AGAIN = """
import sys
import h5pyd
from vime import loaders
from vime.loaders import remote

remote.BUSY_PAUSE = 0
busy = [remote.BUSY_RETRIES]  # the service answers 503 that many times, then the rows
original = h5pyd.Dataset.__getitem__

def sometimes_busy(self, key, *args, **kwargs):
    if busy[0]:
        busy[0] -= 1
        raise OSError(503, "Service Unavailable")
    return original(self, key, *args, **kwargs)

h5pyd.Dataset.__getitem__ = sometimes_busy
table = loaders.open_source(sys.argv[1]).table("/matrix")
print(table.page(1, 3).to_numpy().tolist())
busy[0] = remote.BUSY_RETRIES + 1
try:
    table.page(0, 1)
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_a_busy_service_is_asked_again_and_then_named(tmp_path, hsds, files, monkeypatch):
    """HSDS answers 503 when its nodes have too many chunk reads in flight."""
    for key, value in hsds.env.items():
        monkeypatch.setenv(key, value)
    import subprocess
    import sys

    path = files.path(files.kinds, "hsds")
    done = subprocess.run([sys.executable, "-c", ASKED_AGAIN, path], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows, failure = done.stdout.splitlines()[-2:]
    assert json.loads(rows) == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert failure == (
        f"ReadFailed {path}:/matrix: HSDS at {hsds.endpoint} answered 503 (Service Unavailable)"
    )


SITE_WATCH = """
import os

def _forbidden(*args, **kwargs):
    with open(os.environ["VIME_TEST_QUERY_MARKER"], "a") as marker:
        marker.write("an h5pyd query ran\\n")
    raise AssertionError("h5pyd's query is not to be used")

try:
    import h5pyd
except ImportError:
    pass
else:
    h5pyd.Table.read_where = _forbidden
    h5pyd.Table.get_where_list = _forbidden
    h5pyd.Dataset.query = _forbidden
"""


def test_search_count_and_compute_never_ask_h5pyd_to_query(tmp_path, hsds, files):
    """h5pyd's read_where gives wrong results and hangs the data node on pandas block
    fields: vime reads chunks and filters them itself."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE_WATCH)
    marker = tmp_path / "query-ran"
    process = backend(tmp_path, hsds, PYTHONPATH=str(site), VIME_TEST_QUERY_MARKER=str(marker))
    try:
        process.opened(files.path(files.big, "hsds"))
        query = "station == 'south' & count > 90"
        expected = files.frame.query("station == 'south' and count > 90")
        assert ok(process.call("count", name="/big", query=query))["count"] == len(expected)
        found = ok(process.call("search", name="/big", query=query, from_row=-1))
        assert found["row"] == files.frame.index.get_loc(expected.index[0])
        ok(process.call("compute_start", source="/big", query=query))
        assert process.wait_notification("compute_done")["rows"] == len(expected)
    finally:
        process.stop()
    assert not marker.exists()


REQUEST_LOG = """
import os
import requests

_request = requests.Session.request


def _logged(self, method, url, *args, **kwargs):
    select = (kwargs.get("params") or {}).get("select", "")
    with open(os.environ["VIME_TEST_REQUEST_LOG"], "a") as log:
        log.write(f"{method} {url.rsplit('.sock', 1)[-1].split('?')[0]} {select}\\n")
    return _request(self, method, url, *args, **kwargs)


def _connect(self):
    with open(os.environ["VIME_TEST_REQUEST_LOG"], "a") as log:
        log.write("CONNECT - -\\n")
    return _open(self)


requests.Session.request = _logged
try:
    from requests_unixsocket.adapters import UnixHTTPConnection
except ImportError:
    pass
else:
    _open = UnixHTTPConnection.connect
    UnixHTTPConnection.connect = _connect
"""


def logging_backend(tmp_path, service: Service) -> tuple[RpcProcess, callable]:
    """A backend whose requests to the service are written to a log, and a function that
    gives the requests logged since it was last called (method, path, selection)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(REQUEST_LOG)
    log = tmp_path / "requests.log"
    process = backend(tmp_path, service, PYTHONPATH=str(site), VIME_TEST_REQUEST_LOG=str(log))
    seen = [0]

    def since() -> list[tuple[str, ...]]:
        lines = log.read_text().splitlines() if log.exists() else []
        new, seen[0] = lines[seen[0] :], len(lines)
        return [tuple(line.split(" ")) for line in new]

    return process, since


def test_a_page_after_the_first_asks_only_for_its_rows(tmp_path, hsds, files):
    """Metadata (shape, dtype, attributes, the pandas layout) is read once per open: each
    later page is one request per dataset it reads, for exactly its rows, on a connection
    kept open (requests_unixsocket would make one per URL, so per page)."""
    process, requests_since = logging_backend(tmp_path, hsds)
    try:
        process.opened(files.path(files.big, "hsds"))
        assert requests_since()  # the open itself asked the service
        columns = {"/big": "", "/grid": ",0:8"}
        for name, (start, count) in {"/big": (20_000, 40), "/grid": (12_345, 100)}.items():
            ok(process.call("table", name=name, start=0, count=20))
            requests_since()
            page = ok(process.call("table", name=name, start=start, count=count))
            first = rows_of(page["content"])[0]
            if name == "/big":
                assert first[-1] == files.frame["station"].iloc[start]
            else:
                assert float(first[-1]) == pytest.approx(files.grid[start, 7], rel=1e-5)
            made = requests_since()
            assert ("CONNECT", "-", "-") not in made, made
            assert made == [("GET", made[0][1], f"[{start}:{start + count}{columns[name]}]")]
            assert made[0][1].startswith("/datasets/d-") and made[0][1].endswith("/value")
    finally:
        process.stop()


def test_a_domain_changed_between_pages(tmp_path, hsds, files):
    """What vime assumes of a domain another client writes while it is open: values are
    read afresh on every page; the structure (tables, shapes, dtypes, attributes) is the
    one read at `open`, until the domain is opened again."""
    import h5pyd

    domain = files.to_change["written.h5"]
    process = backend(tmp_path, hsds)
    try:
        process.opened("hdf5:/" + domain)
        first = ok(process.call("table", name="/grid", start=100, count=3))
        assert float(rows_of(first["content"])[0][1]) == pytest.approx(files.grid[100, 0], 1e-5)
        with h5pyd.File(domain, "a", **hsds.credentials()) as f:
            f["grid"][100:103] = np.full((3, 8), 7.25)
            f.create_dataset("added", data=np.arange(5.0))
        again = ok(process.call("table", name="/grid", start=100, count=3))
        assert [row[1:] for row in rows_of(again["content"])] == [["7.25"] * 8] * 3
        listed = [table["name"] for table in ok(process.call("tables"))["tables"]]
        assert "/grid" in listed and "/added" not in listed  # the listing read at open
        hsds.rescan(domain)  # HSDS lists a new link once it has scanned the domain
        reopened = ok(process.call("open", path="hdf5:/" + domain))
        assert "/added" in [table["name"] for table in reopened["tables"]]
        added = ok(process.call("table", name="/added"))
        assert [row[1] for row in rows_of(added["content"])] == ["0", "1", "2", "3", "4"]
    finally:
        process.stop()


def test_a_result_of_a_domain_is_stale_once_the_domain_changes(tmp_path, hsds, files):
    domain = files.to_change["changing.h5"]
    path = "hdf5:/" + domain
    process = backend(tmp_path, hsds)
    try:
        process.opened(path)
        ok(process.call("compute_start", source="/signal", query="signal > 0.5"))
        done = process.wait_notification("compute_done")
        assert stale_of(process, done["table"]) is False
        hsds.rescan(domain)  # a scan of an unchanged domain changes nothing
        assert stale_of(process, done["table"]) is False
        import h5pyd

        with h5pyd.File(domain, "a", **hsds.credentials()) as f:
            f["signal"][0:10] = np.full(10, 9.0)
        hsds.rescan(domain)
        assert stale_of(process, done["table"]) is True
    finally:
        process.stop()


def stale_of(process: RpcProcess, name: str) -> bool:
    listed = ok(process.call("tables"))["tables"]
    return next(t for t in listed if t["name"] == name)["stale"]


def test_without_h5pyd_a_domain_names_the_extra(tmp_path):
    """No service needed: h5pyd is hidden from the backend."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "h5pyd.py").write_text("raise ImportError('h5pyd is hidden by the test')\n")
    process = RpcProcess(env={"PYTHONPATH": str(hidden), "VIME_RESULTS": str(tmp_path)})
    try:
        reply = process.call("open", path="hdf5://home/u/x.h5")
        assert reply["code"] == ReadFailed.code
        assert reply["error"] == (
            "hdf5://home/u/x.h5: opening an HSDS domain needs h5pyd: pip install 'vime[hsds]'"
        )
    finally:
        process.stop()


@pytest.mark.parametrize(
    ("raised", "code", "words"),
    [
        (OSError(403, "Forbidden"), FileMissing.code, "this user may not read the domain (403)"),
        (OSError(503, "Unavailable"), ReadFailed.code, "answered 503 (Unavailable)"),
        (FileNotFoundError(410, "Gone"), FileMissing.code, "no such domain on HSDS at"),
        (OSError("Connection Error"), ReadFailed.code, "cannot reach HSDS at"),
    ],
)
def test_each_failure_of_h5pyd_is_named(raised, code, words):
    pytest.importorskip("h5pyd")
    from vime.loaders.remote import remote_error

    error = remote_error(raised, "hdf5://home/u/x.h5", "http://hsds.example:5101")
    assert error.code == code
    assert error.message.startswith("hdf5://home/u/x.h5: ")
    assert words in error.message and "http://hsds.example:5101" in error.message


def test_a_domain_path_is_kept_as_written():
    from vime.state import normalise_path

    for path in ("hdf5://home/u/f.h5", "http://h:5101/home/u/f.h5",
                 "https://h/home/u/f.h5", "http+unix://%2Ftmp%2Fs.sock/home/u/f.h5"):  # fmt: skip
        assert normalise_path(path) == path
    assert normalise_path("hdf5-not-a-url/../x.h5") == os.path.realpath("x.h5")


def test_domains_lists_a_folder_for_completion(shared_rpc, hsds, tmp_path):
    """`domains` lists an HSDS folder: its subfolders and its domains, by name."""
    import h5pyd

    from tests.hsds import copy_to_domain

    folder = f"{HOME}/listed/"
    h5pyd.Folder(folder, mode="x", **hsds.credentials())
    h5pyd.Folder(f"{folder}inner/", mode="x", **hsds.credentials())
    local = tmp_path / "b.h5"
    with h5py.File(local, "w") as f:
        f["x"] = np.arange(3)
    copy_to_domain(local, f"{folder}b.h5", hsds.credentials())

    listed = ok(shared_rpc.call("domains", folder=f"hdf5:/{folder}"))
    assert listed["folder"] == f"hdf5:/{folder}"
    assert listed["entries"] == [
        {"name": "b.h5", "kind": "domain"},
        {"name": "inner", "kind": "folder"},
    ]
    home = ok(shared_rpc.call("domains", folder=f"hdf5:/{HOME}/"))
    assert {"name": "listed", "kind": "folder"} in home["entries"]

    absent = shared_rpc.call("domains", folder=f"hdf5:/{HOME}/absent/")
    assert absent["code"] == FileMissing.code
    assert absent["error"].startswith(f"hdf5:/{HOME}/absent/: no such domain on HSDS at ")
    no_slash = shared_rpc.call("domains", folder=f"hdf5:/{HOME}")
    assert no_slash["code"] == -32602
    assert no_slash["error"] == (
        f"'hdf5:/{HOME}': a folder is hdf5://... ending in /, e.g. hdf5://home/u/"
    )
