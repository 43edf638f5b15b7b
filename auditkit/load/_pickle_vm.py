"""The opcode walker: one pass over a pickle stream, recording every import and never making one.

:class:`VM` reads opcodes the way Python's own unpickler and joblib's ``NumpyUnpickler`` read them,
but pushes placeholders (:mod:`auditkit.load._pickle_stream`) instead of objects.

joblib writes numpy arrays as raw bytes right after a ``NumpyArrayWrapper``
object, inside the pickle stream.  A plain opcode reader (``pickletools``) stops
there with an unknown opcode, and an attacker can put the harmful import after
a large array, where that reader never looks.  The walker reads the wrapper's
shape and dtype, skips exactly the bytes joblib would read (:meth:`VM.read_array`),
and carries on to the end of the stream.

To know an array's item size the walker needs the real numpy dtype, but numpy's
``dtype.__setstate__`` trusts its state (a datetime type without its unit crashes the
process), so it is never called: :func:`numpy_dtype` checks the state against exactly
what numpy writes and builds the dtype with numpy's public constructors.  A dtype used
before its state is set (numpy never writes that; the state could then turn an array
made in between into one of object pointers) and ``numpy.ndarray`` called directly are
refused.  The loader (:mod:`auditkit.load._unpickle`) applies the same checks.
"""

from __future__ import annotations

import codecs
import pickle
import re
import reprlib
import struct
import time
import warnings

from ._allow import NAW, resolve
from ._pickle_stream import Blob, Cannot, Findings, Global, Obj, Reader

__all__ = ["EARLY_DTYPE", "NP_DTYPE", "NP_NDARRAY", "VM", "brief", "dtype_args", "numpy_dtype"]

_SMALL = 1 << 16  # strings and bytes longer than this are kept as their length only
#: Items the scan may look at inside the values it follows, over the whole file (see _mentions).
SCAN_WORK = 5_000_000
_KEY_ITEMS = 10_000
#: Seconds the scan of one file may take.
SCAN_SECONDS = 300.0
SCAN_BUDGET = (f"scanning it takes more work than auditkit allows ({SCAN_WORK:,} steps: the file makes the scan "
               "look through the same large values again and again, as a file crafted to make the scan slow does)")
_NAW_KEYS = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")
NP_DTYPE = ("numpy", "dtype")
NP_NDARRAY = ("numpy", "ndarray")
_COPYREG_NEW = (("copyreg", "__newobj__"), ("copyreg", "__newobj_ex__"), ("copyreg", "_reconstructor"))
EARLY_DTYPE = ("a numpy dtype used before the file sets its state, which numpy never writes (a crafted file "
               "can change the type of an array made in between, and crash the program that reads it)")
