"""vime's restricted unpickler: plain values load, every other callable is refused."""

from __future__ import annotations

import datetime
import os
import pickle
import subprocess
import zoneinfo

import numpy as np
import pandas as pd
import pytest

from vime import unpickle

PLAIN = [
    ["a", b"bytes", 1, 2.5, 3j, True, None, (1, "t"), {"k": [1, 2]}, {3}, frozenset({4})],
    bytearray(b"xy"),
    datetime.timezone(datetime.timedelta(hours=2), "X"),
    datetime.timezone.utc,
    datetime.timedelta(days=1, seconds=3),
    datetime.datetime(2024, 1, 2, 3, 4, 5),
    datetime.date(2024, 1, 2),
    zoneinfo.ZoneInfo("Europe/Paris"),
]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_load(value, protocol):
    assert unpickle.loads(pickle.dumps(value, protocol)) == value


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_an_object_array_of_strings_none_and_floats_loads(protocol):
    array = np.array(["a", None, np.nan, 1.5, "é"], dtype=object).reshape(5, 1)
    loaded = unpickle.loads(pickle.dumps(array, protocol))
    assert loaded.dtype == object and loaded.shape == (5, 1)
    assert loaded[[0, 1, 3, 4], 0].tolist() == ["a", None, 1.5, "é"]
    assert np.isnan(loaded[2, 0])


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_pandas_frequencies_load_as_inert_records(protocol):
    offsets = [pd.offsets.Hour(2), pd.offsets.Week(weekday=0)]
    loaded = unpickle.loads(pickle.dumps(offsets, protocol))
    assert all(isinstance(f, unpickle.Frequency) for f in loaded)
    assert [f.to_offset() for f in loaded] == offsets


class Runs:
    """Stands for any callable a pickle can name."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize(
    "value",
    [
        Runs(os.system, "true"),
        Runs(eval, "1"),
        Runs(getattr, np.ndarray, "tofile"),  # getattr serves ZoneInfo._unpickle alone
        Runs(getattr, zoneinfo.ZoneInfo, "clear_cache"),
        Runs(subprocess.Popen, ["true"]),
        Runs(pickle.loads, b"N."),
        Runs(np.float64, 1.5),  # a numpy scalar is outside the list too
        Runs(pd.DataFrame, {"a": [1]}),
        Runs(bytes.fromhex, "00"),
        Runs(unpickle.Frequency, "Hour", (1,)),
    ],
    ids=lambda r: getattr(r.function, "__name__", str(r.function)),
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_every_other_callable_is_refused(value, protocol):
    with pytest.raises(unpickle.RefusedPickle, match="refusing"):
        unpickle.loads(pickle.dumps(value, protocol))


def test_restricted_helpers_refuse_their_other_uses():
    codec = b"c_codecs\nencode\n(Vx\nVrot13\ntR."
    with pytest.raises(unpickle.RefusedPickle, match=r"_codecs\.encode with 'rot13'"):
        unpickle.loads(codec)
    frequency = b"cpandas._libs.tslibs.offsets\nHour\n(cos\nsystem\n(Vtrue\ntRtR."
    with pytest.raises(unpickle.RefusedPickle, match=r"os\.system"):
        unpickle.loads(frequency)
    persistent = b"Pid\n."
    with pytest.raises(unpickle.RefusedPickle, match="persistent"):
        unpickle.loads(persistent)
