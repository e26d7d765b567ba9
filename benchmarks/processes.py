"""Fresh child processes, each reaped with wait4 so that its peak RSS is its own.

Two kinds of children: a Python child running one operation from
``benchmarks.children`` (it prints one JSON line with its own timing), and
``bin/vime-rpc`` driven over its pipes in the Vim channel form.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RPC = ROOT / "bin" / "vime-rpc"


class BenchError(Exception):
    """An operation failed: its row reports this message instead of a number."""


@dataclass
class Sample:
    seconds: float
    rss_mb: float | None  # peak RSS of the child (ru_maxrss); None when not measured
    check: object = None  # a result to compare between vime and the baseline
    extra: dict = field(default_factory=dict)


def reap(proc: subprocess.Popen, timeout: float) -> tuple[int, float]:
    """Wait for the child with wait4; return (exit code, peak RSS in MB)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss / 1024  # Linux reports KiB
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise BenchError(f"pid {proc.pid} did not exit within {timeout:.0f} s (killed)")
        time.sleep(0.002)


def stderr_tail(path: Path) -> str:
    """The last line a child wrote to stderr: for a traceback, the exception itself."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][-300:] if lines else "(no stderr)"


class LineReader:
    """Whole lines from a pipe, with a timeout, without a reader thread."""

    def __init__(self, stream):
        self._fd = stream.fileno()
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)

    def read_line(self, timeout: float) -> bytes | None:
        """One line without its newline; None at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise BenchError(f"no reply within {timeout:.0f} s")
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        self._selector.close()


def run_python_child(
    python: str, operation: str, args: dict, timeout: float, workdir: Path
) -> tuple[dict, float, float]:
    """Run one operation of ``benchmarks.children`` in a fresh interpreter.

    Returns (the child's JSON result, seconds from spawn to its result line
    as seen here, peak RSS in MB).
    """
    err_path = Path(tempfile.mkstemp(prefix="child-", suffix=".err", dir=workdir)[1])
    with open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "benchmarks.children", operation, json.dumps(args)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    reader = LineReader(proc.stdout)
    try:
        line = reader.read_line(timeout)
        wall = time.perf_counter() - started
        code, rss = reap(proc, timeout)
    except BenchError:
        proc.kill()
        raise
    finally:
        reader.close()
        proc.stdout.close()
    if code != 0 or not line:
        raise BenchError(f"{operation} exited {code}: {stderr_tail(err_path)}")
    err_path.unlink()
    return json.loads(line), wall, rss


def run_command(command: list[str], timeout: float) -> tuple[float, float]:
    """Spawn a command and wait for it: (seconds from spawn to exit, peak RSS MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    code, rss = reap(proc, timeout)
    seconds = time.perf_counter() - started
    if code != 0:
        raise BenchError(f"{command[0]} exited {code}")
    return seconds, rss


class RpcChild:
    """A fresh bin/vime-rpc speaking the Vim channel form over its pipes."""

    def __init__(self, python: str, workdir: Path, timeout: float):
        self.timeout = timeout
        self.notifications: list[dict] = []
        self._next_id = 0
        self._err_path = Path(tempfile.mkstemp(prefix="rpc-", suffix=".err", dir=workdir)[1])
        env = {
            **os.environ,
            "VIME_PYTHON": python,
            # Saved column orders must not leak between runs or into the user's config.
            "VIME_CONFIG": str(workdir / "vime-config.json"),
        }
        with open(self._err_path, "wb") as err:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                [str(RPC)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env
            )
        self._reader = LineReader(self.proc.stdout)

    def __enter__(self) -> RpcChild:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Kill the backend unless finish() has reaped it already."""
        if self.proc.returncode is None:
            self.proc.kill()
            os.wait4(self.proc.pid, 0)
            self.proc.returncode = -9
        self._reader.close()
        self.proc.stdout.close()

    def send(self, method: str, **params) -> int:
        self._next_id += 1
        line = json.dumps([self._next_id, {"method": method, "params": params}]) + "\n"
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        return self._next_id

    def _read(self) -> list:
        line = self._reader.read_line(self.timeout)
        if line is None:
            raise BenchError(f"vime-rpc closed stdout: {stderr_tail(self._err_path)}")
        return json.loads(line)

    def reply(self, msg_id: int) -> dict:
        """The result for ``msg_id``; notifications read meanwhile are kept."""
        while True:
            message = self._read()
            if message[0] == msg_id:
                result = message[1]
                if not result.get("ok"):
                    raise BenchError(f"{result.get('error')} (code {result.get('code')})")
                return result
            self.notifications.append(message[1])

    def call(self, method: str, **params) -> dict:
        return self.reply(self.send(method, **params))

    def timed_call(self, method: str, **params) -> tuple[dict, float]:
        """The result and the seconds from writing the request to reading the reply."""
        started = time.perf_counter()
        result = self.call(method, **params)
        return result, time.perf_counter() - started

    def notification(self, names: set[str]) -> dict:
        """The first pushed notification whose method is in ``names``."""
        while True:
            for message in self.notifications:
                if message.get("method") in names:
                    self.notifications.remove(message)
                    return message
            self.notifications.append(self._read()[1])

    def rss_mb(self) -> float:
        """Current resident set size of the backend, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise BenchError("VmRSS missing from /proc")

    def finish(self) -> float:
        """Close stdin (the backend exits on EOF) and return its peak RSS in MB."""
        self.proc.stdin.close()
        code, rss = reap(self.proc, self.timeout)
        if code != 0:
            raise BenchError(f"vime-rpc exited {code}: {stderr_tail(self._err_path)}")
        self._err_path.unlink()
        return rss