#: What numpy writes between a dtype and its state: the dtypes of its fields, and bytes (protocols 0-2)
_IN_DTYPE_STATE = (NP_DTYPE, ("_codecs", "encode"))


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
        self.pending = 0  # numpy.dtype(...) calls whose BUILD has not come yet
        self.heights: dict = {}  # id -> (checked dtype, how deeply it nests others), see numpy_dtype

    def run(self) -> object:
        try:
            while True:
                self.found.ops += 1
                if not self.found.ops & 0xFFFF and time.monotonic() > self.found.deadline:
                    raise Cannot(f"scanning it takes longer than {SCAN_SECONDS:g} s, the scan's time limit (a file "
                                 "crafted to make the scan slow, or a model far larger than any auditkit has seen)")
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
        if self.pending and not (isinstance(callee, Global) and callee.key in _IN_DTYPE_STATE):
            raise Cannot(EARLY_DTYPE)  # numpy writes nothing else between a dtype and its state
        makes = _classes_made(callee, args)
        if NP_NDARRAY in makes:
            raise Cannot("numpy.ndarray called directly, which numpy never writes (it pickles arrays with "
                         "_reconstruct or _frombuffer); called with the file's bytes it can make an array of "
                         "object pointers read from the file, which crashes the program that reads it")
        if NP_DTYPE in makes:
            if not (isinstance(callee, Global) and callee.key == NP_DTYPE and how == "call"):
                raise Cannot("a numpy dtype made in a way numpy never writes")
            dtype_args(args)
            obj = Obj(callee, args, how)
            obj.pending = True
            self.pending += 1
            return obj
        if isinstance(callee, Global) and callee.key == ("copyreg", "_reconstructor") and _is_new_naw(args):
            callee, args, how = args[0], (), "new"  # type: ignore[index]  # protocols 0-1: object.__new__(cls)
        if isinstance(callee, Global) and callee.key == NAW:
            obj = Obj(callee, args, how)
            obj.attrs = {} if how == "new" else _naw_init(args)
            return obj
        return Obj(callee, args, how, maybe_naw=isinstance(callee, Obj) or self.mentions_naw(args))

    def mentions_naw(self, value: object) -> bool:
        """Could a call with this value produce a joblib array wrapper (the class or one appears in it)?"""
        return _mentions(value, _is_naw, self.found)

    def fill(self, items: list, kind: type) -> None:
        """APPEND(S), SETITEM(S), ADDITEMS: fill the container on top of the stack."""
        target = self.stack[-1]
        if self.pending and isinstance(target, Obj):
            raise Cannot(EARLY_DTYPE)
        if isinstance(target, Obj):  # a container object the file built: whatever goes in may come out
            target.maybe_naw |= self.mentions_naw(items)
        elif kind is dict and isinstance(target, dict):
            target.update((self.key(items[i]), items[i + 1]) for i in range(0, len(items), 2))
        elif isinstance(target, kind):
            getattr(target, "extend" if kind is list else "update")(map(self.key, items) if kind is set else items)

    def key(self, value: object) -> object:
        """``value`` as a dict key or set member: a tuple is hashed through everything in it, and tuples
        that hold the same tuple twice, level upon level, would take the scan years to hash -- refused
        beyond :data:`_KEY_ITEMS` items, counted as hashing counts them."""
        if isinstance(value, (tuple, frozenset)):
            todo, left = [value], _KEY_ITEMS
            while todo:
                item = todo.pop()
                left -= 1
                self.found.work -= 1
                if left < 0 or self.found.work < 0:
                    raise Cannot("a dict key or set member that holds more than "
                                 f"{_KEY_ITEMS:,} values (counting repeats), which would take hours to hash")
                if isinstance(item, (tuple, frozenset)):
                    todo.extend(item)
        return value

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
        if self.pending and not (isinstance(inst, Obj) and inst.pending):
            raise Cannot(EARLY_DTYPE)  # only the dtypes in a dtype's state are built before that state is set
        if isinstance(inst, Global):
            raise Cannot(f"the file sets the state of {inst!r} itself (a BUILD on an imported class or function), "
                         "which no library writes: it would change that class for the whole program")
        if not isinstance(inst, Obj):
            return
        if isinstance(inst.callee, Global) and inst.callee.key == NP_DTYPE:
            if not inst.pending:
                raise Cannot("a numpy dtype whose state is set twice, which numpy never writes")
            # numpy.dtype.__setstate__ trusts its state: never call it, check the state against what numpy
            # writes and build the dtype that state describes with numpy's public constructors instead
            budget = [min(1_000_000, self.found.work)]
            first = budget[0]
            inst.made = numpy_dtype(_plain(inst.args, budget, {}), _plain(state, budget, {}), self.heights)
            self.found.work -= first - budget[0]
            inst.pending = False
            self.pending -= 1
            inst.builds.append(state)
            return
        inst.builds.append(state)
        inst.maybe_naw |= self.mentions_naw(state)
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
        self.push({self.key(items[i]): items[i + 1] for i in range(0, len(items), 2)})

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
        shape, dtype = attrs["shape"], _dtype(attrs["dtype"])
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
    "\x91": (lambda vm: vm.push(frozenset(map(vm.key, vm.pop_mark()))), 4), "\x80": (_V.op_proto, 2),
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


def _is_naw(item: object) -> bool:
    if isinstance(item, Global):
        return item.key == NAW
    return isinstance(item, Obj) and (item.maybe_naw or item.attrs is not None)


def _classes_made(callee: object, args: object) -> set:
    """The imported classes whose ``__new__`` a call runs: the callee, or the class copyreg's helpers make."""
    made = {callee.key} if isinstance(callee, Global) else set()
    if isinstance(callee, Global) and callee.key in _COPYREG_NEW and isinstance(args, tuple):
        made.update(a.key for a in args[:2] if isinstance(a, Global))
    return made


def _mentions(value: object, hit, found: Findings, budget: int = 10_000) -> bool:
    """Does ``hit`` hold for the value or anything in it (True too when it holds more than ``budget`` items,
    or it is too large to tell)?  Each item looked at is charged to the scan's work budget (``found.work``):
    a file that makes the scan look at the same large container again and again is refused when that
    runs out, in seconds, instead of scanning for minutes or hours."""
    todo = [value]
    while todo:
        budget -= 1
        found.work -= 1
        if found.work < 0:
            raise Cannot(SCAN_BUDGET)
        if budget < 0:
            return True
        item = todo.pop()
        if isinstance(item, (Global, Obj)):
            if hit(item):
                return True
        elif isinstance(item, (tuple, list, set, frozenset, dict)):
            if len(todo) + len(item) * (2 if isinstance(item, dict) else 1) > budget:
                return True  # more than the budget can look at: too large to tell (never copied onto todo)
            if isinstance(item, dict):
                todo.extend(item.keys())
                todo.extend(item.values())
            else:
                todo.extend(item)
    return False


