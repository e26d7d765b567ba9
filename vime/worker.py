"""Heavy requests in killable child processes.

The request loop pages, lists and answers; everything that may read more than
a page (plots, info, export, compute, search) runs in a child process:

* ``vime-rpc`` starts one *fork server* at the first ``open``: a Python process
  that imports numpy and h5py once (pandas and PyTables once a child has needed
  them) and opens no file.
* Each heavy request forks a child of it (a few milliseconds, imports already
  paid). The child opens the files it needs read-only, runs the same handler
  the loop would, and streams JSON lines back over its own socket: progress,
  notifications, and finally the result or the error.
* A child can be killed at once, whatever it is doing (GIL-bound arithmetic,
  a C call inside HDF5); it runs under an address-space limit; and a crash in
  HDF5, PyTables or a filter plugin ends only that child. Its request then
  gets one error naming the signal.

Nothing outlives ``vime-rpc``: the fork server exits when its control socket
reaches EOF (the parent died, however), and every child has PR_SET_PDEATHSIG
set to SIGKILL, so it dies with the fork server.

This module has both sides: ``Workers`` and ``Task`` live in vime-rpc;
``serve_forks`` and ``run_child`` run in the fork server and its children.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from vime.errors import (
    Cancelled,
    InternalError,
    MemoryLimit,
    VimeError,
    WorkerDied,
    error_class,
)
from vime.sizes import format_size, size_setting

PROGRESS_AFTER = 0.5  # seconds before a request's first progress notification
PROGRESS_INTERVAL = 0.25  # then at most 4 a second
START_TIMEOUT = 60.0  # seconds to wait for the fork server's imports
EXIT_REPORT_WAIT = 2.0  # seconds to wait for a dead child's exit status
# What every child may use, imported once by the fork server. pandas is not among them:
# a plot or a search of numbers needs only numpy and h5py, and pandas would add 40 MB to
# the fork server and to each child. A child that imports pandas (info, compute, export, a
# query, a page of strings) says so, and the server then preloads PANDAS_PRELOAD too.
PRELOAD = (
    "numpy",
    "numpy.ma",  # numpy imports it on first use (np.unique does): 30 ms in each child
    "encodings.utf_32_le",  # the plot engine's braille text
    "h5py",
    "resource",  # what every child uses: its memory limit, its replies
    "vime.protocol",
    "vime.state",
    "vime.loaders",
    "vime.plot",
    "vime.heatmap",
    "vime.search",
    "vime.results",
    "vime.handlers.data",  # the handler table imports its modules on first use
    "vime.handlers.plot",
    "vime.handlers.search",
    "vime.handlers.compute",
    "vime.handlers.watch",
)
PANDAS_PRELOAD = (
    "pandas",
    "tables",
    "tabulate",
    "vime.loaders.describe",
    "vime.loaders.format",
    "vime.expressions",
    "vime.compute",
    "vime.export",
    "vime.storewriter",
)


def job_memory_limit() -> int:
    """Bytes of address space per child: VIME_JOB_MEMORY, else min(4 GiB, RAM / 2)."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return size_setting("VIME_JOB_MEMORY", min(4 << 30, ram // 2))


# -- vime-rpc's side ----------------------------------------------------------------
class Task:
    """One request running in a child; ``on_message`` gets each line it sends.

    ``on_finish(result, error)`` runs exactly once: with the child's result
    dict, or with a VimeError (the child's, a cancel, or its death).
    """

    def __init__(self, task_id: int, payload: dict, what: str, on_message, on_finish,
                 request_id=None):  # fmt: skip
        self.id = task_id
        self.request_id = request_id  # of the request it answers, for `cancel`
        self.payload = payload
        self.what = what  # how errors name the work: 'plot of file.h5:/x'
        self.on_message = on_message
        self._on_finish = on_finish
        self.pid: int | None = None
        self.exit_status: int | None = None
        self.cleanup: list[str] = []  # files the child writes; removed unless it finishes
        self._finished = False
        self.failed = False
        self._lock = threading.Lock()
        self._exited = threading.Event()
        self._forked = threading.Event()

    def finish(self, result: dict | None, error: VimeError | None) -> bool:
        """Deliver the outcome once; later outcomes (a kill after the result) are dropped."""
        with self._lock:
            if self._finished:
                return False
            self._finished = True
        self.failed = error is not None
        self._on_finish(result, error)
        return True

    @property
    def finished(self) -> bool:
        return self._finished

    def forked(self, pid: int) -> None:
        self.pid = pid
        self._forked.set()
        if self._finished:  # cancelled while the fork server was still starting
            self.kill()

    def exited(self, status: int) -> None:
        self.exit_status = status
        self._exited.set()

    def kill(self) -> None:
        if self._forked.wait(EXIT_REPORT_WAIT) and self.pid and not self._exited.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait_exit(self, timeout: float) -> bool:
        return self._exited.wait(timeout)

    def death_error(self) -> VimeError:
        """The error for a child that ended without sending its outcome."""
        self.wait_exit(EXIT_REPORT_WAIT)
        status = self.exit_status
        if status is not None and os.WIFSIGNALED(status):
            how = signal.Signals(os.WTERMSIG(status)).name
        elif status is not None:
            how = f"exit status {os.WEXITSTATUS(status)}"
        else:
            how = "unknown cause"
        return WorkerDied(f"the worker process died ({how}) during {self.what}")


