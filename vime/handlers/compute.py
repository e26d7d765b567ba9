"""Handlers for the compute methods (placeholder: being built)."""

from vime.errors import InternalError


def start(state, params) -> dict:
    raise InternalError("start: not built yet")


def status(state, params) -> dict:
    raise InternalError("status: not built yet")


def cancel(state, params) -> dict:
    raise InternalError("cancel: not built yet")


def drop(state, params) -> dict:
    raise InternalError("drop: not built yet")


def export(state, params) -> dict:
    raise InternalError("export: not built yet")
