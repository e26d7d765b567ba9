"""Column lists that cost nothing per column: wide datasets have millions.

A 2-D dataset of shape (4, 20,000,000) has twenty million columns named
'0'..'19999999'. Building those strings (and a set of them) takes seconds and
a gigabyte, so such a table holds ``Positions`` and ``Repeated`` instead:
sequences that compute a name or a dtype when asked, answer ``in`` without a
scan, and slice into plain lists for a window of columns. ``Reordered`` is the
user's saved order on top of ``Positions``, as lazy as the rest.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence


class LazyColumns(Sequence):
    """A sequence of column names whose ``in`` needs no scan and no set."""

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.item(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.item(index)

    def item(self, index: int) -> str:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None


class Positions(LazyColumns):
    """'0', '1', ... 'count-1': the columns of a 2-D array, by position."""

    __slots__ = ("count",)

    def __init__(self, count: int):
        self.count = count

    def __len__(self) -> int:
        return self.count

    def item(self, index: int) -> str:
        return str(index)

    def __iter__(self) -> Iterator[str]:
        return map(str, range(self.count))

    def position(self, name) -> int | None:
        """The position a name stands for; None unless it is one of ours, spelled canonically."""
        if not isinstance(name, str) or not name.isdigit() or not name.isascii():
            return None
        if len(name) > 1 and name[0] == "0":
            return None
        number = int(name)
        return number if number < self.count else None

    def __contains__(self, name) -> bool:
        return self.position(name) is not None

    def index(self, name, *args) -> int:
        found = self.position(name)
        if found is None:
            raise ValueError(f"{name!r} is not a column")
        return found


class Reordered(LazyColumns):
    """``first`` (saved order), then the other positions in order; ``hidden`` left out."""

    def __init__(self, base: Positions, first: Iterable[str], hidden: Iterable[str]):
        self.base = base
        hidden = {name for name in hidden if name in base}
        self.hidden = hidden
        self.first = [name for name in dict.fromkeys(first) if name in base and name not in hidden]
        self.skipped = sorted(base.position(name) for name in {*self.first, *hidden})

    def __len__(self) -> int:
        return len(self.first) + len(self.base) - len(self.skipped)

    def item(self, index: int) -> str:
        if index < len(self.first):
            return self.first[index]
        position = index - len(self.first)
        # The k-th position not skipped: each skipped one at or before it moves it on.
        passed = 0
        while True:
            now = bisect_right(self.skipped, position)
            if now == passed:
                return self.base.item(position)
            position += now - passed
            passed = now

    def __contains__(self, name) -> bool:
        return name in self.base and name not in self.hidden


class Repeated(Sequence):
    """One value ``count`` times: the dtypes of a homogeneous array's columns."""

    __slots__ = ("count", "value")

    def __init__(self, value: str, count: int):
        self.value = value
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Repeated(self.value, len(range(*index.indices(self.count))))
        if not -self.count <= index < self.count:
            raise IndexError(index)
        return self.value

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == self.count and all(value == self.value for value in other)

    __hash__ = None


def fast_membership(columns: Sequence[str]):
    """Something to test ``name in`` against: the lazy sequence itself, else a set."""
    return columns if isinstance(columns, LazyColumns) else set(columns)


def distinct(values: Sequence[str]) -> list[str]:
    """The distinct values in order, without a scan of a ``Repeated``."""
    if isinstance(values, Repeated):
        return [values.value] if values.count else []
    return list(dict.fromkeys(values))
