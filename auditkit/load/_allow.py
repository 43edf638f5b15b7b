"""Which imports a pickle may make: auditkit's allow-list and how one import is classified.

A pickle can call anything it imports, with arguments of its choosing, and then call the methods
pickle itself uses (__setstate__, append, __setitem__) on the results (REDUCE).  So an entry must be
harmless to call with ANY arguments: a class whose constructor only stores data, or a helper that only
rebuilds data.  Functions that read files, import modules or reach attributes by name never qualify.

Both the scan (:mod:`auditkit.load._pickle_scan`) and the loader that enforces the list on every
import (:mod:`auditkit.load._unpickle`) name an import with :func:`resolve` and judge it with
:func:`classify` and :func:`allow_rule`.
"""

from __future__ import annotations

import re

__all__ = ["NAW", "allow_rule", "classify", "resolve"]

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