class Workers:
    """The fork server and the running tasks, seen from vime-rpc."""

    def __init__(self, log_file: str | None = None, debug: bool = False):
        self._log_file = log_file
        self._debug = debug
        self._server: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._tasks: dict[int, Task] = {}
        self._by_pid: dict[int, Task] = {}
        self._next_id = 0
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._also_preload: list[str] = []  # modules asked for since: sent to each server

    # -- the fork server ------------------------------------------------------------
    def start(self) -> None:
        """Start the fork server in the background (idempotent, never blocks long)."""
        with self._start_lock:
            if self._server is not None:
                return
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
            if self._log_file:
                env["VIME_LOG"] = self._log_file
            if self._debug:
                env["VIME_DEBUG"] = "1"
            code = "from vime.worker import serve_forks; serve_forks()"
            self._server = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno(),  # never the protocol stream
                env=env,
                close_fds=True,
            )
            theirs.close()
            self._control = ours
            for module in self._also_preload:
                self._send_preload(module)
            threading.Thread(target=self._read_control, name="vime-forks", daemon=True).start()

    def preload(self, module: str) -> None:
        """Have the fork server import ``module`` too (before its next fork), e.g. the HSDS
        reader once a domain is open: h5pyd costs every server 60 ms and 12 MB otherwise."""
        if module in self._also_preload:
            return
        self._also_preload.append(module)
        if self._control is not None:
            self._send_preload(module)

    def _send_preload(self, module: str) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # a dead server: the restart sends it
            self._control.send(json.dumps({"preload": module}).encode())

    def _read_control(self) -> None:
        """Messages from the fork server: ready, forked {task, pid}, exited {pid, status}."""
        control = self._control
        while True:
            try:
                data = control.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "ready" in message:
                self._ready.set()
            elif "forked" in message:
                task = self._tasks.get(message["forked"])
                if task is not None:
                    self._by_pid[message["pid"]] = task
                    task.forked(message["pid"])
            elif "exited" in message:
                task = self._by_pid.pop(message["exited"], None)
                if task is not None:
                    task.exited(message["status"])
        self._start_error = self._start_error or "the fork server exited"
        self._ready.set()
        for task in list(self._tasks.values()):
            task.exited(-1)

    def _wait_ready(self) -> None:
        self.start()
        if not self._ready.wait(START_TIMEOUT):
            raise WorkerDied(f"the worker process did not start within {START_TIMEOUT:.0f} s")
        if self._start_error:
            self._restart()

    def _restart(self) -> None:
        """A dead fork server is replaced on the next heavy request."""
        with self._start_lock:
            if self._server is not None:
                self._server.kill()
                self._server.wait()
            self._server = None
            self._ready.clear()
            self._start_error = None
        self.start()
        if not self._ready.wait(START_TIMEOUT) or self._start_error:
            raise WorkerDied(f"the worker process cannot start: {self._start_error}")

    # -- tasks -----------------------------------------------------------------------
    def submit(self, payload: dict, what: str, on_message, on_finish, request_id=None) -> Task:
        """Run ``payload`` ({method, params, state, what}) in a new child; returns at once."""
        self._next_id += 1
        task = Task(self._next_id, payload, what, on_message, on_finish, request_id)
        self._tasks[task.id] = task
        threading.Thread(target=self._run, args=(task,), name=f"vime-task-{task.id}",
                         daemon=True).start()  # fmt: skip
        return task

    def _run(self, task: Task) -> None:
        try:
            self._wait_ready()
            if task.finished:  # cancelled before it started
                return
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            with self._send_lock:
                socket.send_fds(self._control, [json.dumps({"fork": task.id}).encode()],
                                [theirs.fileno()])  # fmt: skip
            theirs.close()
            with ours, ours.makefile("rwb") as stream:
                stream.write(json.dumps(task.payload).encode() + b"\n")
                stream.flush()
                self._relay(task, stream)
        except VimeError as exc:
            task.finish(None, exc)
        except Exception as exc:  # a bug here must still answer the request
            _log().exception("task %d failed", task.id)
            task.finish(None, InternalError(f"{task.what}: {type(exc).__name__}: {exc}"))
        finally:
            # Registered until its files are gone, so stop() removes them if the
            # backend exits meanwhile.
            if task.failed:  # only once the child is gone: a killed one may still be writing
                if task.pid:
                    task.wait_exit(EXIT_REPORT_WAIT)
                _remove_files(task.cleanup)
            self._tasks.pop(task.id, None)

    def _relay(self, task: Task, stream) -> None:
        for line in stream:
            message = json.loads(line)
            if "result" in message:
                task.finish(message["result"], None)
                return
            if "error" in message:
                task.finish(None, _error_from(message["error"]))
                return
            if "cleanup" in message:
                task.cleanup.append(message["cleanup"])
            elif "imported" in message:  # the next children find pandas imported
                for module in PANDAS_PRELOAD:
                    self.preload(module)
            else:
                task.on_message(message)
        if not task.finished:
            task.finish(None, task.death_error())

    def cancel(self, task: Task, reason: VimeError | None = None) -> None:
        """Kill the task's child; its request gets ``reason`` (Cancelled) at once."""
        error = reason or Cancelled(f"{task.what}: cancelled")
        if task.finish(None, error):
            threading.Thread(target=task.kill, daemon=True).start()

    def running(self) -> list[Task]:
        return [task for task in self._tasks.values() if not task.finished]

    def stop(self) -> None:
        """Kill every child and the fork server; remove what the children were writing."""
        tasks = list(self._tasks.values())
        for task in tasks:
            if task.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(task.pid, signal.SIGKILL)
        for task in tasks:  # a killed child may still be on a CPU for a moment
            if task.pid:
                task.wait_exit(0.5)
            _remove_files(task.cleanup)
        if self._server is not None:
            self._server.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._server.wait(1)
        if self._control is not None:
            self._control.close()


