"""Numpy basic indexing of an N-D dataset, from text: ``[0, :, 5:10]``.

The grammar is small and read by hand (nothing is ever evaluated)::

    selection := "[" [items] "]" | items
    items     := item ("," item)* [","]
    item      := "..." | integer | [integer] ":" [integer] [":" [integer]]
    integer   := ["-" | "+"] digits

An integer picks one index of an axis (negative counts from the end) and
drops the axis; ``start:stop:step`` keeps the axis, with numpy's meaning of
missing, negative and out-of-range bounds; ``...`` stands for as many ``:``
as the shape needs, and missing trailing axes are ``:``. ``resolve`` checks
the result against a shape, in numpy's terms, and names the axis at fault.
"""

from __future__ import annotations

import re

from vime.errors import InvalidParams

MAX_TEXT = 1000
_TOKEN = re.compile(r"\s*(?:(\.\.\.)|([-+]?\d+)|([\[\],:]))")
ELLIPSIS = "..."


class Range:
    """start:stop:step as written; None where a bound was left out."""

    def __init__(self, start: int | None, stop: int | None, step: int | None):
        self.start, self.stop, self.step = start, stop, step


class Selection:
    """A resolved selection: per axis of the full shape, an int or a range."""

    def __init__(self, axes: list[int | range], full_shape: list[int]):
        self.axes = axes
        self.full_shape = list(full_shape)

    @property
    def kept(self) -> list[int]:
        """The axes of the full shape that the result keeps, in order."""
        return [axis for axis, item in enumerate(self.axes) if isinstance(item, range)]

    @property
    def shape(self) -> list[int]:
        return [len(item) for item in self.axes if isinstance(item, range)]

    @property
    def text(self) -> str:
        """The normalised selection: every axis, non-negative bounds, ':' for a whole axis."""
        return "[" + ", ".join(_item_text(item, size) for item, size in self._sized()) + "]"

    def _sized(self):
        return zip(self.axes, self.full_shape, strict=True)


def _item_text(item: int | range, size: int) -> str:
    if isinstance(item, int):
        return str(item)
    if item.step == 1 and item.start == 0 and item.stop == size:
        return ":"
    if not item:
        return "0:0"  # nothing; any other bounds could read as something on a re-parse
    stop = "" if item.stop < 0 else str(item.stop)  # a negative step running past index 0
    text = f"{item.start}:{stop}"
    return text if item.step == 1 else f"{text}:{item.step}"


# -- parsing ------------------------------------------------------------------
def parse(text: str) -> list:
    """The items of a selection: ints, Ranges and ELLIPSIS; InvalidParams on bad text."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidParams("slice: empty; write e.g. [0, :, 5:10]")
    if len(text) > MAX_TEXT:
        raise InvalidParams(f"slice: longer than {MAX_TEXT} characters")
    tokens = _tokens(text)
    if tokens[:1] == ["["]:
        if tokens[-1] != "]":
            raise InvalidParams(f"slice {text!r}: missing the closing ']'")
        tokens = tokens[1:-1]
    for token in ("[", "]"):
        if token in tokens:
            raise InvalidParams(f"slice {text!r}: unexpected {token!r} (one pair of [] at most)")
    if not tokens:
        return []
    groups: list[list] = [[]]
    for token in tokens:
        if token == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    if len(groups) > 1 and not groups[-1]:
        groups.pop()  # a trailing comma, as in (0,)
    items = [_item(group, text, position) for position, group in enumerate(groups)]
    if items.count(ELLIPSIS) > 1:
        raise InvalidParams(f"slice {text!r}: '...' may appear only once")
    return items


def _tokens(text: str) -> list:
    """'...', ints, and the characters [ ] , : ; anything else is an error naming it."""
    tokens, at = [], 0
    while text[at:].strip():
        match = _TOKEN.match(text, at)
        if match is None:
            column = len(text) - len(text[at:].lstrip()) + 1
            raise InvalidParams(
                f"slice {text!r}: unexpected {text[column - 1 : column + 9]!r} at character "
                f"{column}; use integers, start:stop:step and ..."
            )
        dots, number, mark = match.groups()
        tokens.append(ELLIPSIS if dots else int(number) if number is not None else mark)
        at = match.end()
    return tokens


def _item(tokens: list, text: str, position: int):
    """One item from its tokens: '...', an int, or up to three bounds around colons."""
    where = f"slice {text!r}, item {position + 1}"
    if not tokens:
        raise InvalidParams(f"{where} is empty")
    if tokens == [ELLIPSIS]:
        return ELLIPSIS
    if ELLIPSIS in tokens:
        raise InvalidParams(f"{where}: '...' must stand alone")
    if ":" not in tokens:
        if len(tokens) != 1:
            raise InvalidParams(f"{where}: two numbers without ':' between them")
        return tokens[0]
    bounds: list[int | None] = [None]
    for token in tokens:
        if token == ":":
            bounds.append(None)
        elif bounds[-1] is None:
            bounds[-1] = token
        else:
            raise InvalidParams(f"{where}: two numbers without ':' between them")
    if len(bounds) > 3:
        raise InvalidParams(f"{where}: at most start:stop:step")
    start, stop, step = (*bounds, None)[:3]
    if step == 0:
        raise InvalidParams(f"{where}: the step must not be 0")
    return Range(start, stop, step)


# -- resolving against a shape ------------------------------------------------------
def resolve(items: list, shape: list[int], max_axes: int, where: str) -> Selection:
    """Check ``items`` against ``shape``; the result may keep at most ``max_axes`` axes.

    ``where`` names the table in messages.
    """
    explicit = [item for item in items if item is not ELLIPSIS]
    if len(explicit) > len(shape):
        raise InvalidParams(
            f"{where}: slice has {len(explicit)} indices but the dataset has "
            f"{len(shape)} axes (shape {list(shape)})"
        )
    fill = [Range(None, None, None)] * (len(shape) - len(explicit))
    if ELLIPSIS in items:
        at = items.index(ELLIPSIS)
        expanded = [*items[:at], *fill, *items[at + 1 :]]
    else:
        expanded = [*items, *fill]
    pairs = enumerate(zip(expanded, shape, strict=True))
    selection = Selection([_axis(item, size, axis, where) for axis, (item, size) in pairs], shape)
    kept = selection.kept
    if len(kept) > max_axes:
        sizes = ", ".join(str(shape[axis]) for axis in kept)
        excess = kept[: len(kept) - max_axes]
        fix = (
            f"axis {excess[0]} with an integer"
            if len(excess) == 1
            else f"axes {', '.join(map(str, excess))} with integers"
        )
        raise InvalidParams(
            f"{where}: slice {selection.text} keeps {len(kept)} axes ({', '.join(map(str, kept))}, "
            f"of sizes {sizes}) but a table shows at most {max_axes}: index {fix}"
        )
    return selection


def _axis(item, size: int, axis: int, where: str) -> int | range:
    if isinstance(item, Range):
        return range(*slice(item.start, item.stop, item.step).indices(size))
    if not -size <= item < size:
        valid = f"valid: -{size}..{size - 1}" if size else "the axis is empty"
        raise InvalidParams(
            f"{where}: slice index {item} is out of range on axis {axis} of size {size} ({valid})"
        )
    return item % size
