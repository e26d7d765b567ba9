"""Handlers for the plot methods (placeholder: being built)."""

from vime.errors import InternalError


def plot(state, params) -> dict:
    raise InternalError("plot: not built yet")
