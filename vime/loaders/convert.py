"""HDF5 attributes as JSON-able values, without the libraries' bookkeeping."""

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


def jsonable_attrs(attrs, pandas: bool = False) -> dict:
    """An h5py AttributeManager as a dict of JSON-able values.

    ``pandas``: also hide the attributes pandas keeps for itself.
    """
    out = {}
    hidden = _PANDAS_BOOKKEEPING if pandas else None
    for key in attrs:
        if _BOOKKEEPING.match(key) or (hidden and hidden.match(key)):
            continue
        if key == "NAME" and _is_dimension_scale(attrs):
            continue
        try:
            out[key] = jsonable(attrs[key])
        except Exception as exc:  # an attribute of a type h5py cannot read
            out[key] = f"<unreadable: {type(exc).__name__}>"
    return out


def _is_dimension_scale(attrs) -> bool:
    return "CLASS" in attrs and jsonable(attrs["CLASS"]) == "DIMENSION_SCALE"


def jsonable(value):
    """A value read by h5py as plain Python (str, number, list, dict, None)."""
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, h5py.RegionReference):
        return "<region reference>"
    if isinstance(value, h5py.Reference):
        return "<object reference>"
    if isinstance(value, np.ndarray):
        return _jsonable_array(value)
    if isinstance(value, np.void) and value.dtype.names:
        return {name: jsonable(value[name]) for name in value.dtype.names}
    if isinstance(value, np.generic):
        return jsonable(value.item())
    return str(value)


def _jsonable_array(value: np.ndarray):
    if value.size > MAX_ATTR_ITEMS:
        return f"<{value.dtype} array of shape {list(value.shape)}>"
    if value.ndim == 0:
        return jsonable(value[()])
    return [jsonable(item) for item in value]
