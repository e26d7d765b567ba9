"""Envelopes and encoding, in-process."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from vime import protocol
from vime.errors import NoSuchTable


def strict_loads(data: bytes):
    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(data, parse_constant=refuse)


def test_vim_request_parses_with_default_params():
    request = protocol.parse_line(b'[7, {"method": "ping"}]\n')
    assert (request.form, request.id, request.method, request.params) == ("vim", 7, "ping", {})
    assert request.wants_reply


def test_jsonrpc_notification_wants_no_reply():
    request = protocol.parse_line(b'{"jsonrpc": "2.0", "method": "ping", "params": {}}')
    assert request.form == "jsonrpc" and request.id is None and not request.wants_reply


@pytest.mark.parametrize(
    ("line", "form", "msg_id", "code"),
    [
        (b"not json", "jsonrpc", None, -32700),
        (b"[1, 2", "vim", 0, -32700),
        (b"\xff\xfe[1]", "jsonrpc", None, -32700),
        (b'[0, {"method": "ping"}]', "vim", 0, -32600),
        (b'[-3, {"method": "ping"}]', "vim", 0, -32600),
        (b'[4, {"params": {}}]', "vim", 4, -32600),
        (b'[4, {"method": "ping", "params": [1]}]', "vim", 4, -32602),
        (b'{"id": 1, "method": "ping"}', "jsonrpc", 1, -32600),
        (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', "jsonrpc", None, -32600),
        (b"42", "jsonrpc", None, -32600),
    ],
)
def test_bad_lines_carry_form_id_and_code(line, form, msg_id, code):
    with pytest.raises(protocol.BadLine) as caught:
        protocol.parse_line(line)
    assert (caught.value.form, caught.value.id, caught.value.error.code) == (form, msg_id, code)


def test_failure_reply_in_both_forms_keeps_extra_fields():
    result = protocol.failure(NoSuchTable("no table /x in a.h5", job=3))
    assert protocol.reply("vim", 2, result) == [
        2,
        {"ok": False, "error": "no table /x in a.h5", "code": -32003, "job": 3},
    ]
    assert protocol.reply("jsonrpc", "a", result) == {
        "jsonrpc": "2.0",
        "id": "a",
        "error": {"code": -32003, "message": "no table /x in a.h5", "data": {"job": 3}},
    }


def test_notification_follows_the_form():
    assert protocol.notification("vim", "m", {"a": 1}) == [0, {"method": "m", "params": {"a": 1}}]
    assert protocol.notification("jsonrpc", "m", {}) == {
        "jsonrpc": "2.0",
        "method": "m",
        "params": {},
    }


def test_encode_is_strict_json_for_numpy_nan_bytes_and_dates():
    message = {
        "f": np.float32(1.5),
        "i": np.int64(7),
        "b": np.bool_(True),
        "arr": np.array([1.0, np.nan, np.inf]),
        "nan": math.nan,
        "ninf": -math.inf,
        "raw": b"\xffok",
        "when": dt.datetime(2026, 1, 2, 3, 4, 5),
        "day": dt.date(2026, 1, 2),
        "np_when": np.datetime64("2026-01-02T03:04:05"),
        "dts": np.array(["2026-01-02"], dtype="datetime64[D]"),
        (1, 2): "tuple key",
    }
    line = protocol.encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = strict_loads(line)
    assert decoded["f"] == 1.5 and decoded["i"] == 7 and decoded["b"] is True
    assert decoded["arr"] == [1.0, None, None]
    assert decoded["nan"] is None and decoded["ninf"] is None
    assert decoded["raw"] == "\ufffdok"
    assert decoded["when"] == "2026-01-02T03:04:05" and decoded["day"] == "2026-01-02"
    assert decoded["np_when"] == "2026-01-02T03:04:05"
    assert decoded["dts"] == ["2026-01-02"]
    assert decoded["(1, 2)"] == "tuple key"


def test_encode_keeps_newlines_inside_strings_escaped():
    line = protocol.encode([1, {"content": "a\nb\u2800"}])
    assert line.count(b"\n") == 1
    assert strict_loads(line)[1]["content"] == "a\nb\u2800"
