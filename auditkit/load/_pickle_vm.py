"""The opcode walker: one pass over a pickle stream, recording every import and never making one.

:class:`VM` reads opcodes the way Python's own unpickler and joblib's ``NumpyUnpickler`` read them,
but pushes placeholders (:mod:`auditkit.load._pickle_stream`) instead of objects.

joblib writes numpy arrays as raw bytes right after a ``NumpyArrayWrapper``
object, inside the pickle stream.  A plain opcode reader (``pickletools``) stops
there with an unknown opcode, and an attacker can put the harmful import after
a large array, where that reader never looks.  The walker reads the wrapper's
shape and dtype, skips exactly the bytes joblib would read (:meth:`VM.read_array`),
and carries on to the end of the stream.
"""

from __future__ import annotations

import codecs
import pickle
import re
import struct
import warnings
from typing import Any

from ._allow import NAW, resolve
from ._pickle_stream import Blob, Cannot, Findings, Global, Obj, Reader

__all__ = ["VM"]

_SMALL = 1 << 16  # strings and bytes longer than this are kept as their length only
_NAW_KEYS = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")


class VM:
    """One pass over one pickle stream, opcode by opcode as pickle._Unpickler.load does; values are
    placeholders.  ``joblib`` says whether BUILD on a NumpyArrayWrapper reads an array (the top-level
    stream, read by joblib's NumpyUnpickler) or not (the nested stream of an object array)."""

    def __init__(self, reader: Reader, found: Findings, joblib: bool) -> None:
        self.r, self.found, self.joblib = reader, found, joblib
        self.stack: list = []
        self.meta: list = []
        self.memo: dict = {}
        self.proto = 0

    def run(self) -> object:
        try:
            while True:
                code = self.r.read(1)[0]
                if code == 0x2E:  # STOP
                    return self.stack.pop()
                handler, proto = _OPCODES.get(code, (None, 0))
                if handler is None:
                    raise Cannot(f"byte {code:#04x} is not a pickle opcode")
                self.found.max_opcode_proto = max(self.found.max_opcode_proto, proto)
                handler(self)
        except Cannot:
            raise
        except Exception as err:  # noqa: BLE001 - a stream that breaks the model would break the loader too
            raise Cannot(f"the pickle is malformed ({type(err).__name__}: {err})") from None

    # helpers --------------------------------------------------------------------------------------
    def push(self, value: object) -> None:
        self.stack.append(value)

    def pop_mark(self) -> list:
        items, self.stack = self.stack, self.meta.pop()
        return items

    def num(self, fmt: str) -> int:
        return struct.unpack(fmt, self.r.read(struct.calcsize(fmt)))[0]

    def text(self, n: int, codec: str) -> object:
        if n < 0:
            raise Cannot("a negative length")
        if n > _SMALL:
            self.r.read(n, keep=False)
            return Blob(n)
        raw = self.r.read(n)
        if codec == "ascii":  # STRING opcodes: Python 3 never writes text with them; Python 2 does
            self.found.py2 = True
            return raw.decode("ascii")
        if codec == "utf-8":
            return str(raw, "utf-8", "surrogatepass")
        return bytearray(raw) if codec == "bytearray" else raw

    def find(self, module: str, name: str) -> Global:
        module, name = resolve(module, name, self.proto)
        self.found.imports[(module, name)] += 1
        return Global(module, name)

    def call(self, callee: object, args: object, how: str) -> Obj:
        if isinstance(callee, Global) and callee.key == ("copyreg", "_reconstructor") and _is_new_naw(args):
            callee, args, how = args[0], (), "new"  # type: ignore[index]  # protocols 0-1: object.__new__(cls)
        if isinstance(callee, Global) and callee.key == NAW:
            obj = Obj(callee, args, how)
            obj.attrs = {} if how == "new" else _naw_init(args)
            return obj
        return Obj(callee, args, how, maybe_naw=isinstance(callee, Obj) or _mentions_naw(args))

    def fill(self, items: list, kind: type) -> None:
        """APPEND(S), SETITEM(S), ADDITEMS: fill the container on top of the stack."""
        target = self.stack[-1]
        if isinstance(target, Obj):  # a container object the file built: whatever goes in may come out
            target.maybe_naw |= _mentions_naw(items)
        elif kind is dict and isinstance(target, dict):
            target.update((items[i], items[i + 1]) for i in range(0, len(items), 2))
        elif isinstance(target, kind):
            getattr(target, "extend" if kind is list else "update")(items)

    def instantiate(self, klass: object, args: list) -> None:
        self.push(self.call(klass, tuple(args), "call" if args else "new"))

    def memo_put(self, key: int) -> None:
        if key < 0:
            raise Cannot("a negative memo index")
        self.memo[key] = self.stack[-1]

    def text_global(self, codec: str) -> Global:
        module = self.r.readline()[:-1].decode(codec)
        return self.find(module, self.r.readline()[:-1].decode(codec))

    # opcodes, in pickletools order -----------------------------------------------------------------
    def op_int(self) -> None:
        data = self.r.readline()
        self.push(False if data == b"00\n" else True if data == b"01\n" else int(data, 0))

    def op_long(self) -> None:
        data = self.r.readline()[:-1]
        self.push(int(data[:-1] if data[-1:] == b"L" else data, 0))

    def op_long_bytes(self, n: int) -> None:
        if n < 0:
            raise Cannot("a LONG with a negative length")
        self.push(int.from_bytes(self.r.read(n), "little", signed=True) if n <= 4096 else self.text(n, "bytes"))

    def op_string(self) -> None:
        data = self.r.readline()[:-1]
        if len(data) < 2 or data[0] != data[-1] or data[0] not in b"\"'":
            raise Cannot("a STRING opcode without quotes")
        self.found.py2 = True
        self.push(codecs.escape_decode(data[1:-1])[0].decode("ascii"))

    def op_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args, "call")

    def op_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        head = state[0] if isinstance(state, tuple) and len(state) == 2 else state
        if isinstance(head, dict) and re.match(r"\d+\.\d+[\w.+-]*\Z", str(head.get("_sklearn_version"))):
            self.found.versions["scikit-learn"] = head["_sklearn_version"]
        if not isinstance(inst, Obj):
            return
        inst.builds.append(state)
        inst.maybe_naw |= _mentions_naw(state)
        if isinstance(inst.callee, Global) and inst.callee.key == ("numpy", "dtype"):
            _dtype(inst, 0)  # a dtype whose stored flags lie about holding objects is a crafted file
        if inst.attrs is not None:
            _naw_setstate(inst.attrs, state)
            if self.joblib:  # joblib's NumpyUnpickler.load_build swaps the wrapper for the array it reads
                self.stack[-1] = self.read_array(inst.attrs)
        elif inst.maybe_naw and self.joblib:
            raise Cannot("an object built in an unusual way may be a joblib array wrapper")

    def op_stack_global(self) -> None:
        name, module = self.stack.pop(), self.stack.pop()
        if type(name) is not str or type(module) is not str:
            raise Cannot("an import whose module or name is not plain text in the file")
        self.push(self.find(module, name))

    def op_ext(self, code: int) -> None:
        key = ("copyreg extension registry", f"code {code}")
        self.found.imports[key] += 1
        self.push(Global(*key))

    def op_proto(self) -> None:
        self.proto = self.r.read(1)[0]
        self.found.protocols.append(self.proto)
        if self.proto > pickle.HIGHEST_PROTOCOL:
            raise Cannot(f"pickle protocol {self.proto} is newer than this Python reads "
                         f"(up to {pickle.HIGHEST_PROTOCOL})")

    def op_newobj(self, n: int) -> None:  # NEWOBJ: cls, args; NEWOBJ_EX: cls, args, kwargs
        if len(self.stack) < n:
            raise IndexError("stack underflow")
        items = self.stack[-n:]
        del self.stack[-n:]
        self.push(self.call(items[0], tuple(items[1:]), "new"))

    def op_obj(self) -> None:
        args = self.pop_mark()
        self.instantiate(args[0], args[1:])

    def op_pop(self) -> None:
        self.stack.pop() if self.stack else self.pop_mark()

    def op_mark(self) -> None:
        self.meta.append(self.stack)
        self.stack = []

    def op_dict(self) -> None:
        items = self.pop_mark()
        self.push({items[i]: items[i + 1] for i in range(0, len(items), 2)})

    def op_tuple_n(self, n: int) -> None:
        if len(self.stack) < n:
            raise IndexError("stack underflow")
        self.stack[len(self.stack) - n:] = [tuple(self.stack[len(self.stack) - n:])]

    def refuse(self, why: str) -> None:
        raise Cannot(why)

    def read_array(self, attrs: dict) -> object:
        """Skip the array joblib reads here (NumpyArrayWrapper.read_array), from the file itself."""
        if "shape" not in attrs or "dtype" not in attrs:
            raise Cannot("a joblib array wrapper without shape or dtype")
        shape, dtype = attrs["shape"], _dtype(attrs["dtype"], 0)
        if not isinstance(shape, (tuple, list)) or not all(type(x) in (int, bool) and x >= 0 for x in shape):
            raise Cannot(f"a joblib array wrapper with shape {shape!r}")
        count = 1
        for x in shape:
            count *= x
        self.found.arrays += 1
        if dtype.hasobject:  # joblib pickles object arrays as a nested stream, read from the file
            inner = Reader(self.r.data, self.r.pos)
            value = VM(inner, self.found, joblib=False).run()
            self.r.pos = inner.pos
            return value
        if attrs.get("numpy_array_alignment_bytes") is not None:  # one byte: how much padding follows
            self.r.file_read(self.r.file_read(1)[0], keep=False)
        if dtype.itemsize == 0 or count * dtype.itemsize >= 2**63:
            raise Cannot(f"a joblib array of {count} items of {dtype.itemsize} bytes")
        self.r.file_read(count * dtype.itemsize, keep=False)
        return Obj(None, (), "array")


