"""HDF5 attributes as JSON-able values, without the libraries' bookkeeping.

Values are bounded: a file may hold thousands of attributes of megabytes
each, and a listing carries every table's. Long strings are cut with a marker
saying how long they were, long arrays are summarised, and past a number of
attributes a last entry says how many more there are. ``info`` (``detail``)
shows more of each, bounded too.
"""

from __future__ import annotations

import re

import h5py
import numpy as np

# Attributes that PyTables, netCDF and pandas write for their own use; they
# say nothing to a person browsing the data.
_BOOKKEEPING = re.compile(
    r"^(CLASS|VERSION|PYTABLES_FORMAT_VERSION|TITLE|FLAVOR|EXTDIM|NROWS|FILTERS|PSEUDOATOM|FIELD_\d+_(NAME|FILL)|"
    r"DIMENSION_LIST|REFERENCE_LIST|_Netcdf4Dimid|_Netcdf4Coordinates|_NCProperties|"
    r"_nc3_strict|_IsNetcdf4)$"
)
_PANDAS_BOOKKEEPING = re.compile(
    r"^(data_columns|index_cols|values_cols|non_index_axes|info|levels|nan_rep|"
    r"data_col_nan_rep|mi_level_nan_rep|encoding|errors|nblocks|ndim|transposed|"
    r"(axis\d+|block\d+_items|index)_(variety|nlevels)|\w+_(kind|dtype|meta|nan_rep))$"
)
MAX_ATTR_ITEMS = 32  # longer arrays are summarised, so listings stay small
# (characters of a text value, attributes of one object): in listings, in `info`.
LISTING_BOUNDS = (200, 64)
DETAIL_BOUNDS = (4000, 256)
MORE_KEY = "…"  # the last entry when attributes were left out


def jsonable_attrs(attrs, pandas: bool = False, detail: bool = False) -> dict:
    """An h5py AttributeManager as a dict of bounded JSON-able values.

    ``pandas``: also hide the attributes pandas keeps for itself;
    ``detail``: the larger bounds of `info`.
    """
    max_chars, max_attrs = DETAIL_BOUNDS if detail else LISTING_BOUNDS
    out = {}
    hidden = _PANDAS_BOOKKEEPING if pandas else None
    shown = [key for key in attrs if _shown(key, attrs, hidden)]
    for key in shown[:max_attrs]:
        try:
            out[key] = jsonable(attrs[key], max_chars)
        except Exception as exc:  # an attribute of a type h5py cannot read
            out[key] = f"<unreadable: {type(exc).__name__}>"
    if len(shown) > max_attrs:
        out[MORE_KEY] = f"{len(shown) - max_attrs:,} more attributes" + (
            "" if detail else " (info shows more)"
        )
    return out


def _shown(key: str, attrs, hidden) -> bool:
    if _BOOKKEEPING.match(key) or (hidden and hidden.match(key)):
        return False
    return not (key == "NAME" and _is_dimension_scale(attrs))


def _is_dimension_scale(attrs) -> bool:
    return "CLASS" in attrs and jsonable(attrs["CLASS"]) == "DIMENSION_SCALE"


def jsonable(value, max_chars: int = LISTING_BOUNDS[0]):
    """A value read by h5py as plain Python (str, number, list, dict, None), text cut
    to ``max_chars``."""
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (bytes, np.bytes_)):
        return shortened(bytes(value).decode("utf-8", "replace"), max_chars)
    if isinstance(value, str):
        return shortened(value, max_chars)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, h5py.RegionReference):
        return "<region reference>"
    if isinstance(value, h5py.Reference):
        return "<object reference>"
    if isinstance(value, np.ndarray):
        return _jsonable_array(value, max_chars)
    if isinstance(value, np.void) and value.dtype.names:
        return {name: jsonable(value[name], max_chars) for name in value.dtype.names}
    if isinstance(value, np.generic):
        return jsonable(value.item(), max_chars)
    return shortened(str(value), max_chars)


def _jsonable_array(value: np.ndarray, max_chars: int):
    if value.size > MAX_ATTR_ITEMS:
        return f"<{value.dtype} array of shape {list(value.shape)}>"
    if value.ndim == 0:
        return jsonable(value[()], max_chars)
    # The items share the budget, so that 32 long strings stay within it too.
    share = max(max_chars // max(len(value), 1), 16)
    return [jsonable(item, share) for item in value]


def shortened(text: str, max_chars: int) -> str:
    """``text``, or its start and a marker saying how long it was."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… ({len(text):,} characters)"
