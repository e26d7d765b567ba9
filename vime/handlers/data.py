"""Handlers for the data methods (placeholder: being built)."""

from vime.errors import InternalError


def open_file(state, params) -> dict:
    raise InternalError("open_file: not built yet")


def tables(state, params) -> dict:
    raise InternalError("tables: not built yet")


def table(state, params) -> dict:
    raise InternalError("table: not built yet")


def info(state, params) -> dict:
    raise InternalError("info: not built yet")


def columns(state, params) -> dict:
    raise InternalError("columns: not built yet")


def close(state, params) -> dict:
    raise InternalError("close: not built yet")
