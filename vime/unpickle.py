"""The one restricted unpickler: pickles from files become plain data, never code.

PyTables pickles list and dict attributes, pandas pickles time zones and
frequencies into them, and a pandas fixed-format store keeps object columns
as one pickled numpy array. Any pickle can name any callable, so vime loads
every pickle from a file through ``loads`` here, which resolves only:

- the builtins that rebuild plain values (``set``, ``frozenset``, ``bytes``,
  ``bytearray``, ``complex``) and ``_codecs.encode`` for latin-1 only, which
  is how protocols 0-2 spell bytes;
- ``datetime.timezone``, ``timedelta``, ``datetime`` and ``date``;
  ``zoneinfo.ZoneInfo`` through the ``getattr(ZoneInfo, "_unpickle")`` form
  its pickles use; a pytz zone (``pytz._p``, ``pytz._UTC``) as its name;
- pandas frequencies (``pandas._libs.tslibs.offsets.Hour`` and the other
  plain offsets) as inert ``Frequency`` records, without importing pandas;
- numpy's ``_reconstruct``, ``ndarray`` and ``dtype`` (numpy 1 and 2 module
  names), which rebuild an array of plain values.

Anything else raises ``RefusedPickle``. Imports are deferred so that reading
a file's metadata imports neither numpy nor pandas.
"""

from __future__ import annotations

import builtins
import datetime
import io
import pickle
from typing import Any

__all__ = ["Frequency", "RefusedPickle", "loads", "maybe_pickled"]


class RefusedPickle(pickle.UnpicklingError):
    """The pickle names a callable outside the allowed list."""


class Frequency:
    """A pickled pandas offset (e.g. ``Hour(1, False)``), kept as its name and args.

    ``to_offset`` builds the pandas offset when a page needs it.
    """

    __slots__ = ("args", "name")

    def __init__(self, name: str, args: tuple):
        self.name = name
        self.args = args

    def __repr__(self) -> str:
        return f"Frequency({self.name}{self.args!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Frequency) and (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        return hash((self.name, self.args))

    def to_offset(self):
        """The pandas offset; only plain numbers, flags and timedeltas reach its constructor."""
        from pandas import offsets

        return getattr(offsets, self.name)(*self.args)


# pandas offsets whose pickle is ``Class(n, normalize, <ints>)`` or ``(n, normalize, timedelta)``.
OFFSETS = frozenset(
    {
        "Day",
        "Hour",
        "Minute",
        "Second",
        "Milli",
        "Micro",
        "Nano",
        "BusinessDay",
        "Week",
        "MonthEnd",
        "MonthBegin",
        "BusinessMonthEnd",
        "BusinessMonthBegin",
        "SemiMonthEnd",
        "SemiMonthBegin",
        "QuarterEnd",
        "QuarterBegin",
        "BQuarterEnd",
        "BQuarterBegin",
        "YearEnd",
        "YearBegin",
        "BYearEnd",
        "BYearBegin",
        "Easter",
    }
)
_OFFSET_MODULES = ("pandas._libs.tslibs.offsets", "pandas.tseries.offsets")
_PLAIN_ARGS = (int, float, bool, datetime.timedelta)


def _frequency(name: str):
    def build(*args):
        if not all(isinstance(arg, _PLAIN_ARGS) for arg in args):
            raise RefusedPickle(f"refusing {name} with arguments {args!r}")
        return Frequency(name, args)

    return build


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocols 0-2 use it for bytes; no other codec is looked up."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise RefusedPickle(f"refusing _codecs.encode with {encoding!r}")
    return text.encode("latin1")


def _zoneinfo_getattr(owner, name: str):
    """``getattr`` for the one use a ZoneInfo pickle makes of it."""
    import zoneinfo

    if owner is zoneinfo.ZoneInfo and name == "_unpickle":
        return zoneinfo.ZoneInfo._unpickle
    raise RefusedPickle(f"refusing getattr({owner!r}, {name!r})")


def _pytz_zone(zone: str = "UTC", *_rest) -> str:
    """A pytz zone becomes its name; pandas accepts the name wherever it takes a zone."""
    if not isinstance(zone, str):
        raise RefusedPickle(f"refusing pytz zone {zone!r}")
    return zone


def _numpy_entry(name: str):
    import numpy as np

    if name == "_reconstruct":  # numpy.core (1.x) or numpy._core (2.x): take it from numpy itself
        return np.empty(0, dtype=object).__reduce__()[0]
    return getattr(np, name)


_BUILTINS = {name: getattr(builtins, name) for name in ("set", "frozenset", "bytes", "bytearray")}
_BUILTINS["complex"] = complex
_BUILTINS["getattr"] = _zoneinfo_getattr
_NUMPY_ENTRIES = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def _resolve(module: str, name: str) -> Any:
    if module in ("builtins", "__builtin__") and name in _BUILTINS:
        return _BUILTINS[name]
    if module in ("_codecs", "codecs") and name == "encode":
        return _latin1_bytes
    if module == "datetime" and name in ("timezone", "timedelta", "datetime", "date"):
        return getattr(datetime, name)
    if module == "zoneinfo" and name == "ZoneInfo":
        import zoneinfo

        return zoneinfo.ZoneInfo
    if module == "pytz" and name in ("_p", "_UTC"):
        return _pytz_zone
    if module in _OFFSET_MODULES and name in OFFSETS:
        return _frequency(name)
    if (module, name) in _NUMPY_ENTRIES:
        return _numpy_entry(name)
    raise RefusedPickle(f"refusing {module}.{name}")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return _resolve(module, name)

    def persistent_load(self, pid):
        raise RefusedPickle("refusing a persistent id")


def loads(data: bytes) -> Any:
    """Unpickle ``data`` allowing only the entries above; raise RefusedPickle otherwise.

    Like PyTables, a pickle written by Python 2 is retried as latin-1 and then
    as bytes, so that every decoding PyTables would try is checked here too.
    """
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except UnicodeDecodeError:
        pass
    try:
        return _Unpickler(io.BytesIO(data), encoding="latin1").load()
    except TypeError:
        return _Unpickler(io.BytesIO(data), encoding="bytes").load()


def maybe_pickled(value) -> bool:
    """PyTables' own test: a scalar byte string ending in '.' is unpickled on read."""
    if not isinstance(value, bytes):  # numpy.bytes_ is a bytes subclass
        return False
    return value.endswith(b".") and value not in (b"0", b"0.")