def _error_from(fields: dict) -> VimeError:
    cls = error_class(fields.get("code", InternalError.code))
    return cls(fields.get("message", "unknown error"), **fields.get("data", {}))


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)


def _log():
    import logging

    return logging.getLogger("vime.worker")


# -- the fork server --------------------------------------------------------------------
def serve_forks() -> None:
    """Main of the fork server: preload, then fork one child per request until EOF."""
    control = socket.socket(fileno=int(sys.argv[1]))
    _setup_child_logging()
    prepare_for_forks()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    try:
        control.send(b'{"ready": true}')
    except OSError:  # vime-rpc is gone already: nothing to serve, nothing to report
        os._exit(0)
    try:
        _fork_loop(control, wake_read)
    finally:
        os._exit(0)  # children follow through PR_SET_PDEATHSIG


def prepare_for_forks() -> None:
    """Import what children use, so that none imports it again, and freeze it."""
    import vime

    vime.defer_pyarrow()
    for name in PRELOAD:
        _import(name)
    _freeze()


def _import(name: str) -> None:
    import importlib

    try:
        importlib.import_module(name)
    except Exception:  # a missing optional library is reported by the request needing it
        _log().warning("worker preload: cannot import %s", name, exc_info=True)


def _freeze() -> None:
    """A child's full collection would walk every preloaded object (50 ms here) and copy
    the pages it touches: frozen objects are left out of collections."""
    gc.collect()
    gc.freeze()


