"""vime: browse HDF5 files from Vim and Neovim over a stdio JSON channel."""

import sys

__version__ = "0.1.0"


def defer_pyarrow() -> None:
    """Have pandas, imported after this, leave pyarrow alone.

    pandas backs its strings with pyarrow when it is installed: 35 MB and 60 ms more in
    each of vime's processes (the backend, the fork server, every worker), for strings
    that pandas' own storage holds as well. Parquet export imports it (``import_pyarrow``).
    """
    sys.modules.setdefault("pyarrow", None)  # a None entry makes `import pyarrow` fail


def import_pyarrow():
    """pyarrow, imported even after ``defer_pyarrow``; ImportError when not installed."""
    if "pyarrow" in sys.modules and sys.modules["pyarrow"] is None:
        del sys.modules["pyarrow"]
    import pyarrow

    return pyarrow