def _dtype(value: object):
    """The checked numpy dtype a ``numpy.dtype(...)`` call plus its BUILD in the file stands for."""
    if not isinstance(value, Obj) or value.made is None:
        raise Cannot("a joblib array whose dtype the scan cannot read")
    return value.made


def _plain(value: object, budget: list, seen: dict) -> object:
    """A value from the file as plain Python: numbers, text, bytes, tuples, lists, dicts and checked dtypes."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    key = id(value)
    if key in seen:
        if seen[key] is _BUSY:
            raise Cannot("a numpy dtype whose state holds itself")
        return seen[key]
    budget[0] -= 1
    if budget[0] < 0:
        raise Cannot("a numpy dtype whose state is too large to check")
    seen[key] = _BUSY
    if isinstance(value, (tuple, list)):
        out: object = type(value)(_plain(v, budget, seen) for v in value)
    elif isinstance(value, dict):
        out = {_plain(k, budget, seen): _plain(v, budget, seen) for k, v in value.items()}
    elif isinstance(value, Obj) and isinstance(value.callee, Global) and value.callee.key == NP_DTYPE:
        if value.made is None:
            raise Cannot(EARLY_DTYPE)
        out = value.made
    elif (isinstance(value, Obj) and isinstance(value.callee, Global) and value.callee.key == ("_codecs", "encode")
          and isinstance(value.args, tuple) and len(value.args) == 2 and isinstance(value.args[0], str)
          and value.args[1] in ("latin1", "latin-1")):
        try:
            out = value.args[0].encode("latin1")  # protocols 0-2 spell bytes this way
        except UnicodeEncodeError:
            raise Cannot("bytes written as text that is not latin-1") from None
    else:
        raise Cannot(f"a numpy dtype whose state holds {brief(value)}, not plain values")
    seen[key] = out
    return out


_BUSY = object()

# ---------------------------------------------------------------------------------------------------
# numpy dtypes.  numpy pickles a dtype as numpy.dtype(code, False, True) followed by BUILD with the state
# tuple of its __reduce__: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]).
# dtype.__setstate__ trusts that state (a datetime type without its unit, or fields that are not dtypes,
# crash the process), so neither the scan nor the loader ever calls it.  numpy_dtype checks the state
# against exactly what numpy writes, builds the dtype it describes with numpy's public constructors, and
# requires that dtype to reduce to the very same state.

_TYPECODE = re.compile(r"[biufcmMOSUV][0-9]{1,10}\Z")
_DATETIME_UNITS = frozenset("Y M W D h m s ms us ns ps fs as generic".split())
_MAX_INT = 2**31 - 1  # numpy keeps a dtype's size, offsets and subarray dimensions in C ints
_MAX_FIELDS = 100_000
_MAX_NESTING = 32
_ALIGNED_STRUCT = 0x80
_STATE_PARTS = ("version", "byte order", "subarray", "field names", "fields", "item size", "alignment", "flags",
                "metadata")

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel = 3


def brief(value: object) -> str:
    """A short description of a value from the file, for messages."""
    try:
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a message must not fail on an odd value
        return f"a {type(value).__name__}"


def _is_int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def dtype_args(args: object) -> str:
    """The type code in ``numpy.dtype(code, False, True)``: the only call numpy pickles a dtype with
    (numpy 1.x wrote the flags as 0 and 1)."""
    if (isinstance(args, tuple) and len(args) == 3 and type(args[0]) is str and _TYPECODE.match(args[0])
            and type(args[1]) in (bool, int) and args[1] == 0 and type(args[2]) in (bool, int) and args[2] == 1):
        return args[0]
    raise Cannot(f"numpy.dtype called with {brief(args)}, not the (type code, False, True) numpy writes")


def numpy_dtype(args: object, state: object, heights: dict | None = None):
    """The numpy dtype that ``numpy.dtype(*args)`` followed by ``__setstate__(state)`` makes, built without
    calling ``__setstate__``: ``state`` must be exactly what numpy writes for that dtype, else Cannot says
    what is wrong.  ``args`` and ``state`` are plain values; the dtypes in them must have come from this
    function.  ``heights`` (kept by the caller) remembers how deeply each dtype made here nests others."""
    import numpy as np

    code = dtype_args(args)
    kind, size = code[0], int(code[1:])
    what = f"a numpy dtype {code}"
    if not (isinstance(state, tuple) and len(state) in (8, 9) and _is_int(state[0], len(state) - 5, len(state) - 5)):
        raise Cannot(f"{what} whose state is {brief(state)}, not the tuple numpy writes (version 3 with 8 "
                     "items, or version 4 with 9)")
    endian, subarray, names, fields, elsize, alignment, flags = state[1:8]
    if type(endian) is not str or endian not in ("<", ">", "|"):
        raise Cannot(f"{what} with byte order {brief(endian)}")
    if not all(_is_int(n, -2**63, 2**64) for n in (elsize, alignment, flags)):
        raise Cannot(f"{what} whose size, alignment or flags are not whole numbers")
    if kind in "SUV":
        if elsize != size * (4 if kind == "U" else 1):
            raise Cannot(f"{what} whose state says an item has {elsize} bytes")
    elif (elsize, alignment) != (-1, -1):
        raise Cannot(f"{what} whose state gives it a size or alignment, which only text and void types have")
    if kind != "V" and (subarray, names, fields) != (None, None, None):
        raise Cannot(f"{what} with fields or a subarray, which only a void type can have")
    extra = state[8] if len(state) == 9 else None
    kids: list = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a dtype numpy warns about is one the scan will not guess at
            if kind in "mM":
                made = np.dtype(f"{endian}{code}{_datetime_unit(what, extra)}")
            elif kind != "V":
                made = np.dtype(endian + code)
            elif subarray is not None:
                made = _subarray(np, what, subarray, names, fields, elsize, kids)
            elif names is not None or fields is not None:
                made = _record(np, what, names, fields, elsize, _unsigned(flags), kids)
            else:
                made = np.dtype(code)
            if extra is not None and kind not in "mM":
                made = np.dtype(made, metadata=_metadata(what, extra))
            want: tuple = made.__reduce__()[1:]  # type: ignore[assignment]
    except Cannot:
        raise
    except Exception as err:  # noqa: BLE001 - numpy rejects a malformed dtype in many ways
        raise Cannot(f"{what} that numpy itself rejects ({type(err).__name__}: {str(err)[:200]})") from None
    want, got = _normal(want), _normal(((code, False, True), state))
    if want != got:
        part = next((i for i in range(9) if want[1][i:i + 1] != got[1][i:i + 1]), 0) if want[0] == got[0] else -1
        label = "type code" if part < 0 else _STATE_PARTS[part]
        mine, numpys = (got[0], want[0]) if part < 0 else (got[1][part:part + 1], want[1][part:part + 1])
        raise Cannot(f"{what} whose state has {label} {brief(mine[0] if mine else None)}, where numpy writes "
                     f"{brief(numpys[0] if numpys else None)} for that type (a crafted or corrupt file)")
    height = 1 + max((_height(k, heights, 1) for k in kids), default=0)
    if height > _MAX_NESTING:
        raise Cannot(f"{what} nested more than {_MAX_NESTING} dtypes deep")
    if heights is not None:
        heights[id(made)] = (made, height)
    return made


def _unsigned(flags: int) -> int:
    return flags + 256 if -128 <= flags < 0 else flags  # numpy 1.x wrote the flags as a signed char


def _normal(reduced: tuple) -> tuple:
    """A dtype's (args, state) with what differs between numpy versions made the same: numpy 1.x wrote the
    flags as a signed char and a datetime's empty metadata as {} where numpy 2 writes None."""
    args, state = reduced
    if not isinstance(state, tuple) or len(state) < 8:
        return reduced
    state = state[:7] + (_unsigned(state[7]) if type(state[7]) is int else state[7],) + state[8:]
    if len(state) == 9 and isinstance(state[8], tuple) and len(state[8]) == 2 and type(state[8][0]) is dict \
            and not state[8][0] and isinstance(args, tuple) and args and str(args[0])[:1] in ("m", "M"):
        state = state[:8] + ((None, state[8][1]),)
    return (tuple(bool(a) if type(a) is int else a for a in args) if isinstance(args, tuple) else args), state


