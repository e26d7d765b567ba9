"""Fuzzing one bin/vime-rpc: random sequences of valid and invalid requests.

Every line sent has an expected number of replies, known by construction:
a request with an id gets exactly one reply with that id, whatever its
method or params; a JSON-RPC notification gets none; a line that is not a
request (random bytes, an envelope of neither form) gets one error reply.
Requests use real table and column names of a small file often enough to
do real work (pages, plots, info, compute jobs, cancels). The process must
answer all of it and still be alive at the end. ``--all`` runs the long
version.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RpcProcess
from vime.handlers import METHODS

SHORT_EXAMPLES, LONG_EXAMPLES = 40, 2000
# Lone surrogates included: a non-UTF-8 file name arrives as one (JSON's \udcff).
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
# Never `shutdown`: it ends the process the test is about. `open` again and again, since
# most methods need an open file and `close` closes it.
METHOD_NAMES = [*sorted(set(METHODS) - {"shutdown"}), "cancel", "open", "open", "open"]
PARAM_NAMES = sorted({name.rstrip("?") for m in METHODS.values() for name in m.params} | {"id"})


@dataclass(frozen=True)
class Line:
    data: bytes
    reply_id: object = None  # the id of the one reply this line must get (tracked)
    untracked_replies: int = 0  # error replies whose id is not a tracked one


def real_values(path: str) -> dict:
    """Values that make requests do work on the fixture file."""
    return {
        "path": st.sampled_from([path, path + ".missing"]),
        "name": st.sampled_from(["/data", "/group/fixed", "/nope"]),
        "source": st.sampled_from(["/data", "/group/fixed"]),
        "y": st.sampled_from(["v0", "v1", "n", "label", ["v0", "v1"]]),
        "x": st.sampled_from(["n", "v0", 0]),
        "query": st.sampled_from(["v0 > 0", "n % 7 == 0", "label == 'row3'", "nope > 1"]),
        "columns": st.sampled_from([["v0", "n"], ["label"], []]),
        "start": st.integers(-5, 1200),
        "count": st.integers(-1, 300),
        "type": st.sampled_from(["line", "scatter", "hist", "pie"]),
        "width": st.integers(0, 120),
        "height": st.integers(0, 40),
        "groupby": st.sampled_from(["flag", ["flag", "n"]]),
        "agg": st.sampled_from([{"v0": ["mean", "max"]}, {"n": "sum"}]),
        "assign": st.sampled_from([{"w": "v0 * 2"}, {"w": "sqrt(n)"}]),
        "order": st.sampled_from([["label", "n"], ["nope"]]),
        "job": st.integers(0, 5),
    }


def mostly(draw) -> bool:
    """True nine times in ten: valid requests should do work more often than not."""
    return draw(st.integers(0, 9)) > 0


@st.composite
def params_for(draw, values: dict, method: str) -> dict:
    """The method's required params and some optional ones (real values often), some of any name."""
    accepted = METHODS[method].params if method in METHODS else {}
    required = [name for name in accepted if not name.endswith("?")] if mostly(draw) else []
    names = st.sampled_from([name.rstrip("?") for name in accepted] or PARAM_NAMES)
    if not mostly(draw):
        names = st.sampled_from(PARAM_NAMES) | TEXT  # unknown params: an error reply
    extra = draw(st.lists(names, max_size=4, unique=True))
    params = {}
    for key in dict.fromkeys([*required, *extra]):
        real = values.get(key)
        params[key] = draw(real if real is not None and mostly(draw) else JSON_VALUES)
    params.pop("script", None)  # a path to a Python file would run it
    params.pop("to", None)  # export writes only where the test says (below)
    return params


@st.composite
def requests(draw, values: dict, ids, workdir: str) -> Line:
    """A request with an id, in either form, valid or not; exactly one reply."""
    method = draw(st.sampled_from(METHOD_NAMES)) if mostly(draw) else draw(TEXT)
    params = draw(params_for(values, method)) if mostly(draw) else draw(JSON_VALUES)
    if method == "export" and isinstance(params, dict):
        params["to"] = f"{workdir}/export-{draw(st.integers(0, 3))}.csv"
    if method == "cancel" and isinstance(params, dict):
        params["id"] = draw(st.integers(1_000_000, 1_000_000 + 50))
    body = {"method": method, "params": params}
    if not mostly(draw):
        body = draw(st.sampled_from([{"method": method}, {"params": params}, method]))
    if draw(st.booleans()):
        msg_id = next(ids)
        if not mostly(draw):  # not [id, body]: the error reply has id 0
            return Line(json.dumps([msg_id, body, 1]).encode(), untracked_replies=1)
        return Line(json.dumps([msg_id, body]).encode(), reply_id=msg_id)
    msg_id = f"j{next(ids)}"
    envelope = {"jsonrpc": "2.0", "id": msg_id, **(body if isinstance(body, dict) else {})}
    if not mostly(draw):
        del envelope["jsonrpc"]  # an error reply, still with the request's id
    return Line(json.dumps(envelope).encode(), reply_id=msg_id)


