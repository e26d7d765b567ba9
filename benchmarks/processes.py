"""Fresh child processes, each spawned by the fixed launcher so that its peak RSS is its own.

Two kinds of children: a Python child running one operation from
``benchmarks.children`` (it prints one JSON line with its own timing), and
``bin/vime-rpc`` driven over its pipes in the Vim channel form. Both are
started by ``benchmarks/launcher.py`` (see there why), which reports each
child's ``ru_maxrss`` when it exits. ``TreePeak`` adds the worker processes
a backend forks, for the rows that count them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RPC = ROOT / "bin" / "vime-rpc"
LAUNCHER = Path(__file__).resolve().parent / "launcher.py"


class BenchError(Exception):
    """An operation failed: its row reports this message instead of a number."""


class BenchSkipped(Exception):
    """A row cannot run on this machine (no editor, no disk space): its row says why."""


@dataclass
class Sample:
    seconds: float
    rss_mb: float | None  # the child's own peak RSS; None when not measured
    check: object = None  # what the row's check compares (values, not timings)
    extra: dict = field(default_factory=dict)
    pss_mb: float | None = None  # a process tree's peak PSS, beside its summed RSS
    # (vime-rpc, its fork servers, its workers) peaks, in MB, that rss_mb sums
    parts_mb: tuple[float, float, float] | None = None


# -- the launcher ------------------------------------------------------------------
class Launcher:
    """The client side of benchmarks/launcher.py."""

    def __init__(self, python: str = sys.executable):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = mine
        self._lock = threading.Lock()
        self._exits: dict[int, tuple[int, float]] = {}
        self.proc = subprocess.Popen(
            [python, "-I", "-S", str(LAUNCHER), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()

    def spawn(self, argv: list[str], stdio: tuple[int, int, int], env=None, cwd=ROOT) -> int:
        """Start ``argv`` with the three descriptors as its stdin, stdout, stderr; its pid."""
        request = {"argv": argv, "env": dict(os.environ if env is None else env), "cwd": str(cwd)}
        with self._lock:
            socket.send_fds(self._socket, [json.dumps(request).encode()], list(stdio))
            while True:
                message = self._receive(timeout=30)
                if message is None:
                    raise BenchError("the launcher did not answer within 30 s")
                if "spawned" in message:
                    return message["spawned"]

    def reap(self, pid: int, timeout: float) -> tuple[int, float]:
        """Wait for the child's exit: (exit code, peak RSS in MB); kill it after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while pid not in self._exits:
                left = deadline - time.monotonic()
                if left <= 0:
                    kill(pid)  # not reaped by the launcher yet, so the pid is still this child's
                    while pid not in self._exits:
                        self._receive(timeout=30)
                    self._exits.pop(pid)
                    raise BenchError(f"pid {pid} did not exit within {timeout:.0f} s (killed)")
                self._receive(timeout=left)
            return self._exits.pop(pid)

    def _receive(self, timeout: float) -> dict | None:
        """One message from the launcher (an exit is recorded); None on timeout."""
        self._socket.settimeout(timeout)
        try:
            data = self._socket.recv(1 << 16)
        except TimeoutError:
            return None
        if not data:
            raise BenchError("the launcher process ended")
        message = json.loads(data)
        if "exited" in message:
            self._exits[message["exited"]] = (message["code"], message["peak_kib"] / 1024)
        return message

    def close(self) -> None:
        self._socket.close()
        self.proc.wait(timeout=10)


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


_launcher: Launcher | None = None


def launcher() -> Launcher:
    """The one launcher of this harness, started on first use."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()
        atexit.register(_launcher.close)
    return _launcher


# -- memory of a process tree ---------------------------------------------------------
def status_mb(pid: int, field: str) -> float | None:
    """A memory field of /proc/<pid>/status (VmHWM, VmRSS) in MB, or None once it exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def vm_hwm_mb(pid: int) -> float | None:
    """The process's own peak RSS so far (VmHWM), or None once it has exited."""
    return status_mb(pid, "VmHWM")


def children(pid: int) -> list[int]:
    """The process's children, from /proc/<pid>/task/*/children (every thread's)."""
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as listing:
                found += [int(child) for child in listing.read().split()]
        except OSError:
            continue
    return found


