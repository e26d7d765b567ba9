"""Envelopes and encoding: bytes in, requests out; results out, bytes in.

Two envelope forms share one line-delimited JSON stream:

* Vim channel form: ``[id, {"method": M, "params": {...}}]`` answered by
  ``[id, RESULT]``; notifications are ``[0, {"method": M, "params": {...}}]``.
* JSON-RPC 2.0: ``{"jsonrpc": "2.0", "id": ID, "method": M, "params": {...}}``.

This module does no I/O and knows nothing of HDF5.
"""

from __future__ import annotations

import json
import math
import re

from vime.errors import InvalidParams, InvalidRequest, ParseError, VimeError

VIM = "vim"
JSONRPC = "jsonrpc"


class Request:
    __slots__ = ("form", "id", "method", "params")

    def __init__(self, form: str, msg_id, method: str, params: dict):
        self.form = form
        self.id = msg_id  # None for a JSON-RPC notification
        self.method = method
        self.params = params

    @property
    def wants_reply(self) -> bool:
        return self.form == VIM or self.id is not None


class BadLine(Exception):
    """A line that cannot become a Request; carries what the reply needs."""

    def __init__(self, form: str, msg_id, error: VimeError):
        super().__init__(error.message)
        self.form = form
        self.id = msg_id
        self.error = error


def guess_form(line: bytes) -> str:
    """The envelope form a broken line was probably meant to have."""
    return VIM if line.lstrip()[:1] == b"[" else JSONRPC


def guess_id(head: bytes, form: str):
    """The id of a Vim-form line from its first bytes ('[42, {...'), else the unknown id.

    An over-long line is never parsed; its reply must still reach the caller,
    and Vim routes id 0 to the channel callback instead.
    """
    if form != VIM:
        return None
    match = _VIM_ID.match(head)
    return int(match.group(1)) if match else 0


_VIM_ID = re.compile(rb"\s*\[\s*([1-9][0-9]{0,15})\s*,")


def parse_line(line: bytes) -> Request:
    """Decode one stdin line into a Request, or raise BadLine."""
    form = guess_form(line)
    unknown_id = 0 if form == VIM else None  # Vim routes id 0 to the channel callback
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(form, unknown_id, ParseError(f"invalid UTF-8 at byte {exc.start}")) from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadLine(form, unknown_id, ParseError(f"not JSON: {exc}")) from None
    if isinstance(value, list):
        return _parse_vim(value)
    if isinstance(value, dict):
        return _parse_jsonrpc(value)
    error = InvalidRequest("expected [id, {method, params}] or a JSON-RPC object")
    raise BadLine(form, unknown_id, error)


def _parse_vim(value: list) -> Request:
    ok_id = len(value) == 2 and type(value[0]) is int and value[0] > 0
    msg_id = value[0] if ok_id else 0
    if not ok_id or not isinstance(value[1], dict):
        raise BadLine(VIM, msg_id, InvalidRequest("expected [id, {method, params}], id > 0"))
    method, params = _method_and_params(value[1], VIM, msg_id)
    return Request(VIM, msg_id, method, params)


def _parse_jsonrpc(value: dict) -> Request:
    msg_id = value.get("id")
    if value.get("jsonrpc") != "2.0":
        raise BadLine(JSONRPC, msg_id, InvalidRequest('missing "jsonrpc": "2.0"'))
    if not (msg_id is None or (isinstance(msg_id, (str, int, float)) and type(msg_id) is not bool)):
        raise BadLine(JSONRPC, None, InvalidRequest("id must be a string, a number or absent"))
    method, params = _method_and_params(value, JSONRPC, msg_id)
    return Request(JSONRPC, msg_id, method, params)


def _method_and_params(body: dict, form: str, msg_id) -> tuple[str, dict]:
    method = body.get("method")
    if not isinstance(method, str) or not method:
        raise BadLine(form, msg_id, InvalidRequest('"method" must be a non-empty string'))
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadLine(form, msg_id, InvalidParams('"params" must be an object of named params'))
    return method, params


def success(result: dict) -> dict:
    return {"ok": True, **result}


def failure(error: VimeError) -> dict:
    return {"ok": False, "error": error.message, "code": error.code, **error.data}


def reply(form: str, msg_id, result: dict) -> object:
    """The envelope that answers a request; ``result`` has its ``ok`` field."""
    if form == VIM:
        return [msg_id, result]
    if result.get("ok", True):
        return {"jsonrpc": "2.0", "id": msg_id, "result": result}
    error = {"code": result["code"], "message": result["error"]}
    extra = {k: v for k, v in result.items() if k not in ("ok", "error", "code")}
    if extra:
        error["data"] = extra
    return {"jsonrpc": "2.0", "id": msg_id, "error": error}


def notification(form: str, method: str, params: dict) -> object:
    if form == VIM:
        return [0, {"method": method, "params": params}]
    return {"jsonrpc": "2.0", "method": method, "params": params}


def encode(message: object) -> bytes:
    """One strict-JSON line: NaN and ±Inf become null, numpy and dates become JSON.

    A string with a lone surrogate (a non-UTF-8 file name that arrived as
    JSON's \\udcff) has no UTF-8 form: such a message is written with JSON
    escapes instead, so the name goes back exactly as it came.
    """
    value = _jsonable(message)
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"


def _jsonable(value):
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return _jsonable_foreign(value)


def _jsonable_foreign(value):
    """Dates, numpy scalars and arrays, pandas timestamps, paths: anything else.

    Duck-typed, so that neither datetime nor numpy is imported at start-up.
    """
    if hasattr(value, "total_seconds"):  # timedelta and pandas Timedelta
        return value.total_seconds()
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind in "mM":  # datetime64/timedelta64 tolist() gives ints for ns
            return _jsonable(value.astype(str).tolist())
        return _jsonable(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return str(value)
