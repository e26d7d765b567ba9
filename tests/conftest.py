"""Shared test tools: a client that drives the real bin/vime-rpc subprocess."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RPC = ROOT / "bin" / "vime-rpc"


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``python -c code`` in a fresh interpreter at the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT, timeout=60
    )


class RpcProcess:
    """bin/vime-rpc under test: send lines, read whole messages, call methods."""

    def __init__(self, *args: str, env: dict | None = None, stderr_path: Path | None = None):
        environment = {**os.environ, "VIME_PYTHON": sys.executable, **(env or {})}
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(RPC), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
        )
        self.lines: queue.Queue = queue.Queue()
        self.notifications: list = []
        self._next_id = 0
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
                return message[1]
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
        if self.proc.poll() is None:
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
