"""Load a pickle, joblib or skops file: only what the allow-list admits, and only from scanned bytes.

A pickle or joblib file is loaded from the very bytes :mod:`auditkit.load._pickle_scan` scanned,
with an unpickler that enforces the same allow-list (:mod:`auditkit.load._allow`) on every import
as it happens: a second line of defence should the scan and the loader ever disagree.  A skops file
names the types it rebuilds; each is judged by the same allow-list.  ``trust=True`` (the CLI's
``--trust-model``) loads a refused file anyway: it runs the file's code.

Whatever goes wrong while loading (a missing package, another scikit-learn version, a Python 2
file) becomes a message that says what to do about it.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import importlib
import inspect
import io
import pickle
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._text import list_values
from ..exceptions import AuditkitError, InputDataError, UnsafeModelError
from ._allow import allow_rule, classify, resolve
from ._formats import ASK_INSTEAD
from ._loaded import LoadedModel, feature_names_of
from ._pickle_scan import ImportRef, PickleScan
from ._scan_once import scanned_bytes
from ._pickle_stream import Cannot
from ._pickle_vm import NP_DTYPE, brief, dtype_args, numpy_dtype
from ._state_checks import _flat

__all__ = ["load_pickle", "pickle_needs"]

_TRUST_HINT = ("Use --trust-model (trust=True in Python) only if you trust whoever made the file: it runs the "
               "file's code. Do that in a throwaway virtual machine or container.")


class _Blocked(Exception):
    """The loader met an import the allow-list does not admit."""

    def __init__(self, module: str, name: str, why: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name, self.why = module, name, why


def load_pickle(path: Path, trust: bool) -> LoadedModel:
    """Scan a pickle or joblib file; refuse it, or load it from the scanned bytes with the allow-list enforced."""
    raw = path.read_bytes()
    if not raw:
        raise InputDataError(f"Model file {path.name!r} is empty (0 bytes): ask for the file again.")
    scan, data = scanned_bytes(raw, str(path))  # the run's scan of these bytes if it was made already
    if scan.problems and not scan.offending and any("Python 2" in note for note in scan.notes):
        raise InputDataError(f"{path.name!r} was saved by Python 2 (it holds Python 2 text), which Python 3 "
                             f"cannot read reliably. {ASK_INSTEAD}")
    if scan.protocol is not None and scan.protocol > 5:
        raise InputDataError(f"{path.name!r} was written with pickle protocol {scan.protocol} by a newer Python "
                             f"than this one ({sys.version.split()[0]} reads protocols up to 5). Use a newer "
                             f"Python, or {ASK_INSTEAD[0].lower() + ASK_INSTEAD[1:]}")
    notes = list(scan.notes)
    if scan.verdict == "refused" and not trust:
        raise _unsafe(_refusal(path.name, scan.offending, scan.problems), scan)
    if scan.verdict == "refused":
        import joblib

        notes.append("Loaded with --trust-model: the file's code ran, including "
                     f"{list_values([r.qualname for r in scan.offending], limit=50)}, which are not on the allow-list "
                     f"(it imports {list_values([r.qualname for r in scan.imports], limit=50)}).")
        obj, extra = _guarded(lambda: joblib.load(io.BytesIO(raw)), path, scan)
    else:
        if trust:
            notes.append("--trust-model was not needed: every import is on the allow-list, so the file was "
                         "loaded with the allow-list enforced.")
        obj, extra = _guarded(lambda: _restricted_load(data, str(path)), path, scan)
    estimator, unwrap = _unwrap(obj, path.name)
    _check_widths(estimator, path, scan, trust and scan.verdict == "refused")
    return LoadedModel(estimator, scan.format, str(path), hashlib.sha256(raw).hexdigest(), scan,
                       scan.verdict == "refused", pickle_needs(scan), feature_names_of(estimator),
                       tuple(notes + extra + unwrap))


def _check_widths(estimator: object, path: Path, scan: PickleScan, trusted: bool) -> None:
    """Every tree reads only columns its estimator takes (see :mod:`auditkit.load._state_checks`)."""
    if trusted:
        return
    from ._state_checks import check_tree_widths

    try:
        check_tree_widths(estimator)
    except Cannot as err:
        raise _unsafe(_refusal(path.name, (), (f"auditkit stopped loading it: {err}",), loading=True), scan) \
            from None


def _refusal(name: str, offending: tuple[ImportRef, ...], problems: tuple[str, ...], loading: bool = False) -> str:
    lines = [f"Refused to load {name!r}: loading it would run code auditkit cannot vouch for."]
    lines += [f"  - {ref.qualname}: {ref.reason}" for ref in offending]
    lines += [f"  - {problem}" for problem in problems]
    lines += ["auditkit stopped loading it there. The allowed objects before that point were rebuilt in auditkit's "
              "model worker (a separate, limited process), nothing in auditkit itself." if loading else
              "Nothing in the file was executed: auditkit only read its bytes.", ASK_INSTEAD, _TRUST_HINT]
    return "\n".join(lines)


def _unsafe(message: str, scan: PickleScan) -> UnsafeModelError:
    """The refusal, carrying the scan (``inspect`` shows it; see :func:`auditkit.load.model.describe`)."""
    err = UnsafeModelError(message)
    err.scan = scan  # type: ignore[attr-defined]
    return err


def _restricted_load(data: bytes, label: str) -> object:
    """joblib's unpickler, with the allow-list enforced on every import as it happens, and every state
    numpy's C code would take on trust checked first (see :class:`_Checked`)."""
    outer, _ = _unpicklers()
    handle = io.BytesIO(data)
    try:
        unpickler = outer(label, handle, ensure_native_byte_order=True)
    except TypeError:  # joblib before 1.4 has no ensure_native_byte_order
        unpickler = outer(label, handle)
    return unpickler.load()


