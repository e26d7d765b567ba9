"""What an HDF5 node is, whichever client read it.

The loaders read h5py's nodes and the wrappers of HSDS domains
(vime.loaders.remote) through the part of h5py's API both offer, so they tell
nodes apart by what they offer, never by class.
"""

from __future__ import annotations


def is_dataset(node) -> bool:
    """A dataset: it has a shape (its dtype may raise: HDF5 types numpy lacks)."""
    return hasattr(node, "shape")


def is_group(node) -> bool:
    """A group (a committed datatype is neither a group nor a dataset)."""
    return hasattr(node, "keys") and not is_dataset(node)


def is_h5py(node) -> bool:
    """A node of h5py itself, whose low-level API (filters, types, storage) is there.

    A node of another client answers for itself: no filters to register
    (the service decompresses), its own ``storage()``, its own errors.
    """
    return hasattr(getattr(node, "id", None), "get_create_plist")


def is_swmr_reader(node) -> bool:
    """Read from a file opened as a SWMR reader (a domain never is)."""
    if not is_h5py(node):
        return False
    import h5py

    return bool(node.file.id.get_intent() & h5py.h5f.ACC_SWMR_READ)
