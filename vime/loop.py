"""The request loop: read a line, dispatch it, write the reply.

One thread reads stdin and runs the light handlers (pages, listings). Methods
marked ``worker`` run in worker processes (vime/worker.py); a thread per such
request relays its progress and writes its reply when it ends. Every write
goes through one lock, so lines never interleave.
"""

from __future__ import annotations

import signal
import threading
import time
from io import BufferedIOBase as BinaryIO  # not typing: it costs start-up time

from vime import protocol
from vime.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    VimeError,
)
from vime.handlers import METHODS
from vime.state import State

# A longer line is answered with an error and skipped, so that a runaway
# writer cannot make the process hold gigabytes.
MAX_LINE = 16 * 1024 * 1024


class Writer:
    """Writes whole lines under one lock and flushes each one."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, message: object) -> None:
        try:
            data = protocol.encode(message)
        except Exception:  # a bug must cost this message, never the process
            log().exception("cannot encode a message; dropped it")
            return
        with self._lock:
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                log().warning("stdout is closed; dropped a %d-byte message", len(data))


class Notifier:
    """Pushes notifications for work a request started, never before its reply.

    A job can fail at once, in its own thread, while the loop is still
    writing the ``compute_start`` reply; the editor must still see "running"
    first, so pushes are held until ``release`` is called after the reply.
    """

    def __init__(self, writer: Writer, form: str):
        self._writer = writer
        self._form = form
        self._lock = threading.Lock()
        self._held: list | None = []

    def __call__(self, method: str, params: dict) -> None:
        message = protocol.notification(self._form, method, params)
        with self._lock:
            if self._held is not None:
                self._held.append(message)
                return
        self._writer.write(message)

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            for message in held:  # under the lock: later pushes wait their turn
                self._writer.write(message)


class Stop(BaseException):
    """Raised by the signal handlers to leave the loop cleanly.

    Not an Exception: a handler's ``except Exception`` must not swallow it.
    """


class TooLong:
    """Stands for a line that was skipped because it passed MAX_LINE."""

    def __init__(self, head: bytes, size: int):
        self.head = head  # the line's first bytes: its envelope form and id
        self.size = size


def read_lines(stream: BinaryIO):
    """Yield stdin lines; an over-long line is skipped and yielded as TooLong."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            yield TooLong(line.lstrip()[:64], len(line) + _skip_rest_of_line(stream))
            continue
        yield line


def _skip_rest_of_line(stream: BinaryIO) -> int:
    """Discard up to the next newline; return how many bytes were dropped."""
    dropped = 0
    while True:
        chunk = stream.readline(MAX_LINE)
        dropped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return dropped


def log():
    """The logger, imported on first use: logging costs start-up time."""
    import logging

    return logging.getLogger("vime")


def dispatch(state: State, request: protocol.Request) -> dict:
    """Run the handler for a request; every failure becomes a failure result."""
    try:
        method = _checked_method(request)
        result = protocol.success(method.handler(state, request.params))
    except VimeError as exc:
        result = protocol.failure(exc)
    except Exception as exc:
        log().exception("handler for %r failed", request.method)
        result = protocol.failure(InternalError(f"{request.method}: {type(exc).__name__}: {exc}"))
    return result


def _checked_method(request: protocol.Request):
    method = METHODS.get(request.method)
    if method is None:
        raise MethodNotFound(_unknown_method_message(request.method))
    _check_params(request.method, method, request.params)
    return method


def _close_names(word: str, options, n: int) -> list[str]:
    import difflib  # only on error paths: it costs start-up time

    return difflib.get_close_matches(word, options, n=n, cutoff=0.5)


def _unknown_method_message(name: str) -> str:
    close = _close_names(name, METHODS, 3)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; call 'methods' for the list"
    return f"unknown method {name!r}{hint}"