_V = VM
#: Opcode -> (handler, protocol that introduced it), for every opcode pickle._Unpickler knows.
_OPCODES: dict[int, tuple] = {ord(code): entry for code, entry in {
    "(": (_V.op_mark, 0), "0": (_V.op_pop, 0), "1": (lambda vm: vm.pop_mark(), 1),
    "2": (lambda vm: vm.push(vm.stack[-1]), 0), "F": (lambda vm: vm.push(float(vm.r.readline()[:-1])), 0),
    "I": (_V.op_int, 0), "J": (lambda vm: vm.push(vm.num("<i")), 1), "K": (lambda vm: vm.push(vm.r.read(1)[0]), 1),
    "M": (lambda vm: vm.push(vm.num("<H")), 1), "L": (_V.op_long, 0),
    "\x8a": (lambda vm: vm.op_long_bytes(vm.r.read(1)[0]), 2),
    "\x8b": (lambda vm: vm.op_long_bytes(vm.num("<i")), 2), "N": (lambda vm: vm.push(None), 0),
    "\x88": (lambda vm: vm.push(True), 2), "\x89": (lambda vm: vm.push(False), 2),
    "P": (lambda vm: vm.refuse("a persistent id, which only the program that wrote the file can resolve"), 0),
    "Q": (lambda vm: vm.refuse("a persistent id, which only the program that wrote the file can resolve"), 1),
    "R": (_V.op_reduce, 0), "S": (_V.op_string, 0),
    "T": (lambda vm: vm.push(vm.text(vm.num("<i"), "ascii")), 1),
    "U": (lambda vm: vm.push(vm.text(vm.r.read(1)[0], "ascii")), 1),
    "V": (lambda vm: vm.push(str(vm.r.readline()[:-1], "raw-unicode-escape")), 0),
    "X": (lambda vm: vm.push(vm.text(vm.num("<I"), "utf-8")), 1),
    "\x8d": (lambda vm: vm.push(vm.text(vm.num("<Q"), "utf-8")), 4),
    "\x8c": (lambda vm: vm.push(vm.text(vm.r.read(1)[0], "utf-8")), 4),
    "B": (lambda vm: vm.push(vm.text(vm.num("<I"), "bytes")), 3),
    "C": (lambda vm: vm.push(vm.text(vm.r.read(1)[0], "bytes")), 3),
    "\x8e": (lambda vm: vm.push(vm.text(vm.num("<Q"), "bytes")), 4),
    "\x96": (lambda vm: vm.push(vm.text(vm.num("<Q"), "bytearray")), 5),
    "\x97": (lambda vm: vm.refuse("an out-of-band buffer (pickle protocol 5), which a file cannot carry"), 5),
    "\x98": (lambda vm: vm.stack[-1], 5),
    "a": (lambda vm: vm.fill([vm.stack.pop()], list), 0), "e": (lambda vm: vm.fill(vm.pop_mark(), list), 1),
    "b": (_V.op_build, 0), "c": (lambda vm: vm.push(vm.text_global("utf-8")), 0), "d": (_V.op_dict, 0),
    "}": (lambda vm: vm.push({}), 1), "g": (lambda vm: vm.push(vm.memo[int(vm.r.readline()[:-1])]), 0),
    "h": (lambda vm: vm.push(vm.memo[vm.r.read(1)[0]]), 1), "j": (lambda vm: vm.push(vm.memo[vm.num("<I")]), 1),
    "i": (lambda vm: vm.instantiate(vm.text_global("ascii"), vm.pop_mark()), 0),
    "l": (lambda vm: vm.push(vm.pop_mark()), 0), "]": (lambda vm: vm.push([]), 1), "o": (_V.op_obj, 1),
    "p": (lambda vm: vm.memo_put(int(vm.r.readline()[:-1])), 0),
    "q": (lambda vm: vm.memo_put(vm.r.read(1)[0]), 1), "r": (lambda vm: vm.memo_put(vm.num("<I")), 1),
    "\x94": (lambda vm: vm.memo_put(len(vm.memo)), 4),
    "s": (lambda vm: vm.fill([vm.stack.pop(-2), vm.stack.pop()], dict), 0),
    "u": (lambda vm: vm.fill(vm.pop_mark(), dict), 1),
    "t": (lambda vm: vm.push(tuple(vm.pop_mark())), 0), ")": (lambda vm: vm.push(()), 1),
    "\x85": (lambda vm: vm.op_tuple_n(1), 2), "\x86": (lambda vm: vm.op_tuple_n(2), 2),
    "\x87": (lambda vm: vm.op_tuple_n(3), 2), "G": (lambda vm: vm.push(vm.num(">d")), 1),
    "\x8f": (lambda vm: vm.push(set()), 4), "\x90": (lambda vm: vm.fill(vm.pop_mark(), set), 4),
    "\x91": (lambda vm: vm.push(frozenset(vm.pop_mark())), 4), "\x80": (_V.op_proto, 2),
    "\x81": (lambda vm: vm.op_newobj(2), 2), "\x92": (lambda vm: vm.op_newobj(3), 4),
    "\x82": (lambda vm: vm.op_ext(vm.r.read(1)[0]), 2), "\x83": (lambda vm: vm.op_ext(vm.num("<H")), 2),
    "\x84": (lambda vm: vm.op_ext(vm.num("<i")), 2), "\x93": (_V.op_stack_global, 4),
    "\x95": (lambda vm: vm.r.load_frame(vm.num("<Q")), 4),
}.items()}