def _datetime_unit(what: str, extra: object) -> str:
    """The ``[unit]`` of a datetime dtype from its metadata: (None or {}, (unit, count, 1, 1))."""
    if not (isinstance(extra, tuple) and len(extra) == 2 and (extra[0] is None or type(extra[0]) is dict and not extra[0])
            and isinstance(extra[1], tuple) and len(extra[1]) == 4):
        raise Cannot(f"{what} without the time unit numpy writes for it")
    unit, count, num, den = extra[1]
    name = unit.decode("ascii", "replace") if type(unit) is bytes else None
    if name not in _DATETIME_UNITS or not _is_int(count, 1, _MAX_INT) or not (_is_int(num, 1, 1) and
                                                                              _is_int(den, 1, 1)):
        raise Cannot(f"{what} with time unit {brief(extra[1])}")
    if name == "generic":
        if count != 1:
            raise Cannot(f"{what} with time unit {brief(extra[1])}")
        return ""
    return f"[{name}]" if count == 1 else f"[{count}{name}]"


def _subarray(np, what: str, subarray: object, names: object, fields: object, elsize: int, kids: list):
    """A subarray dtype, (base, shape) in the state: built as numpy.dtype((base, shape))."""
    if names is not None or fields is not None:
        raise Cannot(f"{what} with both a subarray and fields")
    if not (isinstance(subarray, tuple) and len(subarray) == 2 and isinstance(subarray[0], np.dtype)):
        raise Cannot(f"{what} whose subarray is {brief(subarray)}, not (dtype, shape)")
    base, shape = subarray
    if not (type(shape) is tuple and 1 <= len(shape) <= 32 and all(_is_int(n, 0, _MAX_INT) for n in shape)):
        raise Cannot(f"{what} whose subarray has shape {brief(shape)}")
    total = base.itemsize
    for n in shape:
        total *= n
    if total != elsize:
        raise Cannot(f"{what} whose subarray of {total} bytes does not fill its {elsize} bytes")
    kids.append(base)
    return np.dtype((base, shape))


