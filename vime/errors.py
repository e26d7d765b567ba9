"""Every error vime reports, one class per error code.

The readers, the plot engine and the compute jobs raise these without knowing
about the protocol; the protocol turns them into replies by their ``code``.
"""


class VimeError(Exception):
    """Base class: a message for a person plus a numeric code.

    ``data`` holds extra fields that go into the reply next to the message
    (for example the running job's id with ``Busy``).
    """

    code = -32000
    name = "error"

    def __init__(self, message: str, **data):
        super().__init__(message)
        self.message = message
        self.data = data


# JSON-RPC 2.0 protocol errors.
class ParseError(VimeError):
    code, name = -32700, "parse error"


class InvalidRequest(VimeError):
    code, name = -32600, "invalid request"


class MethodNotFound(VimeError):
    code, name = -32601, "method not found"


class InvalidParams(VimeError):
    code, name = -32602, "invalid params"


class InternalError(VimeError):
    code, name = -32603, "internal error"


# Domain errors, in the -32000..-32099 range reserved for the server.
class FileMissing(VimeError):
    code, name = -32001, "file not found"


class NotHDF5(VimeError):
    code, name = -32002, "not HDF5"


class NoSuchTable(VimeError):
    code, name = -32003, "no such table"


class NoSuchColumn(VimeError):
    code, name = -32004, "no such column"


class Busy(VimeError):
    code, name = -32005, "busy"


class Cancelled(VimeError):
    code, name = -32006, "cancelled"


class BadExpression(VimeError):
    code, name = -32007, "bad expression"


class ReadFailed(VimeError):
    code, name = -32008, "read failed"


class NoFileOpen(VimeError):
    code, name = -32009, "no file open"


class PlotFailed(VimeError):
    code, name = -32010, "nothing to plot"


class ExportFailed(VimeError):
    code, name = -32011, "export failed"


class WorkerDied(VimeError):
    code, name = -32012, "worker died"


class MemoryLimit(VimeError):
    code, name = -32013, "memory limit"


# Every code, domain errors first, for the `methods` listing and the docs.
ALL_ERRORS = sorted(VimeError.__subclasses__(), key=lambda cls: -cls.code)
_BY_CODE = {cls.code: cls for cls in ALL_ERRORS}


def error_class(code: int) -> type[VimeError]:
    """The class of an error code (a worker's error crosses a pipe as its code)."""
    return _BY_CODE.get(code, InternalError)
