"""May PyTables touch a pandas store node? Its pickles, checked with h5py first.

When PyTables loads a node it reads every attribute of it and of each group
on its path, and unpickles with plain ``pickle.loads`` each one that looks
like a pickle (a scalar string ending in '.'); pandas then reads the
categories' nodes under ``meta`` and, in a fixed store, unpickles its object
blocks. So before pandas or PyTables may touch a node, every such attribute
of the node's ancestors, of the node and of everything under it is loaded
here through vime's restricted unpickler (``refused_attributes``), and
before pandas reads a fixed store, every pickled object block as well
(``refused_object_arrays``).

Only a refusal makes a node unsafe: text that merely ends in '.' is not a
pickle, and PyTables keeps it as text too.
"""

from __future__ import annotations

import logging

from vime import unpickle
from vime.loaders.nodes import is_dataset
from vime.loaders.pandas_h5 import attr_value, is_object_array, read_object_array

log = logging.getLogger("vime.loaders.pandas")

UNSAFE = "unsafe pickled metadata: shown raw"
MAX_DEPTH = 32  # a backstop for clients whose node ids do not compare equal


def refused_attributes(group, indexes: bool = True) -> list[str]:
    """'<node> @<attribute>: <reason>' for each pickled attribute vime refuses.

    ``indexes=False`` leaves out PyTables' index containers (``_i_table``):
    only PyTables reads them, and a table indexed on many columns has
    hundreds of such nodes, so the listing skips them and the check made
    before pandas reads a node includes them.
    """
    refused = []
    for node in [*_ancestors(group), group]:
        refused += _refused_in(node)
    for node in _descendants(group, indexes):
        refused += _refused_in(node)
    return refused


def refused_object_arrays(group) -> list[str]:
    """'<dataset>: <reason>' for each pickled object array below ``group`` vime refuses."""
    refused = []
    for node in _descendants(group):
        if is_dataset(node) and is_object_array(node):
            try:
                read_object_array(node)
            except Exception as exc:  # ReadFailed names the refusal
                refused.append(str(exc))
    return refused


def _refused_in(node) -> list[str]:
    refused = []
    for name in node.attrs:
        try:
            value = node.attrs[name]
        except Exception:  # a type h5py cannot read is not a string PyTables unpickles
            continue
        reason = _refusal(value)
        if reason:
            refused.append(f"{node.name} @{name}: {reason}")
    return refused


def _refusal(value) -> str | None:
    if isinstance(value, str):  # h5py decodes variable-length strings; PyTables reads the bytes
        value = value.encode("utf-8", "surrogateescape")
    if not unpickle.maybe_pickled(value):
        return None
    try:
        unpickle.loads(bytes(value))
    except unpickle.RefusedPickle as refused:
        return str(refused)
    except Exception:  # not a pickle: PyTables keeps it as text
        return None
    return None


def _ancestors(node) -> list:
    """The groups from the root down to the node's parent."""
    parts = [part for part in node.name.split("/") if part]
    paths = ["/" + "/".join(parts[:depth]) for depth in range(len(parts))]
    return [node.file[path] for path in paths]


def _descendants(group, indexes: bool = True, seen: set | None = None, depth: int = 0):
    """Every node below ``group``, each once; links that do not resolve are skipped."""
    seen = seen if seen is not None else {group.id}
    if depth > MAX_DEPTH:
        return
    for key in group:
        try:
            child = group[key]
        except Exception:
            log.info("%s: skipping %s, which does not resolve", group.name, key)
            continue
        if child.id in seen:  # a link back up the tree, or a second hard link
            continue
        seen.add(child.id)
        if not indexes and is_index_container(child):
            continue
        yield child
        if not is_dataset(child):
            yield from _descendants(child, indexes, seen, depth + 1)


def is_index_container(node) -> bool:
    """PyTables' group of column indexes for a table (``_i_table``)."""
    return not is_dataset(node) and attr_value(node.attrs, "CLASS") == "TINDEX"
