"""Shared test tools: a client that drives the real bin/vime-rpc subprocess, and the
suite's own rules: ``--all`` (the quick benchmark and the long fuzz run), editors
that may be missing, and replies that must be checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
RPC = ROOT / "bin" / "vime-rpc"


# CI runs the property tests on fixed examples, so that a run cannot fail by chance;
# elsewhere hypothesis keeps looking for new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# -- the suite's options -----------------------------------------------------------
def pytest_addoption(parser):
    parser.addoption(
        "--all",
        action="store_true",
        help="also run the quick benchmark (tests marked 'bench') and the long fuzz run",
    )


# Property tests try a share of their examples in the default run, where the suite must
# stay fast, and all of them under --all (as CI runs it). Set in pytest_configure, before
# the test modules (whose @settings read it) are imported.
DEFAULT_RUN_SHARE = 0.25
_full_run = False


def pytest_configure(config):
    global _full_run
    _full_run = config.getoption("--all")


def examples(count: int) -> int:
    """Hypothesis max_examples for a property test: ``count`` under --all, else a share of
    it (never under 20)."""
    return count if _full_run else max(20, round(count * DEFAULT_RUN_SHARE))


# The modules that take longest, started first: xdist (--dist loadfile) hands out whole
# modules in collection order, and a long one handed out last keeps one worker busy alone.
LONG_MODULES = ("test_live.py", "test_hsds.py", "test_editor_plugin.py", "test_data_rpc.py",
                "test_editor_jobs.py", "test_results.py", "test_search.py")  # fmt: skip


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in LONG_MODULES)  # stable: order kept
    if config.getoption("--all"):
        return
    left_out = [item for item in items if item.get_closest_marker("bench")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("bench")]


def pytest_report_header(config):
    if not config.getoption("--all"):
        return "vime: the quick benchmark and the long fuzz run are left out (run with --all)"
    return "vime: --all: with the quick benchmark and the long fuzz run"


def editor_or_skip(name: str) -> str:
    """The editor's executable. A missing one skips the test, with the reason; in CI
    (which installs both, see .ci/run) it fails it."""
    executable = shutil.which(name)
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; CI must test both editors")
        pytest.skip(f"{name} is not installed: install it to test the plugin in it")
    return executable


# -- every reply is checked --------------------------------------------------------
# Tests that still throw replies away; their owner fixes them (issue 18, tests 1).
UNCHECKED_ALLOWED = {
    "tests/test_data_rpc.py::test_fixture_bytes_are_unchanged_after_a_full_session",
}


class Reply(dict):
    """A reply of ``RpcProcess.call``. It notes whether the test looked at it: a reply
    that no test line reads is a test that cannot fail on it."""

    looked = False

    def __getitem__(self, key):
        self.looked = True
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.looked = True
        return super().get(key, default)

    def __contains__(self, key):
        self.looked = True
        return super().__contains__(key)

    def __iter__(self):
        self.looked = True
        return super().__iter__()

    def __eq__(self, other):
        self.looked = True
        if isinstance(other, Reply):
            other.looked = True
        return dict.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def call_site() -> str:
    """file:line of the test code that made the call (skipping this module)."""
    frame = sys._getframe(1)
    while frame and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{os.path.relpath(frame.f_code.co_filename, ROOT)}:{frame.f_lineno}"


CALL_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed


@pytest.fixture(autouse=True)
def every_reply_is_checked(request):
    """A test that passed but never read a reply it got fails at teardown, naming the call."""
    RpcProcess.started.clear()
    yield
    if not request.node.stash.get(CALL_PASSED, False):
        return
    unread = unread_replies(RpcProcess.started)
    if unread and request.node.nodeid not in UNCHECKED_ALLOWED:
        pytest.fail("replies never checked: " + ", ".join(unread))


def unread_replies(processes) -> list[str]:
    """'method at file:line' for each reply no test line looked at."""
    return [
        f"{method} at {where}"
        for process in processes
        for method, where, reply in process.replies
        if not reply.looked
    ]


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``python -c code`` in a fresh interpreter at the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT, timeout=60
    )


class RpcProcess:
    """bin/vime-rpc under test: send lines, read whole messages, call methods."""

    started: ClassVar[list[RpcProcess]] = []  # the processes of the running test

    def __init__(
        self,
        *args: str,
        env: dict | None = None,
        stderr_path: Path | None = None,
        cwd: Path | None = None,
    ):
        environment = {**os.environ, "VIME_PYTHON": sys.executable, **(env or {})}
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(RPC), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
            cwd=cwd,
        )
        self.lines: queue.Queue = queue.Queue()
        self.notifications: list = []
        self.replies: list[tuple[str, str, Reply]] = []  # (method, call site, reply)
        self._next_id = 0
        RpcProcess.started.append(self)
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: object) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def read_line(self, timeout: float = 30) -> bytes | None:
        return self.lines.get(timeout=timeout)

    def read(self, timeout: float = 30) -> object:
        line = self.read_line(timeout)
        assert line is not None, "vime-rpc closed stdout"
        assert line.endswith(b"\n")
        return json.loads(line)

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        """A Vim-form request; notifications read meanwhile are kept aside."""
        self._next_id += 1
        msg_id = self._next_id
        self.send([msg_id, {"method": method, "params": params}])
        while True:
            message = self.read(timeout)
            if message[0] == msg_id:
                reply = Reply(message[1])
                self.replies.append((method, call_site(), reply))
                return reply
            self.notifications.append(message)

    def opened(self, path) -> RpcProcess:
        """This process, after `open` of ``path`` succeeded."""
        reply = self.call("open", path=str(path))
        assert reply["ok"], reply
        return self

    def wait_notification(self, method: str, timeout: float = 60) -> dict:
        """The params of the first notification named ``method`` (Vim form)."""
        while True:
            for message in self.notifications:
                if message[0] == 0 and message[1].get("method") == method:
                    self.notifications.remove(message)
                    return message[1]["params"]
            self.notifications.append(self.read(timeout))

    def close_stdin(self) -> None:
        self.proc.stdin.close()

    def wait(self, timeout: float = 10) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """End the backend: EOF first (an orderly exit, which saves coverage data), then
        SIGKILL if it has not exited within 10 s."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):  # a dead backend's pipe
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()