def _fork_loop(control: socket.socket, wake_read: int) -> None:
    import select

    while True:
        readable, _, _ = select.select([control, wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 512)
            _report_exits(control)
        if control in readable:
            try:
                data, fds, _flags, _addr = socket.recv_fds(control, 4096, 1)
            except OSError:
                return
            if not data:
                return  # vime-rpc is gone
            request = json.loads(data)
            if "preload" in request:
                _import(request["preload"])
                _freeze()
                continue
            pid = _fork_child(fds[0], [control.fileno(), wake_read])
            os.close(fds[0])
            control.send(json.dumps({"forked": request["fork"], "pid": pid}).encode())


def _report_exits(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(json.dumps({"exited": pid, "status": status}).encode())


def _fork_child(fd: int, close: list[int]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for other in close:
            os.close(other)
        _die_with_parent(parent)
        _limit_memory()
        with socket.socket(fileno=fd) as channel, channel.makefile("rwb") as stream:
            run_child(stream)
    finally:
        os._exit(0)


def _die_with_parent(parent: int) -> None:
    import ctypes

    pr_set_pdeathsig = 1
    # Not on Linux, there is no prctl: the fork server's end still ends us.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the fork server died before prctl
        os._exit(1)


def _limit_memory() -> None:
    import resource

    limit = job_memory_limit()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _setup_child_logging() -> None:
    log_file = os.environ.get("VIME_LOG")
    debug = bool(os.environ.get("VIME_DEBUG"))
    if log_file or debug:
        from vime.__main__ import setup_logging

        setup_logging(log_file, debug)


# -- a child ------------------------------------------------------------------------------
class Throttle:
    """True at most once per ``interval`` seconds, and not before ``after`` seconds."""

    def __init__(self, interval: float = PROGRESS_INTERVAL, after: float = 0.0,
                 clock=time.monotonic):  # fmt: skip
        self.interval, self.clock = interval, clock
        self.started = clock()
        self.after = after
        self.last: float | None = None

    def ready(self) -> bool:
        now = self.clock()
        if now - self.started < self.after:
            return False
        if self.last is not None and now - self.last < self.interval:
            return False
        self.last = now
        return True


class Progress:
    """``state.progress`` in a child: `progress` lines to vime-rpc, after 0.5 s, 4 a second."""

    def __init__(self, send: Callable[[dict], None], clock=time.monotonic):
        self._send = send
        self._throttle = Throttle(PROGRESS_INTERVAL, PROGRESS_AFTER, clock)

    def __call__(self, done, total=None, unit: str = "rows", message: str | None = None) -> None:
        if self._throttle.ready():
            elapsed = round(self._throttle.clock() - self._throttle.started, 3)
            self._send({"progress": {"done": done, "total": total, "unit": unit,
                                     "elapsed": elapsed, "message": message}})  # fmt: skip


def run_child(stream) -> None:
    """Read one task, run its handler, write its outcome; every line is JSON."""
    from vime import protocol
    from vime.state import State

    lock = threading.Lock()

    def send(message: dict) -> None:
        data = protocol.encode(message)
        with lock:
            stream.write(data)
            stream.flush()

    payload = json.loads(stream.readline())
    had_pandas = "pandas" in sys.modules
    state = State.in_worker(payload["state"])
    state.progress = Progress(send)
    state.notify = lambda method, params: send({"notify": [method, params]})
    state.cleanup = lambda path: send({"cleanup": path})
    outcome = _outcome(payload, state)
    if not had_pandas and "pandas" in sys.modules:  # before the outcome: the server
        send({"imported": "pandas"})  # imports it while vime-rpc replies
    send(outcome)


def _outcome(payload: dict, state) -> dict:
    """The handler's {result} or {error}, whatever it raised."""
    from vime.handlers import handler_for

    try:
        return {"result": handler_for(payload["method"])(state, payload["params"])}
    except VimeError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "data": exc.data}}
    except MemoryError:
        limit = format_size(job_memory_limit())
        error = MemoryLimit(f"{payload['what']}: passed the worker's memory limit of {limit} "
                            "(VIME_JOB_MEMORY)")  # fmt: skip
        return {"error": {"code": error.code, "message": error.message, "data": {}}}
    except Exception as exc:
        _log().exception("%s failed in the worker", payload["what"])
        message = f"{payload['what']}: {type(exc).__name__}: {exc}"
        return {"error": {"code": InternalError.code, "message": message, "data": {}}}
