"""The suite's own rules (tests/conftest.py) can fail a test."""

from __future__ import annotations

from tests.conftest import Reply, RpcProcess, SharedBackend, unread_replies


def test_a_reply_no_line_reads_is_reported_with_its_call_site(rpc):
    rpc.call("ping")  # thrown away on purpose
    line = test_a_reply_no_line_reads_is_reported_with_its_call_site.__code__.co_firstlineno + 1
    read = rpc.call("methods")
    assert read["ok"]
    assert unread_replies([rpc]) == [f"ping at tests/test_suite_rules.py:{line}"]
    rpc.replies[0][2].looked = True  # this test itself must pass the rule


def test_comparing_or_reading_a_reply_counts_as_checking_it():
    replies = [Reply(ok=True, n=1) for _ in range(5)]
    assert replies[0]["ok"]
    assert replies[1].get("n") == 1
    assert "n" in replies[2]
    assert replies[3] == Reply(ok=True, n=1)  # both sides are looked at
    assert [reply.looked for reply in replies] == [True] * 4 + [False]
    assert replies[4] != {}
    assert replies[4].looked


def test_every_backend_started_in_a_test_is_watched(tmp_path):
    process = RpcProcess(env={"VIME_CONFIG": str(tmp_path / "config.json")})
    try:
        assert RpcProcess.started[-1] is process
        assert process.call("ping")["pid"] == process.proc.pid
    finally:
        process.stop()
    assert process.proc.returncode == 0, "stop() ends the backend with EOF, not SIGKILL"


def test_a_shared_backend_gives_each_test_its_own_replies_and_is_replaced_once_ended(tmp_path):
    backend = SharedBackend(tmp_path)
    try:
        first = backend.for_a_test()
        assert RpcProcess.started[-1] is first
        assert first.call("ping")["pid"] == first.proc.pid
        first.call("methods")  # thrown away on purpose: that test would fail
        (unread,) = unread_replies([first])
        assert unread.startswith("methods at tests/test_suite_rules.py:")
        first.lines.put(b'[0, {"method": "progress", "params": {}}]\n')  # arrived late
        RpcProcess.started.clear()  # as every_reply_is_checked does when the next test begins
        again = backend.for_a_test()
        assert again is first and RpcProcess.started == [first]
        assert again._next_id == 100_000, "its calls count clear of the earlier test's ids"
        assert unread_replies([again]) == [] and again.lines.empty()
        assert again.call("shutdown")["ok"]
        assert again.wait() == 0
        RpcProcess.started.clear()
        replaced = backend.for_a_test()
        assert replaced is not first and RpcProcess.started == [replaced]
        assert replaced.call("ping")["pid"] == replaced.proc.pid
    finally:
        backend.stop()
