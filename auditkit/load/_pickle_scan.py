"""Scan a pickle or joblib file for every import it would make, without running it.

Loading a pickle runs code: each import the file names is looked up and may be
called.  :func:`scan_pickle` reads the file's opcodes the way Python's own
unpickler and joblib's ``NumpyUnpickler`` read them, but only records what would
be imported; it never imports or calls anything from the file.

joblib writes numpy arrays as raw bytes right after a ``NumpyArrayWrapper``
object, inside the pickle stream.  A plain opcode reader (``pickletools``) stops
there with an unknown opcode, and an attacker can put the harmful import after
a large array, where that reader never looks.  The scanner reads the wrapper's
shape and dtype, skips exactly the bytes joblib would read, and carries on to
the end of the file; where it cannot follow the stream it searches the rest for
import patterns and refuses the file.

The allow-list (:func:`classify`) admits only what is harmless to *call* with
any arguments, because a pickle calls what it imports (REDUCE): classes whose
constructors only store data, and helper functions that only rebuild data.
"""

from __future__ import annotations

import bz2
import codecs
import lzma
import os
import pickle
import re
import struct
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImportRef", "PickleScan", "classify", "scan_pickle"]

#: Largest decompressed size scanned, against decompression bombs.
MAX_BYTES = 4 * 2**30
_SMALL = 1 << 16  # strings and bytes longer than this are kept as their length only