def _check_params(name: str, method, params: dict) -> None:
    accepted = method.accepts()
    for key in params:
        if key not in accepted:
            close = _close_names(key, accepted, 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidParams(f"{name}: unknown param {key!r}{hint}")


def serve(
    stdin: BinaryIO, stdout: BinaryIO, state: State | None = None, debug: bool = False
) -> int:
    """Run the loop until EOF, `shutdown`, SIGTERM or SIGINT; return the exit code."""
    state = state or State()
    writer = Writer(stdout)
    _install_signal_handlers()
    try:
        for line in read_lines(stdin):
            if isinstance(line, TooLong) or line.strip():
                _handle_line(state, writer, line, debug)
            if state.stop_requested:
                break
    except Stop:
        log().info("stopping on a signal")
    finally:
        _close_everything(state)
    return 0


def _handle_line(state: State, writer: Writer, line: bytes | TooLong, debug: bool) -> None:
    try:
        request = _parse(line)
    except protocol.BadLine as bad:
        writer.write(protocol.reply(bad.form, bad.id, protocol.failure(bad.error)))
        return
    notify = Notifier(writer, request.form)
    state.notify = notify
    started = time.perf_counter()
    method = METHODS.get(request.method)
    if method is not None and method.worker and _submit(state, writer, request, method, debug):
        return
    result = dispatch(state, request)
    if request.wants_reply:
        writer.write(protocol.reply(request.form, request.id, result))
    notify.release()
    if debug:
        _log_request(request.method, started, result)


def _submit(state: State, writer: Writer, request: protocol.Request, method, debug) -> bool:
    """Start a worker method in a child; False (and no child) when its params are bad."""
    try:
        _check_params(request.method, method, request.params)
    except VimeError:
        return False  # dispatch answers it
    started = time.perf_counter()
    what = _describe(state, request)
    key = request.id if request.wants_reply else None

    def progress(message: dict) -> None:
        if "progress" in message and request.wants_reply:
            fields = {"id": request.id, **message["progress"]}
            writer.write(protocol.notification(request.form, "progress", fields))

    def finish(result: dict | None, error: VimeError | None) -> None:
        state.requests.pop(key, None)
        outcome = protocol.success(result) if error is None else protocol.failure(error)
        if request.wants_reply:
            writer.write(protocol.reply(request.form, request.id, outcome))
        if debug:
            _log_request(request.method, started, outcome)

    payload = {"method": request.method, "params": request.params, "state": state.snapshot(),
               "what": what}  # fmt: skip
    task = state.workers.submit(payload, what, progress, finish, request_id=key)
    if key is not None:
        state.requests[key] = task
    return True


def _describe(state: State, request: protocol.Request) -> str:
    """How errors name a worker request: 'plot of data.h5:/x'."""
    params = request.params
    name = params.get("name") or (state.last_table or ("the last table",))[0]
    path = params.get("path") or state.current_path
    where = f"{path}:{name}" if isinstance(path, str) else str(name)
    return f"{request.method} of {where}"


def _log_request(method: str, started: float, result: dict) -> None:
    elapsed = 1e3 * (time.perf_counter() - started)
    log().debug("%s %.1f ms ok=%s", method, elapsed, result["ok"])


def _parse(line: bytes | TooLong) -> protocol.Request:
    if isinstance(line, TooLong):
        form = protocol.guess_form(line.head)
        error = InvalidRequest(f"line of {line.size} bytes is over the {MAX_LINE}-byte limit")
        raise protocol.BadLine(form, protocol.guess_id(line.head, form), error)
    return protocol.parse_line(line)


def _install_signal_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum, frame):
        # Once: a second signal (editors may send several) must not cut the
        # cleanup of the first short, and leave the workers' files behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _close_everything(state: State) -> None:
    """Kill the workers and close files; never wait long on a busy HDF5 lock."""
    if state._workers is not None:
        state.workers.stop()
    if state.lock.acquire(timeout=0.5):
        try:
            for source in state.sources.values():
                source.close()
        except Exception:
            log().exception("closing files failed")
        finally:
            state.lock.release()
    else:
        log().warning("a job held the HDF5 lock at exit; files closed by the OS")