IDLE_FOR = 0.2  # seconds without CPU time for a process to count as idle


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process, in clock ticks; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def wait_until_idle(pids: list[int], deadline: float) -> None:
    """Wait until none of ``pids`` used CPU for IDLE_FOR seconds: a fork server told to
    import pandas by a warm-up's worker does so after that worker has exited."""
    before = [cpu_ticks(pid) for pid in pids]
    while time.monotonic() < deadline:
        time.sleep(IDLE_FOR)
        now = [cpu_ticks(pid) for pid in pids]
        if now == before:
            return
        before = now


def descendants(root: int) -> list[int]:
    found, queue = [], [root]
    while queue:
        kids = children(queue.pop())
        found += kids
        queue += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user + system) the processes have used so far, summed; a process
    that has exited counts nothing."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def pss_mb(pid: int) -> float | None:
    """The process's proportional set size now (a shared page counts 1/n per sharer)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class TreePeak:
    """The peak RSS of a process's descendants (its workers), summed, sampled until it exits.

    Each descendant's VmHWM only grows, so its last reading is its peak as far as
    sampling saw it; a worker that lives less than one interval may be missed.
    Summing per-process peaks counts pages that forked workers share with their
    parent once per process: an upper bound, as a row that sums should be. Beside
    it, ``pss_peak`` is the highest sum of the PSS of the whole tree (the root
    included) seen at one sample: shared pages counted once, split among sharers.
    PSS is sampled only every half second, so it is a lower bound of the peak:
    reading smaps_rollup walks a process's page tables under its memory map
    lock, which slows a process that allocates (`info` of 1M rows took 1.3x as
    long with PSS read every 100 ms, and as long as unobserved every 500 ms).
    """

    def __init__(self, root: int, interval: float = 0.01, pss_interval: float = 0.5):
        self.root = root
        self.interval = interval
        self.pss_every = max(1, round(pss_interval / interval))
        self.peaks: dict[int, float] = {}
        self.servers: set[int] = set()  # the root's own children: its fork servers
        self.pss_peak = 0.0
        self._stop = threading.Event()
        self._pss_now = threading.Event()  # read PSS at the next sample, not in 0.5 s
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        samples = 0
        while not self._stop.is_set() and os.path.exists(f"/proc/{self.root}"):
            tree = descendants(self.root)
            servers = set(children(self.root))
            with self._lock:
                self.servers |= servers
            for pid in tree:
                peak = vm_hwm_mb(pid)
                if peak is not None:
                    with self._lock:
                        self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))
            if samples % self.pss_every == 0 or self._pss_now.is_set():
                self._pss_now.clear()
                tree_pss = sum(pss_mb(pid) or 0.0 for pid in [self.root, *tree])
                with self._lock:
                    self.pss_peak = max(self.pss_peak, tree_pss)
            samples += 1
            self._stop.wait(self.interval)

    def forget_ended(self, timeout: float) -> None:
        """Wait (up to ``timeout`` s) for the workers, the root's grandchildren, to exit,
        then drop the peaks of every process that has ended, and the tree's PSS peak so
        far: a warm-up's worker, gone before the measured request is sent, never shares
        the machine with it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(children(child) for child in children(self.root)):
            time.sleep(self.interval)
        wait_until_idle(children(self.root), deadline)
        with self._lock:
            alive = set(descendants(self.root))
            self.peaks = {pid: peak for pid, peak in self.peaks.items() if pid in alive}
            self.pss_peak = 0.0  # the tree's PSS while the warm-up ran is not the request's
        self._pss_now.set()

    def stop(self) -> float:
        """Stop sampling; the summed peaks of the descendants seen, in MB."""
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values())

    def split(self) -> tuple[float, float]:
        """The summed peaks of (the fork servers, the workers), in MB."""
        servers = sum(peak for pid, peak in self.peaks.items() if pid in self.servers)
        return servers, sum(self.peaks.values()) - servers