@pytest.fixture(autouse=True, scope="session")
def results_folder(tmp_path_factory):
    """Compute results of every process the tests start stay out of the user's cache."""
    folder = tmp_path_factory.mktemp("results")
    previous = os.environ.get("VIME_RESULTS")
    os.environ["VIME_RESULTS"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("VIME_RESULTS", None)
    else:
        os.environ["VIME_RESULTS"] = previous


@pytest.fixture
def rpc(tmp_path):
    """A running bin/vime-rpc whose config and compute results live under tmp_path."""
    process = RpcProcess(
        env={
            "VIME_CONFIG": str(tmp_path / "config.json"),
            "VIME_RESULTS": str(tmp_path / "results"),
        },
        stderr_path=tmp_path / "rpc-stderr.log",
    )
    yield process
    process.stop()


ID_BLOCK = 100_000


class SharedBackend:
    """One bin/vime-rpc that the read-only tests of a module share (``shared_rpc``).

    Starting a backend that opens a file costs about a second of CPU (its fork
    server imports numpy, pandas and PyTables), far more than most tests spend
    of their own. A test gets the backend with no reply, notification or line
    of an earlier test; it opens its own files, so the default file is its own.
    A test that ends the backend gets it replaced for the next one. Tests that
    need a fresh backend (config, results, `close` of every file, restarts,
    jobs, signals) keep ``rpc``.
    """

    def __init__(self, folder: Path, env: dict | None = None):
        self.folder = folder
        self.env = env or {}
        self.process: RpcProcess | None = None
        self.started = 0

    def for_a_test(self) -> RpcProcess:
        process = self.process
        if process is None or process.proc.poll() is not None:
            if process is not None:
                process.stop()
            self.started += 1
            process = self.process = RpcProcess(
                env={
                    "VIME_CONFIG": str(self.folder / "config.json"),
                    "VIME_RESULTS": str(self.folder / "results"),
                    **self.env,
                },
                stderr_path=self.folder / f"rpc-stderr-{self.started}.log",
            )
            return process  # RpcProcess lists itself among the test's processes
        while not process.lines.empty():  # late notifications of the test before
            process.lines.get_nowait()
        process.notifications.clear()
        process.replies.clear()
        # The test's calls count from a fresh base, clear of the small ids that tests
        # send themselves (send([7, {...}])) and of the ids of earlier tests.
        process._next_id = (process._next_id // ID_BLOCK + 1) * ID_BLOCK
        RpcProcess.started.append(process)
        return process

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture(scope="module")
def shared_backend(tmp_path_factory):
    """A module may override this fixture to give its shared backend an environment."""
    backend = SharedBackend(tmp_path_factory.mktemp("shared-backend"))
    yield backend
    backend.stop()


@pytest.fixture
def shared_rpc(shared_backend):
    """The module's shared bin/vime-rpc (see SharedBackend), for a test that only reads."""
    return shared_backend.for_a_test()


@pytest.fixture
def pandas_file(tmp_path):
    """A small pandas file: /data (table format), /group/fixed (fixed format)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = 1000
    frame = pd.DataFrame(
        {
            "v0": rng.normal(size=rows),
            "v1": rng.normal(size=rows) * 10,
            "n": np.arange(rows, dtype="int64"),
            "flag": np.arange(rows) % 2 == 0,
            "label": [f"row{i}" for i in range(rows)],
        }
    )
    path = tmp_path / "sample.h5"
    frame.to_hdf(path, key="data", format="table", data_columns=True)
    frame.iloc[:100].to_hdf(path, key="group/fixed", format="fixed")
    return path