class _Checked:
    """What auditkit's unpicklers add to pickle's own, for joblib's stream and the nested stream of an
    object array alike.

    - Every import is checked against the allow-list as it happens (a second line of defence after the
      scan), and a class allowed by a naming rule must really be defined in its package.
    - numpy's C code trusts the state it is handed, so none from the file reaches it unchecked:
      ``numpy.dtype.__setstate__`` is never called (numpy.dtype(code) makes a plain dtype; its BUILD is
      checked against exactly what numpy writes and replaced by the dtype it describes, built with numpy's
      public constructors: :func:`auditkit.load._pickle_vm.numpy_dtype`); an array's state, the arguments
      of numpy's array and scalar helpers, and random-number generator positions are checked before numpy
      gets them; numpy.ndarray itself, which builds object arrays from raw bytes, is never called.
    """

    stack: list
    proto: int

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._fresh: dict = {}  # id -> (dtype made by numpy.dtype(code) whose state is to come, code)
        self._final: dict = {}  # id -> (that dtype, the checked dtype its state describes)
        self._heights: dict = {}

    def find_class(self, module: str, name: str) -> object:
        mod, nam = resolve(module, name, self.proto)
        if classify(mod, nam)[0] != "allowed":  # cannot happen after a clean scan: a second line of defence
            raise _Blocked(mod, nam, "the loader met this import, which the scan did not report")
        if (mod, nam) == NP_DTYPE:
            return self._new_dtype
        found = super().find_class(module, name)  # type: ignore[misc]
        rule = allow_rule(mod, nam)  # allowed by a naming rule: check it really is defined in that package
        if rule and not str(getattr(found, "__module__", "")).startswith(rule[0]):
            raise _Blocked(mod, nam, f"it is defined in {getattr(found, '__module__', '?')}, not {rule[0]}: "
                                     "a name imported into that package, not one of its classes")
        return found

    def _new_dtype(self, *args: object) -> object:
        """numpy.dtype(code, False, True), as numpy pickles a dtype: a new plain dtype, whose state comes next."""
        import numpy as np

        code = dtype_args(args)
        try:
            fresh = np.dtype(code, False, True)
        except Exception as err:  # noqa: BLE001 - numpy rejects an unknown type code in several ways
            raise Cannot(f"numpy.dtype({code!r}), which numpy rejects ({type(err).__name__})") from None
        self._fresh[id(fresh)] = (fresh, code)
        return fresh

    def _checked_build(self) -> bool:
        """Check a BUILD before pickle runs it; True when it was done here (a dtype's state)."""
        import numpy as np

        if len(self.stack) < 2:
            raise Cannot("a BUILD with nothing to build")
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.dtype):
            fresh = self._fresh.pop(id(inst), None)
            if fresh is None or fresh[0] is not inst:
                raise Cannot("the file sets the state of a numpy dtype twice, or of one it did not make with "
                             "numpy.dtype, which numpy never writes")
            made = numpy_dtype((fresh[1], False, True), state, self._heights)
            self._final[id(inst)] = (inst, made)
            self.stack.pop()
            self.stack[-1] = made
            return True
        if isinstance(inst, np.generic):
            raise Cannot("the file sets the state of a numpy scalar, which numpy never writes")
        if isinstance(inst, type) or inspect.isroutine(inst) or inspect.ismodule(inst):
            raise Cannot(f"the file sets the state of {getattr(inst, '__module__', '?')}."
                         f"{getattr(inst, '__qualname__', '?')} itself (a BUILD on a class or function), which no "
                         "library writes: it would change that class for the whole program")
        if isinstance(inst, np.ndarray):
            _check_array_state(np, inst, state)
        else:
            _check_random_state(np, inst, state)
            _check_tree_state(np, inst, state)
        return False

    def _swap_final(self) -> None:
        """After a memo fetch: a dtype whose state has been set is the checked dtype that state describes."""
        top = self.stack[-1]
        final = self._final.get(id(top))
        if final is not None and final[0] is top:
            self.stack[-1] = final[1]

    def _check_call(self, func: object, args: object) -> None:
        """Refuse calls that would hand numpy's C code something it trusts without checking."""
        import numpy as np

        if isinstance(args, list):
            args = tuple(args)
        if not isinstance(args, tuple):
            raise Cannot("a call whose arguments are not a tuple, which pickle never writes")
        classes = [func]
        if any(func is getattr(copyreg, helper) for helper in ("__newobj__", "__newobj_ex__", "_reconstructor")):
            classes += args[:2]
        for cls in classes:
            if cls is np.ndarray:
                raise Cannot("numpy.ndarray called directly, which numpy never writes (it pickles arrays with "
                             "_reconstruct or _frombuffer); called with the file's bytes it can make an array of "
                             "object pointers read from the file, which crashes the program that reads it")
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                raise Cannot("a numpy dtype made in a way numpy never writes")
        for helper, check in _call_checks():
            if func is helper:
                check(np, args)

    # pickle's opcodes that call or build something, checked first
    def load_reduce(self) -> None:
        if len(self.stack) >= 2:
            self._check_call(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_reduce(self)  # type: ignore[attr-defined]

    def load_newobj(self) -> None:
        if len(self.stack) >= 2:
            self._check_call(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_newobj(self)  # type: ignore[attr-defined]

    def load_newobj_ex(self) -> None:
        if len(self.stack) >= 3:
            self._check_call(self.stack[-3], self.stack[-2])
        pickle._Unpickler.load_newobj_ex(self)  # type: ignore[attr-defined]

    def _instantiate(self, klass: object, args: list) -> None:  # INST and OBJ
        self._check_call(klass, args)
        pickle._Unpickler._instantiate(self, klass, args)  # type: ignore[attr-defined]

    def load_get(self) -> None:
        pickle._Unpickler.load_get(self)  # type: ignore[attr-defined]
        self._swap_final()

    def load_binget(self) -> None:
        pickle._Unpickler.load_binget(self)  # type: ignore[attr-defined]
        self._swap_final()

    def load_long_binget(self) -> None:
        pickle._Unpickler.load_long_binget(self)  # type: ignore[attr-defined]
        self._swap_final()


_CHECKED_OPS = {pickle.REDUCE: "load_reduce", pickle.NEWOBJ: "load_newobj", pickle.NEWOBJ_EX: "load_newobj_ex",
                pickle.GET: "load_get", pickle.BINGET: "load_binget", pickle.LONG_BINGET: "load_long_binget",
                pickle.BUILD: "load_build"}


@functools.cache
def _unpicklers() -> tuple[type, type]:
    """auditkit's unpicklers: for joblib's stream (joblib's NumpyUnpickler, which reads the arrays joblib
    stores inline), and for the nested pickle stream joblib writes an object array as."""
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    try:
        from joblib.numpy_pickle_utils import _ensure_native_byte_order  # type: ignore[import-untyped]
    except ImportError:  # joblib before 1.4
        _ensure_native_byte_order = None

    class Nested(_Checked, pickle._Unpickler):  # type: ignore[misc]
        def load_build(self) -> None:
            if not self._checked_build():
                pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

    class Outer(_Checked, NumpyUnpickler):  # type: ignore[misc]
        def load_build(self) -> None:
            """joblib's NumpyUnpickler.load_build, checked: the wrapper's array is read from the file."""
            if self._checked_build():
                return
            pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
            if isinstance(self.stack[-1], NumpyArrayWrapper):
                self.stack[-1] = self._read_array(self.stack[-1])

        def _read_array(self, wrapper: object) -> object:
            import numpy as np

            dtype, order = getattr(wrapper, "dtype", None), getattr(wrapper, "order", None)
            if not isinstance(dtype, np.dtype) or type(order) is not str or order not in ("C", "F"):
                raise Cannot(f"a joblib array of type {brief(dtype)} in order {brief(order)}")
            _count(np, getattr(wrapper, "shape", None), dtype.itemsize, "a joblib array")
            native = getattr(self, "ensure_native_byte_order", None)
            if dtype.hasobject:  # joblib pickles an object array as a nested stream: read it as checked
                array = Nested(self.file_handle).load()
                return _ensure_native_byte_order(array) if native and _ensure_native_byte_order else array
            if dtype.itemsize == 0:
                raise Cannot("a joblib array of items of 0 bytes")
            return wrapper.read(self, native) if native is not None else wrapper.read(self)  # type: ignore

    for cls in (Nested, Outer):
        cls.dispatch = dict(cls.__mro__[2].dispatch)  # type: ignore[attr-defined,union-attr]
        cls.dispatch.update({op[0]: getattr(cls, name) for op, name in _CHECKED_OPS.items()})
    return Outer, Nested


def _count(np, shape: object, itemsize: int, what: str) -> int:
    """The number of items of an array of this shape; refuse a shape numpy never writes or too large."""
    if not (type(shape) is tuple and len(shape) <= 64 and all(type(n) is int and 0 <= n < 2**62 for n in shape)):
        raise Cannot(f"{what} of shape {brief(shape)}")
    count = 1
    for n in shape:
        count *= n
    if count * max(itemsize, 1) >= 2**40:  # more than the 4 GiB auditkit decompresses could hold, by far
        raise Cannot(f"{what} of {count:,} items of {itemsize} bytes")
    return count


def _check_array_state(np, inst: object, state: object) -> None:
    """ndarray.__setstate__((1, shape, dtype, fortran, data)), and MaskedArray's (... , mask, fill_value):
    numpy reads as many items as the shape says from the data, so the data must hold exactly that."""
    masked = isinstance(inst, np.ma.MaskedArray)
    size = 7 if masked else 5
    if not (type(state) is tuple and len(state) == size and type(state[0]) is int and state[0] == 1):
        raise Cannot(f"an array whose state is {brief(state)}, not the {size}-item tuple numpy writes")
    _, shape, dtype, fortran, data = state[:5]
    if not isinstance(dtype, np.dtype) or type(fortran) not in (bool, int) or fortran not in (0, 1):
        raise Cannot(f"an array whose state is {brief(state)}, not the {size}-item tuple numpy writes")
    count = _count(np, shape, dtype.itemsize, "an array")
    if dtype.hasobject:  # numpy writes the items as a list, and reads one from it for every item
        if type(data) is not list or len(data) != count:
            raise Cannot(f"an array of {count:,} Python objects whose state holds {brief(data)}")
    elif type(data) not in (bytes, bytearray) or len(data) != count * dtype.itemsize:
        raise Cannot(f"an array of {count:,} items of {dtype.itemsize} bytes whose state holds {brief(data)}")
    if masked:
        need = count * np.ma.make_mask_descr(dtype).itemsize
        if type(state[5]) not in (bytes, bytearray) or len(state[5]) != need:
            raise Cannot(f"a masked array of {count:,} items whose mask holds {brief(state[5])}")


def _check_random_state(np, inst: object, state: Any) -> None:
    """Random-number generators keep a position in their buffer that numpy does not check: an MT19937
    position past 624, or a Philox one outside 0-4, reads memory outside the generator; a SeedSequence
    reads as many items from its pool as its stated pool size."""
    from numpy.random import MT19937, Generator, Philox, RandomState, SeedSequence
    from numpy.random.bit_generator import BitGenerator

    if isinstance(inst, SeedSequence):
        if not _seed_state_ok(np, state):
            raise Cannot(f"a numpy SeedSequence whose state is {brief(state)}")
        return
    if isinstance(inst, RandomState):
        bitgen = inst._bit_generator
        if type(state) is tuple and len(state) >= 3 and state[:1] == ("MT19937",):  # RandomState.get_state()
            state = {"bit_generator": "MT19937", "state": {"key": state[1], "pos": state[2]}}
    elif isinstance(inst, Generator):
        bitgen = inst.bit_generator
    elif isinstance(inst, BitGenerator):
        bitgen = inst
        if type(state) is tuple and len(state) == 2:  # numpy 2: (state, seed sequence)
            state = state[0]
    else:
        return
    inner: Any = state.get("state") if type(state) is dict else None
    if isinstance(bitgen, MT19937):
        pos = inner.get("pos") if type(inner) is dict else None
        if not (type(pos) is int and 0 <= pos <= 624 and len(inner.get("key", ())) == 624):
            raise Cannot(f"an MT19937 random-number generator whose state is {brief(state)}")
    elif isinstance(bitgen, Philox):
        pos = state.get("buffer_pos") if type(state) is dict else None
        if not (type(pos) is int and 0 <= pos <= 4):
            raise Cannot(f"a Philox random-number generator whose state is {brief(state)}")


def _check_tree_state(np, inst: Any, state: Any) -> None:
    """scikit-learn's compiled trees follow the child indices and read the feature columns their nodes name,
    unchecked: a crafted node sends prediction to memory outside the tree or the data, and crashes it.
    A decision tree (sklearn.tree._tree.Tree) and a histogram gradient-boosting tree (TreePredictor) must be
    what scikit-learn builds: every split's children come after it and inside the tree, and its feature is
    one the tree has."""
    kind = f"{type(inst).__module__}.{type(inst).__name__}"
    if kind == "sklearn.tree._tree.Tree":
        nodes: Any = state.get("nodes") if type(state) is dict else None
        count = state.get("node_count") if type(state) is dict else None
        depth = state.get("max_depth") if type(state) is dict else None
        _check_nodes(np, "a decision tree", nodes, ("left_child", "right_child", "feature"), inst.n_features)
        if not (type(count) is int and count == len(nodes) and type(depth) is int and 0 <= depth < len(nodes)):
            raise Cannot(f"a decision tree of {len(nodes):,} nodes whose state says {brief(count)} nodes "
                         f"and depth {brief(depth)}")
    elif kind == "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor":
        nodes = state.get("nodes") if type(state) is dict else None  # checked by _check_nodes
        bitsets: list = [state.get(k) for k in ("binned_left_cat_bitsets", "raw_left_cat_bitsets")] \
            if type(state) is dict else [None]
        if not all(isinstance(b, np.ndarray) and b.ndim == 2 and b.shape[1] == 8 for b in bitsets):  # 256 bits
            raise Cannot("a gradient-boosting tree without its category bitsets")
        fields = ("left", "right", "feature_idx", "is_leaf", "is_categorical", "bitset_idx")
        rows = min(len(b) for b in bitsets)  # a categorical split reads row bitset_idx of both bitsets
        _check_nodes(np, "a gradient-boosting tree", nodes, fields, 2**62,
                     lambda n: (n["is_categorical"] == 0) | (n["bitset_idx"].astype(np.int64) < rows))
    elif type(state) is dict and type(state.get("n_features_in_")) is int and "_predictors" in state:
        width = state["n_features_in_"]  # histogram gradient boosting: its trees read that many columns
        for tree in _flat(state["_predictors"]):
            nodes = getattr(tree, "nodes", None)
            if isinstance(nodes, np.ndarray) and nodes.dtype.names and "feature_idx" in nodes.dtype.names and (
                    (nodes["is_leaf"] == 0) & (nodes["feature_idx"] >= width)).any():
                raise Cannot(f"a gradient-boosting model of {width} inputs with a split on a later input")




def _check_nodes(np, what: str, nodes: Any, fields: tuple, n_features: int, also=None) -> None:
    """Tree nodes (a record array with ``fields``: left child, right child, feature, ...): a leaf has no
    children (-1, or the is_leaf flag); a split's children come after it inside the tree (so following them
    always ends), its feature is below ``n_features``, and ``also(nodes)`` holds for it if given."""
    if not (isinstance(nodes, np.ndarray) and nodes.ndim == 1 and nodes.dtype.names
            and set(fields) <= set(nodes.dtype.names) and 1 <= len(nodes) < 2**40):
        raise Cannot(f"{what} whose nodes are {brief(nodes)}")
    left, right, feature = (nodes[f].astype(np.int64) for f in fields[:3])
    here = np.arange(len(nodes))
    leaf = (nodes["is_leaf"] != 0) if "is_leaf" in fields else (left == -1)
    split = ~leaf
    ok = (left > here) & (left < len(nodes)) & (right > here) & (right < len(nodes)) & (feature >= 0) & (
        feature < n_features)
    if also is not None:
        ok &= also(nodes)
    bad = split & ~ok
    if "is_leaf" not in fields:
        bad |= leaf & (right != -1)
    if bad.any():
        at = int(np.argmax(bad))
        raise Cannot(f"{what} whose node {at} leads to nodes {int(left[at])} and {int(right[at])} on feature "
                     f"{int(feature[at])}, outside the tree's {len(nodes):,} nodes or its features")


def _check_reconstruct(np, args: tuple) -> None:
    """numpy's _reconstruct(cls, (0,), b'b') makes the empty array a BUILD then fills."""
    if not (len(args) == 3 and type(args[1]) is tuple and len(args[1]) == 1 and type(args[1][0]) is int
            and args[1][0] == 0 and type(args[2]) in (bytes, str) and args[2] in (b"b", "b")):
        raise Cannot(f"numpy's _reconstruct called with {brief(args)}, not the (class, (0,), b'b') numpy writes")


def _check_mareconstruct(np, args: tuple) -> None:
    """numpy.ma's _mareconstruct(cls, base class, (0,), 'b'), the empty masked array a BUILD then fills."""
    if not (len(args) == 4 and type(args[2]) is tuple and len(args[2]) == 1 and type(args[2][0]) is int
            and args[2][0] == 0 and type(args[3]) in (bytes, str) and args[3] in (b"b", "b")):
        raise Cannot(f"numpy's _mareconstruct called with {brief(args)}, not what numpy writes")


def _check_scalar(np, args: tuple) -> None:
    """numpy's scalar(dtype, bytes): exactly one item's bytes, of a type that holds no Python objects."""
    if not (len(args) == 2 and isinstance(args[0], np.dtype) and not args[0].hasobject
            and type(args[1]) is bytes and len(args[1]) == args[0].itemsize):
        raise Cannot(f"a numpy scalar made from {brief(args)}, not (dtype, one item's bytes)")


def _check_frombuffer(np, args: tuple) -> None:
    """numpy's _frombuffer(bytes, dtype, shape, order) (pickle protocol 5): bytes for exactly that shape."""
    if len(args) == 4 and isinstance(args[1], np.dtype) and not args[1].hasobject and args[1].itemsize:
        try:
            count = _count(np, args[2], args[1].itemsize, "a numpy array")
        except Cannot:
            count = -1
        if type(args[0]) in (bytes, bytearray) and len(args[0]) == count * args[1].itemsize and \
                type(args[3]) is str and args[3] in ("C", "F"):
            return
    raise Cannot(f"numpy's _frombuffer called with {brief(args)}, not (bytes, dtype, shape, order) that agree")


def _check_seed_sequence(np, args: tuple) -> None:
    """Cython's rebuild of a SeedSequence: (class, checksum, state or None; the state then comes by BUILD)."""
    if len(args) != 3 or (args[2] is not None and not _seed_state_ok(np, args[2])):
        raise Cannot(f"a numpy SeedSequence rebuilt from {brief(args)}")


def _seed_state_ok(np, state: object) -> bool:
    """A SeedSequence's state, (entropy, children spawned, pool, pool size, spawn key): numpy reads
    ``pool size`` items from ``pool``."""
    if not (type(state) is tuple and len(state) == 5):
        return False
    pool, size = state[2], state[3]
    return (isinstance(pool, np.ndarray) and pool.dtype == np.uint32 and pool.ndim == 1 and type(size) is int
            and 1 <= size <= 2**16 and pool.shape[0] == size)


@functools.cache
def _call_checks() -> tuple:
    """(numpy helper, check of its arguments) for the helpers numpy pickles arrays and scalars with."""
    found = []
    for module, name, check in (("numpy._core.multiarray", "_reconstruct", _check_reconstruct),
                                ("numpy._core.multiarray", "scalar", _check_scalar),
                                ("numpy._core.numeric", "_frombuffer", _check_frombuffer),
                                ("numpy.ma.core", "_mareconstruct", _check_mareconstruct),
                                ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence", _check_seed_sequence)):
        for spelling in (module, module.replace("numpy._core", "numpy.core")):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    found.append((getattr(importlib.import_module(spelling), name), check))
                break
            except (ImportError, AttributeError):
                continue
    return tuple(found)


def _guarded(load: Callable[[], object], path: Path, scan: PickleScan) -> tuple[object, list[str]]:
    """Run ``load``, turning version warnings and import failures into messages that say what to do."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = load()
        except AuditkitError:
            raise
        except _Blocked as err:
            ref = ImportRef(err.module, err.name, "unknown", err.why)
            raise _unsafe(_refusal(path.name, (ref,), (), loading=True), scan) from None
        except Cannot as err:  # the loader's own checks: state numpy would have taken on trust
            raise _unsafe(_refusal(path.name, (), (f"auditkit stopped loading it: {err}",), loading=True), scan) \
                from None
        except (ImportError, AttributeError) as err:
            raise InputDataError(_import_failure(path.name, err, scan)) from None
        except (UnicodeDecodeError, ValueError) as err:
            if isinstance(err, UnicodeDecodeError) or "python 2" in str(err).lower():
                raise InputDataError(f"{path.name!r} was saved by Python 2, which Python 3 cannot read reliably. "
                                     f"{ASK_INSTEAD}") from None
            raise InputDataError(f"Could not load {path.name!r}: {err}. The file may be corrupt. "
                                 f"{ASK_INSTEAD}") from None
        except Exception as err:  # noqa: BLE001 - any failure inside a model's own loading code
            raise InputDataError(f"Could not load {path.name!r} ({type(err).__name__}: {err}). The file may be "
                                 f"corrupt or need other library versions. {ASK_INSTEAD}") from None
    notes = []
    for w in caught:
        if type(w.message).__name__ == "InconsistentVersionWarning":
            saved = getattr(w.message, "original_sklearn_version", None) or scan.versions.get("scikit-learn")
            raise InputDataError(_sklearn_mismatch(path.name, saved, str(w.message)))
        notes.append(f"Warning while loading: {w.message}")
    return obj, notes


def _import_failure(name: str, err: Exception, scan: PickleScan) -> str:
    missing = getattr(err, "name", None) or ""
    if missing.split(".")[0] == "sklearn" or (isinstance(err, AttributeError) and "sklearn" in str(err)):
        return _sklearn_mismatch(name, scan.versions.get("scikit-learn"), str(err))
    top = missing.split(".")[0]
    known = {"xgboost", "lightgbm", "pandas", "scipy", "pyarrow", "numpy", "joblib"}
    if top in known and top in sys.modules:
        version = getattr(sys.modules[top], "__version__", "?")
        return (f"{name!r} needs {missing!r}, which the installed {top} {version} does not have: the file was saved "
                f"with another version of {top}. Audit it in a virtual environment with the version the agency "
                "used, or ask for an ONNX or skops export.")
    if top in known:
        return f"{name!r} needs the Python package {top!r}, which is not installed: pip install {top}"
    if isinstance(err, ModuleNotFoundError):
        return (f"{name!r} needs the Python module {missing!r} (module not found). It is not installed here, and "
                f"is probably the agency's own code. {ASK_INSTEAD} Or ask for that package, install it in a "
                "throwaway virtual machine, and load the file there with --trust-model.")
    return f"Could not load {name!r} ({type(err).__name__}: {err}). {ASK_INSTEAD}"


def _sklearn_mismatch(name: str, saved: str | None, detail: str) -> str:
    import sklearn

    have = sklearn.__version__
    if saved == have:
        return (f"{name!r} names a scikit-learn object that scikit-learn {have} does not have ({detail}), although "
                f"the file says it was saved with this very version: it is corrupt or was edited. {ASK_INSTEAD}")
    was = f"scikit-learn {saved}" if saved else "another (older) scikit-learn version (the file does not say which)"
    fix = (f"python -m venv sk && . sk/bin/activate && pip install scikit-learn=={saved} auditkit" if saved
           else "a virtual environment with the scikit-learn version the agency used")
    return (f"{name!r} was saved with {was}, and this environment has scikit-learn {have}: scikit-learn models "
            f"do not load, or may predict differently, across versions ({detail.strip().splitlines()[0]}). "
            f"Audit it in {fix}, or ask the agency for an ONNX or skops export.")


_PIP = {"sklearn": "scikit-learn"}
_STDLIB = {"builtins", "copyreg", "_codecs", "collections", "datetime", "copyreg extension registry"}


def pickle_needs(scan: PickleScan) -> dict[str, str]:
    """The packages the file imports from (pip names), with the versions the file records."""
    tops = sorted({ref.module.split(".")[0] for ref in scan.imports} - _STDLIB)
    return {_PIP.get(t, t): scan.versions.get(_PIP.get(t, t), "") for t in tops}


def _is_model(obj: object) -> bool:
    return any(hasattr(obj, m) for m in ("predict_proba", "decision_function", "predict"))


def _unwrap(obj: object, name: str) -> tuple[object, list[str]]:
    """The model in a loaded object: the object itself, or the one model inside a dict, list or tuple."""
    if _is_model(obj):
        return obj, []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else []
    found = [(key, value) for key, value in items if _is_model(value)]
    if len(found) == 1:
        return found[0][1], [f"The file holds a {type(obj).__name__}; its entry {found[0][0]!r} is the model."]
    what = f"{type(obj).__module__}.{type(obj).__qualname__}"
    many = f" with {len(found)} models in it" if found else ""
    raise InputDataError(f"{name!r} holds a {what}{many}, not one model (nothing with predict, predict_proba or "
                         "decision_function). If it holds scores, save them as CSV and audit them with "
                         "`auditkit audit --score`.")
