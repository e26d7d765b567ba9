"""Reading typed params out of a request, with errors that name the param."""

from __future__ import annotations

from vime.errors import InvalidParams

_MISSING = object()


def _get(params: dict, key: str, default):
    """The param's value; JSON null means not given (the default, or missing)."""
    value = params.get(key)
    if value is None:
        value = default
    if value is _MISSING:
        raise InvalidParams(f"missing param '{key}'")
    return value


def string(params: dict, key: str, default=_MISSING) -> str | None:
    value = _get(params, key, default)
    if value is None or isinstance(value, str):
        return value
    raise InvalidParams(f"param '{key}' must be a string, not {_type_name(value)}")


def integer(params: dict, key: str, default=_MISSING, minimum: int | None = None) -> int | None:
    value = _get(params, key, default)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise InvalidParams(f"param '{key}' must be an integer, not {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise InvalidParams(f"param '{key}' must be >= {minimum}, got {value}")
    return value


def boolean(params: dict, key: str, default=_MISSING) -> bool | None:
    value = _get(params, key, default)
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1):  # Vim has no booleans: v:true arrives as true, 1 as 1
        return bool(value)
    raise InvalidParams(f"param '{key}' must be true or false, not {_type_name(value)}")


def choice(params: dict, key: str, options: tuple[str, ...], default=_MISSING) -> str:
    value = string(params, key, default)
    if value not in options:
        raise InvalidParams(f"param '{key}' must be one of {', '.join(options)}; got {value!r}")
    return value


def column_ref(params: dict, key: str, default=_MISSING) -> str | int | None:
    """A column given by name or by integer position."""
    value = _get(params, key, default)
    if value is None or isinstance(value, str) or type(value) is int:
        return value
    raise InvalidParams(f"param '{key}' must be a column name or position")


def column_refs(params: dict, key: str, default=_MISSING) -> list | None:
    """One column reference or a list of them, always returned as a list."""
    value = _get(params, key, default)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not (isinstance(item, str) or type(item) is int):
            raise InvalidParams(f"param '{key}' must hold column names or positions")
    return values


def string_list(params: dict, key: str, default=_MISSING) -> list[str] | None:
    value = _get(params, key, default)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InvalidParams(f"param '{key}' must be a list of strings")


def int_list(params: dict, key: str, default=_MISSING) -> list[int] | None:
    value = _get(params, key, default)
    if value is None:
        return None
    if isinstance(value, list) and all(type(v) is int for v in value):
        return value
    raise InvalidParams(f"param '{key}' must be a list of integers")


def mapping(params: dict, key: str, default=_MISSING) -> dict | None:
    value = _get(params, key, default)
    if value is None or isinstance(value, dict):
        return value
    raise InvalidParams(f"param '{key}' must be an object")


def _type_name(value) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
