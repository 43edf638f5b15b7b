"""State checks that span objects, and the skops archive's checks before skops rebuilds anything.

A decision tree's nodes name the input columns they split on, and scikit-learn's compiled code reads
those columns without checking them against the data: a forest checks the data's width once, against its
own ``n_features_in_``, and hands the rows to its trees unchecked.  So after a pickle or skops file is
loaded (and before anything is scored) :func:`check_tree_widths` requires every tree to take exactly as
many inputs as the estimator that feeds it -- its own ``n_features_in_``, and for forests and gradient
boosting the ensemble's -- the node checks having already kept every split below the tree's own width.

Each tree's nodes are checked as built, too: a skops schema can name one width while skops, resolving
the ids its nodes share, builds the tree with another.

A skops file stores arrays as ``.npy`` members of a zip archive and names ``sklearn.tree._tree.Tree``
in its schema; skops itself leaves that type untrusted, because its ``nodes`` array drives compiled code.
:func:`check_skops_archive` caps every member's unpacked size, reads each array's header (shape and
type, which must fit the member), and gives every tree the node checks pickles get.
"""

from __future__ import annotations

import json
import zipfile
from typing import Any

from ._pickle_stream import Cannot

__all__ = ["check_skops_archive", "check_tree_widths"]

_ENSEMBLES = ("RandomForest", "ExtraTrees", "GradientBoosting")
_TREE = ("sklearn.tree._tree", "Tree")


def check_tree_widths(obj: Any, depth: int = 0, seen: set | None = None) -> None:
    """Every fitted tree in ``obj`` (nested estimators, pipelines, lists) reads only columns its feeder has."""
    seen = set() if seen is None else seen
    if depth > 40 or id(obj) in seen or len(seen) > 100_000:
        return
    seen.add(id(obj))
    items = _children(obj)
    tree = getattr(obj, "__dict__", {}).get("tree_") if hasattr(obj, "__dict__") else None
    if tree is not None and f"{type(tree).__module__}.{type(tree).__name__}" == ".".join(_TREE):
        _check_built_tree(tree)
        width = obj.__dict__.get("n_features_in_")
        if type(width) is not int or tree.n_features != width:
            raise Cannot(f"a {type(obj).__name__} of {width!r:.40} inputs whose tree reads {tree.n_features} "
                         "columns")
    name = type(obj).__name__
    if name.startswith(_ENSEMBLES) and type(obj).__module__.startswith("sklearn.ensemble"):
        width = obj.__dict__.get("n_features_in_")
        for sub in _flat(obj.__dict__.get("estimators_", ())):
            inner = getattr(sub, "__dict__", {}).get("n_features_in_")
            if type(width) is not int or inner != width:
                raise Cannot(f"a {name} of {width!r:.40} inputs holding a tree of {inner!r:.40} inputs")
    for item in items:
        check_tree_widths(item, depth + 1, seen)


def _check_built_tree(tree: Any) -> None:
    """The nodes of a tree as it was really built (skops resolves shared ids its own way, so the schema
    alone cannot tell which width a tree got): every split inside the tree, on a feature the tree has."""
    import numpy as np

    from ._unpickle import _check_nodes

    state = tree.__getstate__()
    nodes = state.get("nodes") if isinstance(state, dict) else None
    _check_nodes(np, "a decision tree", nodes, ("left_child", "right_child", "feature"), int(tree.n_features))


def _children(obj: Any) -> list:
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple)):
        return list(obj)
    if getattr(obj, "dtype", None) == object and hasattr(obj, "ravel"):
        return list(obj.ravel()[:100_000])
    module = type(obj).__module__
    if module.startswith(("sklearn", "xgboost", "lightgbm")) and hasattr(obj, "__dict__"):
        return list(vars(obj).values())
    return []


def _flat(value: Any, depth: int = 0):
    """The items of nested lists, tuples and object arrays (three levels deep at most)."""
    if isinstance(value, (list, tuple)) or getattr(value, "dtype", None) == object:
        for item in (value.ravel() if hasattr(value, "ravel") else value):
            yield from _flat(item, depth + 1) if depth < 3 else ()
    else:
        yield value


# --------------------------------------------------------------------------------------------------
# skops


def check_skops_archive(archive: zipfile.ZipFile, schema: dict, cap: int) -> None:
    """Member sizes within ``cap`` (and all of them within it together), arrays whose header fits their
    member, and decision trees that pass the node checks, all before skops rebuilds anything."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > cap or total > cap:
            raise Cannot(f"its member {info.filename!r:.80} unpacks to {info.file_size:,} bytes (with the members "
                         f"before it {total:,}); the limit is {cap:,} bytes (an eighth of the worker's memory "
                         "limit, --model-memory)")
    for node in _tree_nodes(schema):
        _check_skops_tree(archive, node)


def _tree_nodes(schema: Any):
    todo, steps = [schema], 0
    while todo and steps < 5_000_000:
        steps += 1
        node = todo.pop()
        if isinstance(node, dict):
            if (node.get("__module__"), node.get("__class__")) == _TREE:
                yield node
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)


def _npy(archive: zipfile.ZipFile, node: Any, what: str):
    import io

    import numpy as np

    name = node.get("file") if isinstance(node, dict) else None
    if not isinstance(name, str):
        raise Cannot(f"a decision tree whose {what} is not an array in the archive")
    try:
        data = archive.read(name)
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any malformed member
        raise Cannot(f"a decision tree whose {what} ({name!r:.60}) is not a readable array ({type(err).__name__})") \
            from None


def _json(node: Any, what: str) -> Any:
    try:
        return json.loads(node["content"])
    except (TypeError, KeyError, ValueError, RecursionError):
        raise Cannot(f"a decision tree whose {what} is not a number") from None


def _check_skops_tree(archive: zipfile.ZipFile, node: dict) -> None:
    import numpy as np

    from ._unpickle import _check_nodes

    try:
        args = node["__reduce__"]["args"]["content"]
        state = node["content"]["content"]
        n_features, n_classes, n_outputs = _json(args[0], "width"), _npy(archive, args[1], "classes"), \
            _json(args[2], "outputs")
        nodes, values = _npy(archive, state["nodes"], "nodes"), _npy(archive, state["values"], "values")
        count, depth = _json(state["node_count"], "node count"), _json(state["max_depth"], "depth")
    except (KeyError, TypeError, IndexError):
        raise Cannot("a decision tree stored in a way skops never writes") from None
    if not (type(n_features) is int and 0 < n_features < 2**31 and type(n_outputs) is int and 0 < n_outputs < 2**16
            and n_classes.ndim == 1 and n_classes.dtype.kind in "iu" and len(n_classes) == n_outputs
            and (n_classes >= 1).all()):
        raise Cannot(f"a decision tree of {n_features!r:.20} inputs, {n_outputs!r:.20} outputs and classes "
                     f"{n_classes!r:.60}")
    _check_nodes(np, "a decision tree", nodes, ("left_child", "right_child", "feature"), n_features)
    if not (type(count) is int and count == len(nodes) and type(depth) is int and 0 <= depth < len(nodes)):
        raise Cannot(f"a decision tree of {len(nodes):,} nodes whose state says {count!r:.20} nodes and depth "
                     f"{depth!r:.20}")
    if values.shape != (len(nodes), n_outputs, int(n_classes.max())) or values.dtype != np.float64:
        raise Cannot(f"a decision tree of {len(nodes):,} nodes whose values have shape {values.shape} "
                     f"({values.dtype})")