# ---------------------------------------------------------------------------------------------------
# joblib's array wrappers, and the dtypes of the arrays they stand for


def _is_new_naw(args: object) -> bool:
    """copyreg._reconstructor(NumpyArrayWrapper, object, state) is object.__new__(NumpyArrayWrapper)."""
    return (isinstance(args, tuple) and len(args) == 3 and all(isinstance(a, Global) for a in args[:2])
            and args[0].key == NAW and args[1].key == ("builtins", "object"))


def _naw_init(args: object) -> dict:
    if not isinstance(args, tuple) or not 4 <= len(args) <= 6:
        raise Cannot("a joblib array wrapper called with unexpected arguments")
    return dict(zip(_NAW_KEYS, args + (False, 16)[len(args) - 4:]))


def _naw_setstate(attrs: dict, state: object) -> None:
    """pickle's default BUILD (no __setstate__): update __dict__, then slot state."""
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part in parts:
        if not part:
            continue
        if not isinstance(part, dict) or not set(part) <= set(_NAW_KEYS):
            raise Cannot("a joblib array wrapper with unexpected state")
        attrs.update(part)


def _mentions_naw(value: object, budget: int = 10_000) -> bool:
    """Could a call with this value produce a joblib array wrapper (the class or one appears in it)?"""
    todo = [value]
    while todo:
        budget -= 1
        if budget < 0:
            return True
        item = todo.pop()
        if isinstance(item, Global):
            if item.key == NAW:
                return True
        elif isinstance(item, Obj):
            if item.maybe_naw or item.attrs is not None:
                return True
        elif isinstance(item, (tuple, list, set, frozenset)):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
    return False