@dataclass(frozen=True)
class ImportRef:
    """One module attribute a pickle would import, how often, and whether auditkit allows it."""

    module: str
    name: str
    status: str  # "allowed" | "dangerous" | "unknown"
    reason: str
    count: int = 1

    @property
    def qualname(self) -> str:
        """``module.name``, as messages show it."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class PickleScan:
    """What a pickle or joblib file would import when loaded, and auditkit's verdict.

    ``verdict`` is "allowed" only when every import is on the allow-list and the
    whole file could be followed to its end (``problems`` is empty).
    ``versions`` holds library versions recorded in the file (scikit-learn's
    ``_sklearn_version``); ``notes`` facts worth showing that are not problems.
    """

    path: str
    format: str  # "pickle" | "joblib" | "joblib-compressed"
    protocol: int | None
    imports: tuple[ImportRef, ...]
    verdict: str  # "allowed" | "refused"
    problems: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def offending(self) -> tuple[ImportRef, ...]:
        """The imports that are not on the allow-list."""
        return tuple(ref for ref in self.imports if ref.status != "allowed")


# ---------------------------------------------------------------------------------------------------
# The allow-list.  A pickle can call anything it imports, with arguments of its choosing, and then call
# the methods pickle itself uses (__setstate__, append, __setitem__) on the results.  So an entry must be
# harmless to call with ANY arguments: a class whose constructor only stores data, or a helper that only
# rebuilds data.  Functions that read files, import modules or reach attributes by name never qualify.

#: joblib's placeholder for an array whose bytes follow it in the file (the scan reads past them).
NAW = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_ALLOWED: dict[tuple[str, str], str] = {}


def _allow(modules: str, names: str, why: str) -> None:
    for module in modules.split():
        _ALLOWED.update({(module, name): why for name in names.split()})


_NP_CORE = "numpy.core.multiarray numpy._core.multiarray"  # numpy 1.x and 2.x spellings of one module
_allow(_NP_CORE, "_reconstruct scalar", "numpy's helper that rebuilds an array or number from its bytes")
_allow("numpy.core.numeric numpy._core.numeric", "_frombuffer", "numpy's helper that rebuilds an array from its "
       "bytes (pickle protocol 5)")
_allow("numpy", "ndarray dtype bool_ bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 "
       "float64 longdouble complex64 complex128 str_ bytes_ object_ datetime64 timedelta64",
       "numpy array, dtype or number type: building one only allocates and fills memory")
# ufuncs (FunctionTransformer(np.log1p) stores one) are pure arithmetic on arrays
_allow("numpy", "log log1p log2 log10 exp expm1 sqrt square abs absolute negative sign floor ceil rint tanh "
       "arcsinh sin cos minimum maximum add subtract multiply divide true_divide power clip",
       "numpy arithmetic function: computes on numbers only")
_allow("numpy.ma.core", "_mareconstruct MaskedArray", "numpy's helper that rebuilds a masked array")
_allow("numpy.random._pickle", "__randomstate_ctor __generator_ctor __bit_generator_ctor",
       "numpy's helper that rebuilds a random-number generator")
_allow("numpy.random._mt19937 numpy.random._pcg64 numpy.random._philox numpy.random._sfc64 "
       "numpy.random.bit_generator numpy.random.mtrand numpy.random._generator numpy.random",
       "MT19937 PCG64 PCG64DXSM Philox SFC64 SeedSequence __pyx_unpickle_SeedSequence RandomState Generator",
       "numpy random-number generator: holds a seed and a state")
# The Python 2 spellings (__builtin__, copy_reg) are translated by pickle itself before import, see resolve()
_allow("builtins", "set frozenset slice complex bytearray bytes object int float bool str list tuple dict range",
       "built-in data type: building one only stores data")
# copyreg's helpers call cls.__new__ / base.__init__: harmless because cls and base must themselves be imports
# the scan has checked
_allow("copyreg", "_reconstructor __newobj__ __newobj_ex__", "pickle's helper that rebuilds an object of a "
       "class the file imports separately (checked on its own)")
# Protocols 0-2 write bytes (numpy's array data) as _codecs.encode(text, 'latin1').  The codec is looked up
# by name in the standard library's encodings package, whose codecs only transform data.
_allow("_codecs", "encode", "how Python writes bytes in pickle protocols 0-2 (a standard-library codec "
       "turns text into bytes)")
_allow("collections", "OrderedDict defaultdict Counter deque", "standard container type")
_allow("datetime", "date datetime time timedelta timezone", "date or time value")
_allow(NAW[0], NAW[1], "joblib's placeholder for an array stored right after it in the file")
_PANDAS_MODULES = ("pandas pandas.arrays pandas.core.frame pandas.core.series pandas.core.indexes.base "
                   "pandas.core.indexes.range pandas.core.indexes.multi pandas.core.indexes.category "
                   "pandas.core.indexes.datetimes pandas.core.indexes.numeric pandas.core.internals.managers "
                   "pandas.core.internals.blocks pandas._libs.internals pandas.core.arrays.categorical "
                   "pandas.core.dtypes.dtypes pandas.core.arrays.string_ pandas.core.arrays.string_arrow "
                   "pandas.core.arrays.datetimes pandas._libs.arrays pandas._libs.tslibs.timestamps "
                   "pandas._libs.tslibs.timedeltas pandas._libs.tslibs.nattype pandas._libs.tslibs.offsets")
_allow(_PANDAS_MODULES, "DataFrame Series Index RangeIndex MultiIndex CategoricalIndex DatetimeIndex "
       "TimedeltaIndex Int64Index Float64Index Categorical CategoricalDtype StringDtype StringArray "
       "ArrowStringArray DatetimeArray DatetimeTZDtype Timestamp Timedelta BlockManager SingleBlockManager "
       "BlockPlacement new_block _new_Index _new_DatetimeIndex _unpickle_block _unpickle_timestamp "
       "_timedelta_unpickle __nat_unpickle __pyx_unpickle_NDArrayBacked Day Hour Minute Second Week "
       "MonthEnd MonthBegin YearEnd YearBegin BusinessDay", "pandas data structure or its rebuilding helper")
# pandas 3 keeps text columns in Arrow buffers; these rebuild them from type names and bytes
_allow("pyarrow.lib", "_restore_array type_for_alias py_buffer", "Arrow helper that rebuilds a pandas text "
       "column from its bytes")
_allow("xgboost xgboost.sklearn xgboost.core", "XGBClassifier XGBRegressor XGBRanker XGBRFClassifier "
       "XGBRFRegressor XGBModel Booster", "XGBoost model class: rebuilding one parses the model bytes in the file")
_allow("lightgbm lightgbm.sklearn lightgbm.basic", "LGBMClassifier LGBMRegressor LGBMRanker LGBMModel Booster",
       "LightGBM model class: rebuilding one parses the model text in the file")

_CLASS = re.compile(r"_?[A-Z][A-Za-z0-9_]*\Z")  # CapWords: a class, by the naming convention these packages keep
_PYX = re.compile(r"__pyx_unpickle_[A-Za-z0-9_]+\Z")  # Cython's per-class rebuild helper
_SPARSE = re.compile(r"(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)\Z")
#: scikit-learn modules whose classes do more than store settings (files, network, threads, test doubles)
_SKLEARN_EXCLUDED = ("sklearn.utils._testing", "sklearn.utils.estimator_checks", "sklearn.utils._mocking",
                     "sklearn.utils.parallel", "sklearn.utils._joblib", "sklearn.utils.discovery",
                     "sklearn.datasets", "sklearn.externals", "sklearn.callback", "sklearn.experimental",
                     "sklearn.conftest", "sklearn._build_utils", "sklearn.__check_build")
#: names that scikit-learn modules import from elsewhere (a file, a thread, a socket): not sklearn classes
_SKLEARN_FOREIGN = frozenset("Path PathLike StringIO BytesIO GzipFile NamedTemporaryFile TemporaryDirectory "
                             "Thread Queue Listener Client Connection Memory Parallel Request ModuleType "
                             "TempMemmap ThreadpoolController CalledProcessError DoctestItem SkipTest Enum "
                             "HTTPError URLError".split())

_DANGEROUS_GROUPS = {
    "os posix nt": "runs shell commands and reads, writes or deletes files",
    "subprocess _posixsubprocess multiprocessing pty": "starts other programs",
    "importlib imp pkgutil zipimport runpy": "imports or runs any module, including code the file provides",
    "pickle _pickle cPickle dill shelve": "loads a second pickle hidden inside this one, out of the scan's sight",
    "joblib.numpy_pickle_compat": "old joblib format: loads arrays, possibly pickled objects, from companion "
    "files the scan cannot see",
    "marshal": "turns bytes in the file into runnable Python code",
    "types": "builds functions or code objects from bytes in the file",
    "cloudpickle": "rebuilds functions whose code is stored in the file",
    "socket _socket ssl http urllib requests ftplib smtplib telnetlib xmlrpc asyncio":
    "opens network connections",
    "shutil tempfile glob pathlib io _io fileinput zipfile tarfile": "reads, writes, copies or deletes files",
    "sys gc inspect": "reaches the interpreter's internals: loaded modules, every object, running code",
    "code codeop pdb bdb trace timeit profile cProfile": "runs Python code given as text",
    "webbrowser": "opens a web browser at any address",
    "ctypes _ctypes cffi": "calls machine code and reads or writes any memory",
    "operator": "attrgetter/methodcaller call any method of an object they are given",
    "threading _thread signal": "runs code in the background or changes how the program stops",
    "platform": "runs system commands", "pip ensurepip setuptools distutils venv": "installs or builds packages",
    "numpy.lib.format numpy.lib.npyio numpy.testing numpy.f2py numpy.distutils numpy.ctypeslib":
    "reads or writes files, possibly unpickling what it reads, or compiles code",
    "pandas.io": "reads and writes files, including pickles",
}
_DANGEROUS_MODULES = {m: why for ms, why in _DANGEROUS_GROUPS.items() for m in ms.split()}
_DANGEROUS_NAMES = {
    **{("builtins", n): "runs Python code written in the file" for n in ("eval", "exec", "compile")},
    ("builtins", "open"): "opens any file for reading or writing",
    ("builtins", "__import__"): "imports any module",
    ("builtins", "getattr"): "reaches any attribute of an object it is given, and from there anything "
    "(an allowed class's module, its imports, os.system)",
    **{("builtins", n): "changes attributes of loaded objects or modules" for n in ("setattr", "delattr")},
    **{("builtins", n): "reaches the interpreter's variables" for n in ("globals", "locals", "vars")},
    **{("builtins", n): "talks to the terminal or debugger" for n in ("breakpoint", "input", "help")},
    ("builtins", "type"): "creates new classes or reaches an object's class",
    **{(m, "_ufunc_reconstruct"): "imports any module and returns any name from it"
       for m in ("numpy.core", "numpy._core", "numpy.core._internal", "numpy._core._internal")},
    **{("numpy", n): "reads or writes files, possibly unpickling what it reads"
       for n in "load save savez fromfile memmap loadtxt savetxt genfromtxt fromregex".split()},
    **{("pandas", n): "reads files or evaluates expressions" for n in ("read_pickle", "eval", "read_csv")},
    **{("joblib", n): "loads or writes another pickle file" for n in ("load", "dump")},
}
_UNKNOWN = "not on auditkit's allow-list: auditkit cannot tell what it does when loaded"


def resolve(module: str, name: str, proto: int) -> tuple[str, str]:
    """The (module, name) pickle imports: below protocol 3 it first translates Python 2 names
    (``__builtin__`` to ``builtins``) exactly as :meth:`pickle.Unpickler.find_class` does."""
    import _compat_pickle

    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        return _compat_pickle.IMPORT_MAPPING.get(module, module), name
    return module, name


def classify(module: str, name: str) -> tuple[str, str]:
    """("allowed" | "dangerous" | "unknown", a plain reason) for one import.

    >>> classify("posix", "system")
    ('dangerous', 'runs shell commands and reads, writes or deletes files')
    >>> classify("sklearn.linear_model._logistic", "LogisticRegression")[0]
    'allowed'
    >>> classify("belastingdienst_risk.model", "RiskModel")[0]
    'unknown'
    """
    if (module, name) in _DANGEROUS_NAMES:
        return "dangerous", _DANGEROUS_NAMES[(module, name)]
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        why = _DANGEROUS_MODULES.get(".".join(parts[:i]))
        if why:
            return "dangerous", why
    if (module, name) in _ALLOWED:
        return "allowed", _ALLOWED[(module, name)]
    rule = allow_rule(module, name)
    if rule:
        return "allowed", rule[1]
    if module == "copyreg extension registry":
        return "unknown", ("an EXT opcode names an import through Python's extension registry, which the file "
                           "does not spell out; " + _UNKNOWN)
    return "unknown", _UNKNOWN


def allow_rule(module: str, name: str) -> tuple[str, str] | None:
    """For imports allowed by a naming rule rather than by name: (package the object must be defined in,
    reason).  The loader checks that package on the imported object before using it."""
    top = module.split(".")[0]
    if top == "sklearn" and not any(module == x or module.startswith(x + ".") for x in _SKLEARN_EXCLUDED):
        if ".tests" in f".{module}" or name in _SKLEARN_FOREIGN:
            return None
        if _CLASS.match(name):
            return "sklearn", "scikit-learn class: building one only stores its settings"
        if _PYX.match(name):
            return "sklearn", "Cython helper that rebuilds a scikit-learn object from its saved state"
    if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and _SPARSE.match(name):
        return "scipy.sparse", "scipy sparse matrix: building one only stores numbers"
    return None


def scan_pickle(path: str | os.PathLike) -> PickleScan:
    """List every import a pickle or joblib file would make, without loading it.

    >>> import pickle, tempfile, collections
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(collections.OrderedDict(a=1), fh)
    >>> scan = scan_pickle(fh.name)
    >>> scan.verdict, [(ref.qualname, ref.status) for ref in scan.imports]
    ('allowed', [('collections.OrderedDict', 'allowed')])
    """
    return scan_bytes(Path(path).read_bytes(), str(path))[0]


def scan_bytes(raw: bytes, label: str) -> tuple[PickleScan, bytes]:
    """Scan the bytes of a pickle file; also return the (decompressed) pickle stream."""
    data, compression, problems = _decompress(raw)
    found = _Findings()
    problems += _follow(data, found)
    if compression == "compat":
        problems.append("it is in joblib's format from before version 0.9.3, which keeps arrays in companion "
                        "files next to it; auditkit cannot check those")
    refs = [ImportRef(m, n, *classify(m, n), count=k) for (m, n), k in found.imports.items()]
    order = {"dangerous": 0, "unknown": 1, "allowed": 2}
    refs.sort(key=lambda r: (order[r.status], r.module, r.name))
    fmt = "joblib-compressed" if compression else "joblib" if found.arrays or NAW in found.imports else "pickle"
    protocol = found.protocols[0] if found.protocols else found.max_opcode_proto if data else None
    bad = problems or any(r.status != "allowed" for r in refs)
    notes = ["it holds Python 2 text (STRING opcodes): it was probably saved by Python 2"] if found.py2 else []
    if found.arrays:
        notes.append(f"joblib stored {found.arrays} array(s) inline; the scan read past each of them")
    scan = PickleScan(label, fmt, protocol, tuple(refs), "refused" if bad else "allowed", tuple(problems),
                      dict(found.versions), tuple(notes))
    return scan, data


# ---------------------------------------------------------------------------------------------------
# Decompression: joblib picks the decompressor from the first bytes (joblib.numpy_pickle_utils).

_PREFIXES = (("compat", b"ZF"), ("zlib", b"\x78"), ("gzip", b"\x1f\x8b"), ("bz2", b"BZ"),
             ("lzma", b"\x5d\x00"), ("xz", b"\xfd\x37\x7a\x58\x5a"), ("lz4", b"\x04\x22\x4d\x18"))


def _decompress(raw: bytes) -> tuple[bytes, str | None, list[str]]:
    kind = next((name for name, prefix in _PREFIXES if raw.startswith(prefix)), None)
    if kind is None:
        return raw, None, [] if raw else ["the file is empty"]
    label = kind
    if kind == "compat":  # joblib < 0.9.3: 'ZF', the length in hex, then a zlib stream
        kind, raw = "zlib", raw[20 + (raw[20:21] == b" "):]
    if kind == "lz4":
        try:
            import lz4.frame
        except ImportError:
            return b"", "lz4", ["it is compressed with lz4, and the lz4 package is not installed (pip install lz4)"]
        try:
            return _capped(lz4.frame.decompress(raw)), "lz4", []
        except Exception as err:  # noqa: BLE001 - lz4 raises its own error types
            return b"", "lz4", [f"its lz4 compressed data is corrupt or too large ({err})"]
    makers = {"zlib": zlib.decompressobj, "gzip": lambda: zlib.decompressobj(31), "bz2": bz2.BZ2Decompressor,
              "lzma": lzma.LZMADecompressor, "xz": lzma.LZMADecompressor}
    out, problems = bytearray(), []
    rest = raw
    try:
        while rest:  # joblib reads concatenated streams one after another
            rest = _inflate(makers[kind](), rest, out)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as err:
        problems.append(f"its {kind} compressed data is corrupt or cut short ({err})")
    return bytes(out), label, problems


def _inflate(dec, data: bytes, out: bytearray) -> bytes:
    """Decompress one stream into ``out`` in chunks, stopping at MAX_BYTES; return what follows it."""
    is_zlib = hasattr(dec, "unconsumed_tail")
    chunk = dec.decompress(data, 1 << 24)
    while True:
        out += chunk
        _capped(out)
        if dec.eof:
            return dec.unused_data
        pending = dec.unconsumed_tail if is_zlib else b""
        if (is_zlib and not pending and not chunk) or (not is_zlib and dec.needs_input):
            raise EOFError("the compressed stream ends early")
        chunk = dec.decompress(pending, 1 << 24)


def _capped(data):
    if len(data) > MAX_BYTES:
        raise ValueError(f"it decompresses to more than {MAX_BYTES // 2**30} GiB")
    return data


# ---------------------------------------------------------------------------------------------------
# Following the stream.  The classes below model pickle._Unpickler (framing included) closely enough
# to know where every opcode starts; objects are placeholders, never built.


class _Cannot(Exception):
    """The scan cannot follow the stream here the way the loader would."""


class _Blob:
    """A long string or bytes value, kept as its length only."""

    def __init__(self, length: int) -> None:
        self.length = length


class _Global:
    """The object an import would return (never imported)."""

    def __init__(self, module: str, name: str) -> None:
        self.key = (module, name)


class _Obj:
    """What a call (REDUCE, NEWOBJ, INST, OBJ) would return, with what is known about it."""

    def __init__(self, callee: object, args: object, how: str, maybe_naw: bool = False) -> None:
        self.callee, self.args, self.how = callee, args, how
        self.builds: list = []
        self.attrs: dict | None = None  # set for joblib array wrappers
        self.maybe_naw = maybe_naw


_NAW_KEYS = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")


@dataclass
class _Findings:
    imports: Counter = field(default_factory=Counter)
    versions: dict = field(default_factory=dict)
    protocols: list = field(default_factory=list)
    max_opcode_proto: int = 0
    arrays: int = 0
    py2: bool = False


class _Reader:
    """The file as pickle._Unframer sees it: opcodes come from the current frame; joblib's array
    bytes come from the file itself, after the frame."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos
        self.frame: list[int] | None = None  # [next, end] within data

    @property
    def cursor(self) -> int:
        return self.frame[0] if self.frame else self.pos

    def read(self, n: int, keep: bool = True):
        if self.frame:
            start, end = self.frame
            if start == end and n:
                self.frame = None
            elif start + n > end:
                raise _Cannot("the pickle ends in the middle of a frame")
            else:
                self.frame[0] += n
                return self.data[start:start + n] if keep else None
        return self.file_read(n, keep)

    def file_read(self, n: int, keep: bool = True):
        if self.pos + n > len(self.data):
            raise _Cannot("the file ends in the middle of a pickle (it is truncated or corrupt)")
        self.pos += n
        return self.data[self.pos - n:self.pos] if keep else None

    def readline(self) -> bytes:
        if self.frame and self.frame[0] < self.frame[1]:
            start, end = self.frame
            stop = self.data.find(b"\n", start, end)
            if stop < 0:
                raise _Cannot("the pickle ends in the middle of a frame")
            self.frame[0] = stop + 1
            return self.data[start:stop + 1]
        self.frame = None
        stop = self.data.find(b"\n", self.pos)
        line = self.data[self.pos:] if stop < 0 else self.data[self.pos:stop + 1]
        self.pos += len(line)
        return line

    def load_frame(self, size: int) -> None:
        if self.frame and self.frame[0] < self.frame[1]:
            raise _Cannot("a new frame begins before the current one ends")
        start = self.pos
        self.pos = min(len(self.data), start + size)
        self.frame = [start, self.pos]