def _record(np, what: str, names: object, fields: object, elsize: int, flags: int, kids: list):
    """A record dtype: names, and fields {name: (dtype, offset[, title]), title: the same}."""
    if not (type(names) is tuple and type(fields) is dict and 0 < len(names) <= _MAX_FIELDS
            and all(type(n) is str for n in names) and len(set(names)) == len(names)):
        raise Cannot(f"{what} whose field names are {brief(names)}")
    formats, offsets, titles, keys = [], [], [], set(names)
    for name in names:
        entry = fields.get(name)
        if not (type(entry) is tuple and len(entry) in (2, 3) and isinstance(entry[0], np.dtype)
                and _is_int(entry[1], 0, _MAX_INT)):
            raise Cannot(f"{what} whose field {brief(name)} is {brief(entry)}, not (dtype, offset[, title])")
        title = entry[2] if len(entry) == 3 else None
        if len(entry) == 3:
            again = fields.get(title) if type(title) is str else None
            if (title in keys or type(again) is not tuple or len(again) != 3 or not isinstance(again[0], np.dtype)
                    or again != entry):
                raise Cannot(f"{what} whose field {brief(name)} has the title {brief(title)} but no field under it")
            keys.add(title)
        formats.append(entry[0])
        offsets.append(entry[1])
        titles.append(title)
        kids.append(entry[0])
    if set(fields) != keys:
        raise Cannot(f"{what} whose fields do not match its names")
    spec = {"names": list(names), "formats": formats, "offsets": offsets, "itemsize": elsize,
            "aligned": bool(flags & _ALIGNED_STRUCT)}
    if any(t is not None for t in titles):
        spec["titles"] = titles
    return np.dtype(spec)


def _metadata(what: str, extra: object) -> dict:
    """A dtype's metadata dict (version 4 state): text keys, and plain scalar values."""
    if type(extra) is not dict or len(extra) > 1000 or not all(
            type(k) is str and (v is None or type(v) in (bool, int, float, str, bytes)) for k, v in extra.items()):
        raise Cannot(f"{what} with metadata {brief(extra)}")
    return extra


def _height(dtype, heights: dict | None, level: int) -> int:
    """How deeply a dtype nests others (1 for none), from ``heights`` where it is known."""
    known = heights.get(id(dtype)) if heights is not None else None
    if known is not None and known[0] is dtype:
        return known[1]
    if level > _MAX_NESTING:
        raise Cannot(f"a numpy dtype nested more than {_MAX_NESTING} dtypes deep")
    kids = [v[0] for v in dtype.fields.values()] if dtype.fields else []
    if dtype.subdtype is not None:
        kids.append(dtype.subdtype[0])
    return 1 + max((_height(k, heights, level + 1) for k in kids), default=0)