# -- children ---------------------------------------------------------------------------
def stderr_tail(path: Path) -> str:
    """The last line a child wrote to stderr: for a traceback, the exception itself."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][-300:] if lines else "(no stderr)"


class LineReader:
    """Whole lines from a pipe, with a timeout, without a reader thread."""

    def __init__(self, fd: int):
        self._fd = fd
        self._buffer = bytearray()
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
        end = self._buffer.index(b"\n")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def has_line(self) -> bool:
        """Whether a whole line can be read now, without waiting (EOF counts)."""
        while b"\n" not in self._buffer and self._selector.select(0):
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                return True
            self._buffer += chunk
        return b"\n" in self._buffer

    def close(self) -> None:
        self._selector.close()
        os.close(self._fd)


def error_file(workdir: Path, prefix: str) -> Path:
    return Path(tempfile.mkstemp(prefix=prefix, suffix=".err", dir=workdir)[1])


def spawn_with_pipes(argv: list[str], err_path: Path, env=None) -> tuple[int, int, int]:
    """Launch ``argv`` with a pipe on stdin and stdout: (pid, stdin fd, stdout fd)."""
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    with open(err_path, "wb") as err:
        try:
            pid = launcher().spawn(argv, (stdin_read, stdout_write, err.fileno()), env)
        finally:
            os.close(stdin_read)
            os.close(stdout_write)
    return pid, stdin_write, stdout_read


def run_python_child(
    python: str, operation: str, args: dict, timeout: float, workdir: Path, env=None
) -> tuple[dict, float, float]:
    """Run one operation of ``benchmarks.children`` in a fresh interpreter (``env``: its
    environment, by default this one's).

    Returns (the child's JSON result, seconds from spawn to its result line
    as seen here, peak RSS in MB).
    """
    err_path = error_file(workdir, "child-")
    started = time.perf_counter()
    argv = [python, "-m", "benchmarks.children", operation, json.dumps(args)]
    pid, stdin, stdout = spawn_with_pipes(argv, err_path, env)
    os.close(stdin)
    reader = LineReader(stdout)
    try:
        line = reader.read_line(timeout)
        wall = time.perf_counter() - started
    except BenchError:
        kill(pid)
        raise
    finally:
        reader.close()
        code, rss = launcher().reap(pid, timeout)
    if code != 0 or not line:
        raise BenchError(f"{operation} exited {code}: {stderr_tail(err_path)}")
    err_path.unlink()
    return json.loads(line), wall, rss


def run_command(command: list[str], timeout: float) -> tuple[float, float]:
    """Launch a command and wait for it: (seconds from spawn to exit, peak RSS MB)."""
    with open(os.devnull, "r+b") as null:
        started = time.perf_counter()
        pid = launcher().spawn(command, (null.fileno(), null.fileno(), null.fileno()))
    code, rss = launcher().reap(pid, timeout)
    seconds = time.perf_counter() - started
    if code != 0:
        raise BenchError(f"{command[0]} exited {code}")
    return seconds, rss


class RpcChild:
    """A fresh bin/vime-rpc speaking the Vim channel form over its pipes.

    ``with_workers``: finish() adds the summed peaks of the processes the
    backend forks (its workers) to its own, and ``pss_mb`` is then the peak
    PSS of the whole tree. Compute results go to the scratch folder's
    ``results`` unless ``env`` names another ``VIME_RESULTS``.
    """

    def __init__(
        self,
        python: str,
        workdir: Path,
        timeout: float,
        with_workers: bool = False,
        env: dict | None = None,
    ):
        self.timeout = timeout
        self.notifications: list[dict] = []
        self.returncode: int | None = None
        self.pss_mb: float | None = None
        self.parts_mb: tuple[float, float, float] | None = None
        self._replies: dict[int, dict] = {}  # replies read while waiting for another
        self._next_id = 0
        self._err_path = error_file(workdir, "rpc-")
        # Compute results must not leak between backends (an `open` lists them) or into
        # the user's cache: each backend has a folder of its own, removed with it.
        self._results = (
            None
            if env and "VIME_RESULTS" in env
            else tempfile.mkdtemp(prefix="results-", dir=workdir)
        )
        env = {
            **os.environ,
            "VIME_PYTHON": python,
            "VIME_CONFIG": str(workdir / "vime-config.json"),  # saved column orders
            **({"VIME_RESULTS": self._results} if self._results else {}),
            **(env or {}),
        }
        self.started = time.perf_counter()
        self.pid, stdin, stdout = spawn_with_pipes([str(RPC)], self._err_path, env)
        self._stdin = os.fdopen(stdin, "wb")
        self._reader = LineReader(stdout)
        self._workers = TreePeak(self.pid) if with_workers else None

    def __enter__(self) -> RpcChild:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Kill the backend unless finish() has reaped it already."""
        if self.returncode is None:
            kill(self.pid)
            self.returncode, _ = launcher().reap(self.pid, self.timeout)
        if self._workers:
            self._workers.stop()
        self._reader.close()
        if not self._stdin.closed:
            self._stdin.close()
        if self._results:
            shutil.rmtree(self._results, ignore_errors=True)

    def send(self, method: str, **params) -> int:
        self._next_id += 1
        line = json.dumps([self._next_id, {"method": method, "params": params}]) + "\n"
        self._stdin.write(line.encode())
        self._stdin.flush()
        return self._next_id

    def _read(self) -> None:
        """One message: a reply is kept by its id, a notification in the list."""
        line = self._reader.read_line(self.timeout)
        if line is None:
            raise BenchError(f"vime-rpc closed stdout: {stderr_tail(self._err_path)}")
        message = json.loads(line)
        if message[0] == 0:
            self.notifications.append(message[1])
        else:
            self._replies[message[0]] = message[1]

    def outcome(self, msg_id: int) -> dict:
        """The reply to ``msg_id`` as it came, an error included."""
        while msg_id not in self._replies:
            self._read()
        return self._replies.pop(msg_id)

    def reply(self, msg_id: int) -> dict:
        """The result for ``msg_id``; an error reply is a BenchError."""
        result = self.outcome(msg_id)
        if not result.get("ok"):
            raise BenchError(f"{result.get('error')} (code {result.get('code')})")
        return result

    def arrived(self, msg_id: int) -> bool:
        """Whether the reply to ``msg_id`` is here, reading only what is already sent."""
        while msg_id not in self._replies and self._reader.has_line():
            self._read()
        return msg_id in self._replies

    def notified(self, names: set[str]) -> bool:
        """Whether a notification named in ``names`` is here (without waiting)."""
        while self._reader.has_line():
            self._read()
        return any(message.get("method") in names for message in self.notifications)

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
            self._read()

    def forget_warm_up(self) -> None:
        """Count from here on only the processes still running (the backend, its fork
        server) and those yet to come: the measured request's workers."""
        if self._workers:
            self._workers.forget_ended(self.timeout)

    def rss_mb(self) -> float:
        """Current resident set size of the backend, from /proc."""
        rss = status_mb(self.pid, "VmRSS")
        if rss is None:
            raise BenchError("VmRSS missing from /proc")
        return rss

    def finish(self) -> float:
        """Close stdin (the backend exits on EOF); its own peak RSS in MB, plus its
        workers' with ``with_workers``.

        The backend's own peak is its VmHWM read before EOF (after EOF it only exits):
        its ru_maxrss would be the largest of its own and of the processes it reaped,
        its fork server included.
        """
        own = vm_hwm_mb(self.pid)
        if own is None:
            raise BenchError(f"vime-rpc exited before EOF: {stderr_tail(self._err_path)}")
        self._stdin.close()
        try:
            self.returncode, _ = launcher().reap(self.pid, self.timeout)
        except BenchError:
            self.returncode = -signal.SIGKILL  # reaped after the kill
            raise
        if self.returncode != 0:
            raise BenchError(f"vime-rpc exited {self.returncode}: {stderr_tail(self._err_path)}")
        self._err_path.unlink()
        if self._workers is None:
            return own
        workers = self._workers.stop()
        self.pss_mb = self._workers.pss_peak or None  # None: no sample since the warm-up
        self.parts_mb = (own, *self._workers.split())
        return own + workers

    def sample(self, seconds: float, check=None, **extra) -> Sample:
        """The Sample of a measurement on this backend, after finish()."""
        rss = self.finish()
        return Sample(seconds, rss, check=check, extra=extra, pss_mb=self.pss_mb,
                      parts_mb=self.parts_mb)  # fmt: skip