def _dtype(value: object, depth: int):
    """The numpy dtype a ``numpy.dtype(...)`` call plus BUILD in the file makes.

    Calls ``numpy.dtype`` and ``dtype.__setstate__`` on plain strings, numbers and tuples read from the
    file: the same calls loading would make, on an allow-listed type that cannot import or run code.
    """
    import numpy as np

    if depth > 20 or not isinstance(value, Obj) or not isinstance(value.callee, Global):
        raise Cannot("a joblib array whose dtype the scan cannot read")
    if value.callee.key != ("numpy", "dtype") or value.how != "call" or len(value.builds) > 1:
        raise Cannot("a joblib array whose dtype the scan cannot read")
    args: Any = _plain(value.args, depth)
    state = _plain(value.builds[0], depth) if value.builds else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a dtype numpy warns about is one the scan will not guess at
            made = np.dtype(*args)
            if value.builds:
                made.__setstate__(state)  # type: ignore[attr-defined]  # numpy's own unpickling hook
        clean = np.dtype(made.descr if made.fields else made.str, align=made.isalignedstruct)
    except Exception as err:  # noqa: BLE001 - numpy rejects a malformed dtype in many ways
        raise Cannot(f"a numpy dtype the scan cannot read ({type(err).__name__}: {err})") from None
    if (made.flags, made.itemsize) != (clean.flags, clean.itemsize):
        raise Cannot("a numpy dtype whose stored flags or size contradict its type (a crafted file)")
    return made


def _plain(value: object, depth: int) -> object:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v, depth) for v in value)
    if isinstance(value, dict):
        return {_plain(k, depth): _plain(v, depth) for k, v in value.items()}
    if isinstance(value, Obj) and isinstance(value.callee, Global) and value.callee.key == ("_codecs", "encode"):
        if isinstance(value.args, tuple) and len(value.args) == 2 and value.args[1] in ("latin1", "latin-1"):
            return str(value.args[0]).encode("latin1")  # protocols 0-2 spell bytes this way
    return _dtype(value, depth + 1)
