"""bin/vime-rpc as the editor sees it: a subprocess speaking lines over pipes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from io import BytesIO

import pytest

from tests.conftest import RPC, RpcProcess, run_python
from vime import loop, protocol
from vime.handlers import METHODS, Method
from vime.state import State


def test_ping_in_vim_form_reports_versions(rpc):
    result = rpc.call("ping")
    assert result["ok"] is True
    assert result["pid"] == rpc.proc.pid
    assert result["python"].count(".") == 2
    assert set(result["libraries"]) >= {"numpy", "pandas", "h5py", "tables"}
    assert result["libraries"]["numpy"][0].isdigit()


def test_ping_in_jsonrpc_form(rpc):
    rpc.send({"jsonrpc": "2.0", "id": "p1", "method": "ping", "params": {}})
    reply = rpc.read()
    assert reply["jsonrpc"] == "2.0" and reply["id"] == "p1"
    assert reply["result"]["ok"] is True and reply["result"]["version"]


def test_methods_lists_every_method_with_params_and_error_codes(rpc):
    result = rpc.call("methods")
    names = [m["name"] for m in result["methods"]]
    assert names == list(METHODS)
    table = next(m for m in result["methods"] if m["name"] == "table")
    assert "name" in table["params"] and "count?" in table["params"] and table["summary"]
    codes = {e["code"] for e in result["errors"]}
    assert {-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32005} <= codes


def test_malformed_lines_each_get_one_error_and_the_loop_goes_on(rpc):
    rpc.send_raw(b"this is not json\n")
    assert rpc.read() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": rpc_message_of_not_json()},
    }
    rpc.send_raw(b"[1, 2]\n")
    assert rpc.read()[1]["code"] == -32600
    rpc.send_raw(b'{"no": "envelope"}\n')
    assert rpc.read()["error"]["code"] == -32600
    rpc.send_raw(b"[5, \xff\xfe]\n")
    reply = rpc.read()
    assert reply[0] == 0 and reply[1]["code"] == -32700 and "UTF-8" in reply[1]["error"]
    rpc.send_raw(b"\n   \n")  # blank lines are ignored: the next reply is the ping's
    assert rpc.call("ping")["ok"] is True


def rpc_message_of_not_json() -> str:
    try:
        json.loads("this is not json")
    except ValueError as exc:
        return f"not JSON: {exc}"
    raise AssertionError("unreachable")


def test_unknown_method_suggests_close_names(rpc):
    reply = rpc.call("tabel")
    assert reply["ok"] is False and reply["code"] == -32601
    assert "'tabel'" in reply["error"] and "table" in reply["error"]


def test_unknown_param_is_named(rpc):
    reply = rpc.call("ping", verbose=True)
    assert reply == {"ok": False, "code": -32602, "error": "ping: unknown param 'verbose'"}


def test_jsonrpc_notification_gets_no_reply(rpc):
    rpc.send({"jsonrpc": "2.0", "method": "ping"})
    rpc.send({"jsonrpc": "2.0", "method": "no_such_method"})
    rpc.send({"jsonrpc": "2.0", "id": 9, "method": "ping"})
    assert rpc.read()["id"] == 9


def test_a_50_megabyte_line_gets_one_error_and_the_loop_goes_on(rpc):
    huge = b'[3, {"method": "ping", "params": {"pad": "' + b"x" * (50 * 1024 * 1024) + b'"}}]\n'
    writer = threading.Thread(target=rpc.send_raw, args=(huge,))
    writer.start()
    reply = rpc.read(timeout=120)
    writer.join()
    assert reply[0] == 3 and reply[1]["code"] == -32600 and "byte" in reply[1]["error"]
    assert rpc.call("ping")["ok"] is True


def test_eof_exits_zero(rpc):
    assert rpc.call("ping")["ok"]
    rpc.close_stdin()
    assert rpc.wait(timeout=30) == 0


def test_shutdown_replies_then_exits_zero(rpc):
    assert rpc.call("shutdown") == {"ok": True, "message": "bye"}
    assert rpc.read_line(timeout=30) is None  # stdout closed, nothing after the reply
    assert rpc.wait(timeout=30) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_zero(rpc, signum):
    assert rpc.call("ping")["ok"]
    rpc.proc.send_signal(signum)
    assert rpc.wait(timeout=30) == 0


def test_version_and_help():
    version = subprocess.run([str(RPC), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("vime ")
    helped = subprocess.run([str(RPC), "--help"], capture_output=True, text=True, check=True)
    assert "--log" in helped.stdout and "--debug" in helped.stdout


def test_debug_log_records_each_request_with_duration(tmp_path):
    log_file = tmp_path / "vime.log"
    process = RpcProcess("--debug", "--log", str(log_file))
    try:
        assert process.call("ping")["ok"]
        assert process.call("methods")["ok"]
        process.close_stdin()
        assert process.wait() == 0
    finally:
        process.stop()
    text = log_file.read_text()
    assert " ping " in text and " methods " in text and " ms " in text


def test_vime_log_env_sends_log_to_a_file(tmp_path):
    log_file = tmp_path / "env.log"
    process = RpcProcess("--debug", env={"VIME_LOG": str(log_file)})
    try:
        assert process.call("ping")["ok"]
        process.close_stdin()
        assert process.wait() == 0
    finally:
        process.stop()
    assert " ping " in log_file.read_text()


def test_bin_vime_rpc_prefers_vime_python(tmp_path):
    marker = tmp_path / "used"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    process = RpcProcess(env={"VIME_PYTHON": str(wrapper)})
    try:
        assert process.call("ping")["executable"] == sys.executable
    finally:
        process.stop()
    assert marker.exists()


def test_python_dash_m_vime_serves_too():
    done = subprocess.run(
        [sys.executable, "-m", "vime"],
        input=b'[1, {"method": "ping"}]\n',
        capture_output=True,
        check=True,
        cwd=RPC.parent.parent,
        timeout=30,
    )
    reply = json.loads(done.stdout)
    assert reply[0] == 1 and reply[1]["ok"] is True


def test_library_output_cannot_reach_the_protocol_stream():
    script = (
        "import os; from vime.__main__ import claim_stdout\n"
        "out = claim_stdout()\n"
        "print('python noise', flush=True)\n"
        "os.write(1, b'c-level noise\\n')\n"
        "out.write(b'protocol\\n')\n"
    )
    done = run_python(script)
    assert done.stdout == b"protocol\n"
    assert b"python noise" in done.stderr and b"c-level noise" in done.stderr


# -- in-process: what cannot be provoked from outside --------------------------


def serve_lines(lines: list[bytes], state: State | None = None) -> list:
    out = BytesIO()
    loop.serve(BytesIO(b"".join(lines)), out, state)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_crashing_handler_becomes_internal_error_and_the_loop_goes_on(monkeypatch):
    def crash(state, params):
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(METHODS, "crash", Method(crash, "test", {}))
    replies = serve_lines([b'[1, {"method": "crash"}]\n', b'[2, {"method": "ping"}]\n'])
    assert replies[0] == [
        1,
        {"ok": False, "code": -32603, "error": "crash: ZeroDivisionError: boom"},
    ]
    assert replies[1][0] == 2 and replies[1][1]["ok"] is True


def test_notifications_racing_replies_never_split_a_line(monkeypatch):
    """A pushing thread and the loop write at once; every line stays whole JSON."""
    payload = "p" * 100_000

    def start_pushing(state, params):
        notify = state.notify

        def push():
            for i in range(200):
                notify("compute_progress", {"i": i, "pad": payload})

        thread = threading.Thread(target=push)
        thread.start()
        state.pusher = thread
        return {}

    monkeypatch.setitem(METHODS, "push", Method(start_pushing, "test", {}))
    read_fd, write_fd = os.pipe()
    state = State()
    lines = [b'[1, {"method": "push"}]\n'] + [
        b'[%d, {"method": "methods"}]\n' % i for i in range(2, 200)
    ]
    reader_output = []
    reader = threading.Thread(target=lambda: reader_output.append(read_all(read_fd)))
    reader.start()
    with os.fdopen(write_fd, "wb", buffering=0) as out:
        loop.serve(BytesIO(b"".join(lines)), out, state)
        state.pusher.join()
    reader.join()
    messages = [json.loads(line) for line in reader_output[0].splitlines()]
    replies = [m for m in messages if m[0] != 0]
    pushed = [m for m in messages if m[0] == 0]
    assert [m[0] for m in replies] == list(range(1, 200))
    assert [m[1]["params"]["i"] for m in pushed] == list(range(200))
    assert all(m[1]["params"]["pad"] == payload for m in pushed)


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_notification_uses_the_form_of_the_request_that_started_the_work(monkeypatch):
    monkeypatch.setitem(
        METHODS, "poke", Method(lambda s, p: s.notify("poked", {"x": 1}) or {}, "test", {})
    )
    replies = serve_lines(
        [b'{"jsonrpc": "2.0", "id": 1, "method": "poke"}\n', b'[2, {"method": "poke"}]\n']
    )
    assert replies == [
        {"jsonrpc": "2.0", "id": 1, "result": {"ok": True}},
        {"jsonrpc": "2.0", "method": "poked", "params": {"x": 1}},
        [2, {"ok": True}],
        [0, {"method": "poked", "params": {"x": 1}}],
    ]


def test_a_push_never_precedes_the_reply_of_the_request_that_started_it(monkeypatch):
    def fail_at_once(state, params):
        pusher = threading.Thread(target=state.notify, args=("compute_error", {"job": 1}))
        pusher.start()
        pusher.join()  # the push happens while the reply is not yet written
        return {"status": "running", "job": 1}

    monkeypatch.setitem(METHODS, "start", Method(fail_at_once, "test", {}))
    replies = serve_lines([b'[1, {"method": "start"}]\n', b'[2, {"method": "ping"}]\n'])
    assert replies[0] == [1, {"ok": True, "status": "running", "job": 1}]
    assert replies[1] == [0, {"method": "compute_error", "params": {"job": 1}}]
    assert replies[2][0] == 2


def test_protocol_module_does_not_import_hdf5_libraries():
    code = (
        "import sys, vime.loop\n"
        "print(sorted(m for m in ('pandas', 'h5py', 'tables', 'numpy') if m in sys.modules))"
    )
    assert run_python(code).stdout.strip() == b"[]"
    assert protocol.encode({"a": 1}) == b'{"a": 1}\n'


def test_start_up_imports_no_handler_module():
    """The table names its handlers; their modules load on first use (start-up time)."""
    code = (
        "import sys, vime.loop\n"
        "print(sorted(m for m in sys.modules if m.startswith('vime.handlers.')))"
    )
    assert run_python(code).stdout.strip() == b"[]"


def test_pushed_notifications_and_replies_interleave_as_whole_lines(tmp_path, pandas_file):
    """A compute job pushes progress while the loop answers a stream of requests."""
    process = RpcProcess(env={"VIME_CHUNK_ROWS": "10", "VIME_CONFIG": str(tmp_path / "c.json")})
    try:
        process.opened(pandas_file)
        job = process.call("compute_start", source="/data", assign={"w": "v0 * 2"})["job"]
        for msg_id in range(100, 180):
            process.send([msg_id, {"method": "table", "params": {"name": "/data", "count": 3}}])
        replies, pushed = [], []
        while len(replies) < 80:
            message = process.read()  # asserts a whole line of valid JSON
            (pushed if message[0] == 0 else replies).append(message)
        assert [m[0] for m in replies] == list(range(100, 180))
        first_rows = [line.split() for line in replies[0][1]["content"].splitlines()[3:]]
        assert [(row[0], row[-1]) for row in first_rows] == [
            ("0", "row0"),
            ("1", "row1"),
            ("2", "row2"),
        ]
        assert all(m[1] == replies[0][1] for m in replies)
        # The job runs in a worker that may still be starting: its first chunk always
        # pushes progress, and the job ends by itself.
        while not any(m[1].get("method") == "compute_done" for m in pushed):
            pushed.append(process.read())
        assert any(m[1].get("method") == "compute_progress" for m in pushed)
        assert all(m[1]["params"]["job"] == job for m in pushed)
    finally:
        process.stop()