@st.composite
def notifications(draw, values: dict) -> Line:
    """A JSON-RPC notification (no id): no reply, whatever it asks."""
    method = draw(st.sampled_from([*METHOD_NAMES, "$/cancelRequest"]) | TEXT)
    params = draw(params_for(values, method))
    if method == "$/cancelRequest":
        params = {"id": draw(st.integers(1_000_000, 1_000_050) | TEXT)}
    line = json.dumps({"jsonrpc": "2.0", "method": method, "params": params})
    return Line(line.encode(), untracked_replies=0 if method else 1)  # no method: an error


def is_envelope_like(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), (list, dict))
    except ValueError:
        return False


# Lines that look like envelopes and are none: each gets one error reply with id null or 0.
BAD_ENVELOPES = [b"[1, 2", b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', b"[0]", b"{}"]


@st.composite
def garbage(draw) -> Line:
    """Bytes that are no request: one error reply, none for a blank line."""
    data = draw(
        st.binary(max_size=40)
        | TEXT.map(lambda text: text.encode("utf-8", "surrogatepass"))
        | JSON_SCALARS.map(lambda value: json.dumps(value).encode())
    )
    data = data.replace(b"\n", b" ")
    if is_envelope_like(data):
        data = b"#" + data  # random bytes that parse as an envelope might be a real request
    if not mostly(draw):
        data = draw(st.sampled_from(BAD_ENVELOPES))
    return Line(data, untracked_replies=1 if data.strip() else 0)


def lines(values: dict, ids, workdir: str):
    kinds = [requests(values, ids, workdir)] * 6 + [notifications(values), garbage()] * 2
    return st.lists(st.one_of(kinds), min_size=1, max_size=25)


def is_pushed(message) -> bool:
    """A notification the backend pushed (compute progress and the like), not a reply."""
    body = message[1] if isinstance(message, list) else message
    return isinstance(body, dict) and "method" in body


def internal_error(message):
    """The message of an internal error (-32603: a bug), None for any other reply."""
    body = message[1] if isinstance(message, list) else message.get("error", {})
    code = body.get("code") if isinstance(body, dict) else None
    return (body.get("error") or body.get("message")) if code == -32603 else None


def reply_id(message):
    return message[0] if isinstance(message, list) else message.get("id")


class Session:
    """Sends lines to the one process and checks the replies of each batch."""

    def __init__(self, process: RpcProcess):
        self.process = process
        self.barrier = itertools.count(1)

    def exchange(self, batch: list[Line]) -> None:
        for line in batch:
            self.process.send_raw(line.data + b"\n")
        barrier = -next(self.barrier)  # a JSON-RPC id no generated request has
        self.process.send({"jsonrpc": "2.0", "id": barrier, "method": "ping"})
        wanted = {line.reply_id for line in batch if line.reply_id is not None}
        expected_untracked = sum(line.untracked_replies for line in batch)
        answered, untracked = set(), 0
        while not (barrier in answered and wanted <= answered):
            message = self.process.read(timeout=60)
            if is_pushed(message):
                continue
            msg_id = reply_id(message)
            assert internal_error(message) is None, f"an internal error: {message}"
            if msg_id in wanted or msg_id == barrier:
                assert msg_id not in answered, f"a second reply to {msg_id}: {message}"
                answered.add(msg_id)
            else:
                untracked += 1
        assert untracked == expected_untracked, f"{untracked} error replies to bad lines"


@pytest.mark.timeout(1800)  # the long run (--all) takes minutes
def test_random_requests_each_get_one_reply_and_the_process_survives(
    request, tmp_path, pandas_file
):
    long_run = request.config.getoption("--all")
    process = RpcProcess(
        env={"VIME_CONFIG": str(tmp_path / "config.json"), "VIME_CHUNK_ROWS": "100"},
        stderr_path=tmp_path / "stderr.log",
        cwd=tmp_path,
    )
    session = Session(process)
    ids = itertools.count(1_000_000)
    values = real_values(str(pandas_file))

    @settings(
        max_examples=LONG_EXAMPLES if long_run else SHORT_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=lines(values, ids, str(tmp_path)))
    def exchange(batch):
        session.exchange(batch)

    try:
        exchange()
        assert process.call("ping")["pid"] == process.proc.pid
        process.close_stdin()
        leftover = []
        while (line := process.read_line(timeout=60)) is not None:
            leftover.append(json.loads(line))
        assert [m for m in leftover if not is_pushed(m)] == []
        assert process.wait(timeout=60) == 0
    finally:
        process.stop()