def _follow(data: bytes, found: _Findings) -> list[str]:
    """Follow every pickle in ``data`` to its STOP; on failure search the rest and say so."""
    pos = 0
    while pos < len(data):
        if pos and not data[pos:].strip(b"\x00 \t\r\n"):
            break  # padding after the last pickle is never read
        reader = _Reader(data, pos)
        try:
            _VM(reader, found, joblib=True).run()
            if reader.frame and reader.frame[0] < reader.frame[1]:
                raise _Cannot("bytes follow STOP inside the last frame")
        except _Cannot as err:
            at = reader.cursor
            hits = _search(data, at)
            for key, k in hits.items():
                found.imports[key] += k
            return [f"auditkit could not follow the whole file: {err} (at byte {at:,} of {len(data):,}); "
                    f"the remaining bytes were searched for imports and {sum(hits.values())} found. "
                    "A file that cannot be read to the end cannot be shown to be safe"]
        pos = reader.pos
    return []


_MEMO_OP = rb"(?:\x94|q[\x00-\xff]|r[\x00-\xff]{4}|p\d+\n)?"
_TEXT_GLOBAL = re.compile(rb"[ci]([A-Za-z_][\w.]{0,200})\n([A-Za-z_][\w.]{0,200})\n")
_SHORT_STR = re.compile(rb"\x8c([\x01-\xff])")
_IDENT = re.compile(rb"[A-Za-z_][\w.]*")
_GAP = re.compile(_MEMO_OP)  # an optional memo store between a string and the next opcode
_TAIL = re.compile(_MEMO_OP + rb"\x93")  # ... and then STACK_GLOBAL


def _search(data: bytes, start: int) -> Counter:
    """Import patterns in data[start:] (GLOBAL/INST text, and two short strings before STACK_GLOBAL)."""
    hits: Counter = Counter()
    for m in _TEXT_GLOBAL.finditer(data, start):
        hits[(m.group(1).decode(), m.group(2).decode())] += 1
    strings = {}  # start of a short string -> (its text, where it ends)
    for m in _SHORT_STR.finditer(data, start):
        text = data[m.end():m.end() + m.group(1)[0]]
        if len(text) == m.group(1)[0] and _IDENT.fullmatch(text):
            strings[m.start()] = (text.decode(), m.end() + len(text))
    for module, end in strings.values():
        gap = _GAP.match(data, end)
        nxt = strings.get(gap.end()) if gap else None
        if nxt and _TAIL.match(data, nxt[1]):
            hits[(module, nxt[0])] += 1
    return hits


class _VM:
    """One pass over one pickle stream, opcode by opcode as pickle._Unpickler.load does; values are
    placeholders.  ``joblib`` says whether BUILD on a NumpyArrayWrapper reads an array (the top-level
    stream, read by joblib's NumpyUnpickler) or not (the nested stream of an object array)."""

    def __init__(self, reader: _Reader, found: _Findings, joblib: bool) -> None:
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
                    raise _Cannot(f"byte {code:#04x} is not a pickle opcode")
                self.found.max_opcode_proto = max(self.found.max_opcode_proto, proto)
                handler(self)
        except _Cannot:
            raise
        except Exception as err:  # noqa: BLE001 - a stream that breaks the model would break the loader too
            raise _Cannot(f"the pickle is malformed ({type(err).__name__}: {err})") from None

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
            raise _Cannot("a negative length")
        if n > _SMALL:
            self.r.read(n, keep=False)
            return _Blob(n)
        raw = self.r.read(n)
        if codec == "ascii":  # STRING opcodes: Python 3 never writes text with them; Python 2 does
            self.found.py2 = True
            return raw.decode("ascii")
        if codec == "utf-8":
            return str(raw, "utf-8", "surrogatepass")
        return bytearray(raw) if codec == "bytearray" else raw

    def find(self, module: str, name: str) -> _Global:
        module, name = resolve(module, name, self.proto)
        self.found.imports[(module, name)] += 1
        return _Global(module, name)

    def call(self, callee: object, args: object, how: str) -> _Obj:
        if isinstance(callee, _Global) and callee.key == ("copyreg", "_reconstructor") and _is_new_naw(args):
            callee, args, how = args[0], (), "new"  # type: ignore[index]  # protocols 0-1: object.__new__(cls)
        if isinstance(callee, _Global) and callee.key == NAW:
            obj = _Obj(callee, args, how)
            obj.attrs = {} if how == "new" else _naw_init(args)
            return obj
        return _Obj(callee, args, how, maybe_naw=isinstance(callee, _Obj) or _mentions_naw(args))

    def fill(self, items: list, kind: type) -> None:
        """APPEND(S), SETITEM(S), ADDITEMS: fill the container on top of the stack."""
        target = self.stack[-1]
        if isinstance(target, _Obj):  # a container object the file built: whatever goes in may come out
            target.maybe_naw |= _mentions_naw(items)
        elif kind is dict and isinstance(target, dict):
            target.update((items[i], items[i + 1]) for i in range(0, len(items), 2))
        elif isinstance(target, kind):
            getattr(target, "extend" if kind is list else "update")(items)

    def instantiate(self, klass: object, args: list) -> None:
        self.push(self.call(klass, tuple(args), "call" if args else "new"))

    def memo_put(self, key: int) -> None:
        if key < 0:
            raise _Cannot("a negative memo index")
        self.memo[key] = self.stack[-1]

    def text_global(self, codec: str) -> _Global:
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
            raise _Cannot("a LONG with a negative length")
        self.push(int.from_bytes(self.r.read(n), "little", signed=True) if n <= 4096 else self.text(n, "bytes"))

    def op_string(self) -> None:
        data = self.r.readline()[:-1]
        if len(data) < 2 or data[0] != data[-1] or data[0] not in b"\"'":
            raise _Cannot("a STRING opcode without quotes")
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
        if not isinstance(inst, _Obj):
            return
        inst.builds.append(state)
        inst.maybe_naw |= _mentions_naw(state)
        if isinstance(inst.callee, _Global) and inst.callee.key == ("numpy", "dtype"):
            _dtype(inst, 0)  # a dtype whose stored flags lie about holding objects is a crafted file
        if inst.attrs is not None:
            _naw_setstate(inst.attrs, state)
            if self.joblib:  # joblib's NumpyUnpickler.load_build swaps the wrapper for the array it reads
                self.stack[-1] = self.read_array(inst.attrs)
        elif inst.maybe_naw and self.joblib:
            raise _Cannot("an object built in an unusual way may be a joblib array wrapper")

    def op_stack_global(self) -> None:
        name, module = self.stack.pop(), self.stack.pop()
        if type(name) is not str or type(module) is not str:
            raise _Cannot("an import whose module or name is not plain text in the file")
        self.push(self.find(module, name))

    def op_ext(self, code: int) -> None:
        key = ("copyreg extension registry", f"code {code}")
        self.found.imports[key] += 1
        self.push(_Global(*key))

    def op_proto(self) -> None:
        self.proto = self.r.read(1)[0]
        self.found.protocols.append(self.proto)
        if self.proto > pickle.HIGHEST_PROTOCOL:
            raise _Cannot(f"pickle protocol {self.proto} is newer than this Python reads "
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
        raise _Cannot(why)

    def read_array(self, attrs: dict) -> object:
        """Skip the array joblib reads here (NumpyArrayWrapper.read_array), from the file itself."""
        if "shape" not in attrs or "dtype" not in attrs:
            raise _Cannot("a joblib array wrapper without shape or dtype")
        shape, dtype = attrs["shape"], _dtype(attrs["dtype"], 0)
        if not isinstance(shape, (tuple, list)) or not all(type(x) in (int, bool) and x >= 0 for x in shape):
            raise _Cannot(f"a joblib array wrapper with shape {shape!r}")
        count = 1
        for x in shape:
            count *= x
        self.found.arrays += 1
        if dtype.hasobject:  # joblib pickles object arrays as a nested stream, read from the file
            inner = _Reader(self.r.data, self.r.pos)
            value = _VM(inner, self.found, joblib=False).run()
            self.r.pos = inner.pos
            return value
        if attrs.get("numpy_array_alignment_bytes") is not None:  # one byte: how much padding follows
            self.r.file_read(self.r.file_read(1)[0], keep=False)
        if dtype.itemsize == 0 or count * dtype.itemsize >= 2**63:
            raise _Cannot(f"a joblib array of {count} items of {dtype.itemsize} bytes")
        self.r.file_read(count * dtype.itemsize, keep=False)
        return _Obj(None, (), "array")


_V = _VM
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


def _is_new_naw(args: object) -> bool:
    """copyreg._reconstructor(NumpyArrayWrapper, object, state) is object.__new__(NumpyArrayWrapper)."""
    return (isinstance(args, tuple) and len(args) == 3 and all(isinstance(a, _Global) for a in args[:2])
            and args[0].key == NAW and args[1].key == ("builtins", "object"))


def _naw_init(args: object) -> dict:
    if not isinstance(args, tuple) or not 4 <= len(args) <= 6:
        raise _Cannot("a joblib array wrapper called with unexpected arguments")
    return dict(zip(_NAW_KEYS, args + (False, 16)[len(args) - 4:]))


def _naw_setstate(attrs: dict, state: object) -> None:
    """pickle's default BUILD (no __setstate__): update __dict__, then slot state."""
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part in parts:
        if not part:
            continue
        if not isinstance(part, dict) or not set(part) <= set(_NAW_KEYS):
            raise _Cannot("a joblib array wrapper with unexpected state")
        attrs.update(part)


def _mentions_naw(value: object, budget: int = 10_000) -> bool:
    """Could a call with this value produce a joblib array wrapper (the class or one appears in it)?"""
    todo = [value]
    while todo:
        budget -= 1
        if budget < 0:
            return True
        item = todo.pop()
        if isinstance(item, _Global):
            if item.key == NAW:
                return True
        elif isinstance(item, _Obj):
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

    if depth > 20 or not isinstance(value, _Obj) or not isinstance(value.callee, _Global):
        raise _Cannot("a joblib array whose dtype the scan cannot read")
    if value.callee.key != ("numpy", "dtype") or value.how != "call" or len(value.builds) > 1:
        raise _Cannot("a joblib array whose dtype the scan cannot read")
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
        raise _Cannot(f"a numpy dtype the scan cannot read ({type(err).__name__}: {err})") from None
    if (made.flags, made.itemsize) != (clean.flags, clean.itemsize):
        raise _Cannot("a numpy dtype whose stored flags or size contradict its type (a crafted file)")
    return made


def _plain(value: object, depth: int) -> object:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v, depth) for v in value)
    if isinstance(value, dict):
        return {_plain(k, depth): _plain(v, depth) for k, v in value.items()}
    if isinstance(value, _Obj) and isinstance(value.callee, _Global) and value.callee.key == ("_codecs", "encode"):
        if isinstance(value.args, tuple) and len(value.args) == 2 and value.args[1] in ("latin1", "latin-1"):
            return str(value.args[0]).encode("latin1")  # protocols 0-2 spell bytes this way
    return _dtype(value, depth + 1)
