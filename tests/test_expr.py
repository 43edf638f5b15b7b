"""Tests for the safe expression language in auditkit.expr."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditkit.exceptions import TemplateError
from auditkit.expr import MAX_DEPTH, MAX_LENGTH, Expression, ExpressionError, evaluate, parse

RESULTS = {
    "comparisons": [
        {"metric": "selection_rate", "attribute": "nationality", "group": "other", "ratio": 2.5,
         "ratio_ci": [1.9, 3.2], "status": "difference_detected", "p_holm": 0.001},
        {"metric": "fpr", "attribute": "nationality", "group": "other", "ratio": None,
         "ratio_ci": [None, None], "status": "undefined", "p_holm": None},
    ],
    "model_card": {"readable": True, "inputs": [{"name": "age", "tag": "other"},
                                                {"name": "nationality", "tag": "protected"}]},
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("4.5e1", 45.0),
        (".5", 0.5),
        ("'it\\'s'", "it's"),
        ('"double"', "double"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 'a', null]", [1, "a", None]),
        ("[]", []),
    ],
)
def test_literals(text, value):
    """Numbers, strings, booleans, null and list literals evaluate to their values."""
    assert evaluate(text, {}) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("12 / 3 / 2", 2.0),
        ("-2 * -3", 6),
        ("- (1 + 1)", -2),
        ("1 + 1 == 2", True),
        ("not 1 == 2", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not true or true", True),
        ("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2", True),
        ("2 in [1, 2]", True),
        ("3 not in [1, 2]", True),
        ("not 3 in [1, 2]", True),
        ("'ab' < 'b'", True),
    ],
)
def test_precedence_and_operators(text, value):
    """Arithmetic binds tighter than comparison, comparison than not, not than and, and than or."""
    assert evaluate(text, {}) == value


def test_dotted_paths_and_indices():
    """Dotted names read record keys and [i] reads list elements, negative from the end."""
    context = {"a": {"b": {"c": [10, 20, 30]}}, "k": "b"}
    assert evaluate("a.b.c[0]", context) == 10
    assert evaluate("a.b.c[-1]", context) == 30
    assert evaluate("a[k]['c'][1]", context) == 20
    assert evaluate("a.b.c[1.0]", context) == 20


def test_functions_over_results():
    """any/all/count read each element's keys; min/max/abs/len work on values and lists."""
    assert evaluate(
        "any(comparisons, metric == 'selection_rate' and status == 'difference_detected'"
        " and outside(ratio_ci, 0.8, 1.25))", RESULTS) is True
    assert evaluate("any(model_card.inputs, tag == 'protected')", RESULTS) is True
    assert evaluate("count(model_card.inputs, tag == 'protected')", RESULTS) == 1
    assert evaluate("all(comparisons, status == 'difference_detected')", RESULTS) is False
    assert evaluate("count(comparisons, item.ratio == null)", RESULTS) == 1
    assert evaluate("min([3, null, 1])", {}) == 1
    assert evaluate("max(3, 7, 5)", {}) == 7
    assert evaluate("max([])", {}) is None
    assert evaluate("abs(-2.5)", {}) == 2.5
    assert evaluate("len(model_card.inputs) + len('ab') + len(model_card)", RESULTS) == 6
    assert evaluate("any([0, 1]) and not all([0, 1]) and count([1, 1, 0]) == 2", {}) is True
    assert evaluate("any(missing, true)", {"missing": None}) is False


def test_item_scope_hides_outer_names_but_falls_back():
    """Inside a condition an element's keys hide outer names; other names come from outside."""
    context = {"limit": 2, "rows": [{"x": 1, "limit": 0}, {"x": 3}]}
    assert evaluate("count(rows, x > limit)", context) == 2
    assert evaluate("count([1, 2, 3], item >= limit)", context) == 2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("outside([1.9, 3.2], 0.8, 1.25)", True),
        ("outside([0.5, 0.7], 0.8, 1.25)", True),
        ("outside([0.7, 0.9], 0.8, 1.25)", False),
        ("within([0.7, 0.9], 0.8, 1.25)", False),
        ("within([0.85, 1.1], 0.8, 1.25)", True),
        ("within(1.0, 0.8, 1.25)", True),
        ("outside(2, 0.8, 1.25)", True),
        ("outside([null, 3], 0.8, 1.25)", False),
        ("within(null, 0.8, 1.25)", False),
    ],
)
def test_interval_functions(text, value):
    """outside/within test the whole interval; straddling or null is neither."""
    assert evaluate(text, {}) is value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x < 1", False),
        ("x >= 1", False),
        ("x == null", True),
        ("x != 0", True),
        ("x + 1", None),
        ("x.y[0]", None),
        ("1 / 0", None),
        ("abs(x)", None),
        ("true == 1", False),
        ("x in [1]", False),
        ("1 in x", False),
    ],
)
def test_null_safety(text, value):
    """null absorbs arithmetic and access, is never ordered, and equals only null."""
    assert evaluate(text, {"x": None}) == value


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("1 + __import__('os')", 5, "unexpected '__import__' at column 5: expected a name, number, string or '('"),
        ("x.__class__", 3, "expected a key name after '.'"),
        ("eval('1')", 1, "unknown function 'eval' at column 1"),
        ("exec('1')", 1, "unknown function 'exec'"),
        ("coutn(x)", 1, "Did you mean 'count'?"),
        ("1 +", 4, "unexpected end of expression at column 4"),
        ("(1 + 2", 7, "expected ')'"),
        ("a = 1", 3, "Write '==' to compare"),
        ("1 < 2 < 3", 7, "comparisons cannot be chained"),
        ("'abc", 1, "unterminated string starting at column 1"),
        ("x @ y", 3, "unexpected '@' at column 3"),
        ("True", 1, "write 'true'"),
        ("1 2", 3, "expected an operator or the end of the expression"),
        ("[1, 2", 6, "expected ',' or ']'"),
        ("abs(1, 2)", 1, "abs() at column 1 takes 1 argument(s), got 2"),
        ("outside(x)", 1, "takes 3 argument(s)"),
        ("lambda", None, None),
        ("", 1, "empty expression"),
    ],
)
def test_parse_errors_name_the_position(text, column, fragment):
    """Parse errors are ExpressionErrors (TemplateErrors) naming the column and what was expected."""
    if text == "lambda":  # a plain name that happens to be a Python keyword is just a missing key
        with pytest.raises(ExpressionError, match="unknown name 'lambda'"):
            evaluate(text, {})
        return
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert isinstance(info.value, TemplateError)
    assert info.value.column == column
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ratoi > 1", "unknown name 'ratoi' at column 1: expected one of 'model', 'ratio', 'xs'. Did you mean 'ratio'?"),
        ("model.inptus", "no key 'inptus' at column 7"),
        ("xs[5]", "index 5 at column 3 is out of range: the list has 2 element(s)"),
        ("xs['a']", "must be a whole number"),
        ("'a' < 1", "cannot compare a string with a number using '<' at column 5"),
        ("'a' + 'b'", "'+' at column 5 needs two numbers, got string and string"),
        ("ratio.x", "cannot read 'x' at column 7 from a number"),
        ("any(ratio, true)", "needs a list first"),
        ("1 in ratio", "needs a list on its right"),
        ("len(ratio)", "len() at column 1 cannot take a number"),
        ("min(1, 'a')", "needs numbers or strings"),
        ("outside('a', 1, 2)", "expected a number or an interval"),
    ],
)
def test_evaluation_errors(text, fragment):
    """Missing keys, bad indices and type mismatches raise ExpressionError with did-you-mean."""
    context = {"ratio": 1.5, "model": {"inputs": []}, "xs": [1, 2]}
    with pytest.raises(ExpressionError) as info:
        evaluate(text, context)
    assert fragment in str(info.value)


def test_did_you_mean_on_nested_keys():
    """A misspelt record key suggests the nearest key of that record."""
    with pytest.raises(ExpressionError, match="Did you mean 'inputs'"):
        evaluate("model.inptus", {"model": {"inputs": []}})


def test_refuses_attribute_access_on_python_objects():
    """Objects that are not records or lists expose nothing, not even harmless attributes."""
    with pytest.raises(ExpressionError, match="only records and lists have keys"):
        evaluate("obj.real", {"obj": 1 + 2j})
    with pytest.raises(ExpressionError, match="only records and lists have keys"):
        evaluate("f.name", {"f": print})


def test_no_python_eval_in_module():
    """The module never calls eval, exec, compile or the ast module."""
    import inspect

    import auditkit.expr as module

    source = inspect.getsource(module)
    for banned in ("eval(", "exec(", "compile(", "import ast", "__import__("):
        assert f" {banned}" not in source.replace("_eval(", "").replace("evaluate(", "")


def test_nesting_limit():
    """Nesting beyond MAX_DEPTH is refused with a clear error instead of overflowing the stack."""
    ok = "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1)
    assert evaluate(ok, {}) == 1
    for deep in ("(" * 200 + "1" + ")" * 200, "not " * 200 + "true", "-" * 200 + "1", "[" * 200 + "]" * 200):
        with pytest.raises(ExpressionError, match="nested too deeply"):
            parse(deep)


def test_long_flat_chains_evaluate_without_recursion():
    """A long chain of + or and is kept flat and evaluates without hitting the recursion limit."""
    assert evaluate("+".join(["1"] * 1500), {}) == 1500
    assert evaluate(" and ".join(["a"] * 600), {"a": True}) is True
    assert evaluate("x" + "[0]" * 1200, {"x": _nested_list(1200)}) == "end"


def _nested_list(depth: int):
    value: object = "end"
    for _ in range(depth):
        value = [value]
    return value


def test_length_limit():
    """Texts longer than MAX_LENGTH are refused before tokenizing."""
    with pytest.raises(ExpressionError, match="characters long"):
        parse("1" * (MAX_LENGTH + 1))


def test_huge_numbers_do_not_escape():
    """Overflowing numbers are an ExpressionError, never inf (JSON has none) or an OverflowError."""
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("1" * 400 + " * 10", {})
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("1e308 * 10", {})
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x", {"x": 10**15})
    big = " * ".join(["999999999999999"] * 30)
    with pytest.raises(ExpressionError, match="too large"):
        evaluate(f"{big} / 1", {})


def test_names_and_expression_object():
    """names() lists top-level names, not keys read per element; Expression is frozen and reusable."""
    expression = parse("any(comparisons, ratio < limit) and model_card.readable and x[i] > 0")
    assert isinstance(expression, Expression)
    assert expression.names() == {"comparisons", "model_card", "x", "i"}
    assert expression.text.startswith("any(")
    with pytest.raises(AttributeError):
        expression.text = "other"  # type: ignore[misc]


def test_context_must_be_a_mapping():
    """Evaluating against something that is not a mapping is an ExpressionError."""
    with pytest.raises(ExpressionError, match="mapping"):
        parse("1").evaluate([1])  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(1)  # type: ignore[arg-type]


_ALPHABET = st.sampled_from(
    list("abcxyz_019.,()[]'\" =!<>+-*/@\\\n")
    + ["and", "or", "not", "in", "any(", "count(", "outside(", "__class__", "true", "null", "item", "e5"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map(" ".join) | st.text(max_size=60))
def test_fuzz_only_expression_errors(text):
    """Random texts either evaluate or raise ExpressionError, never anything else, and return fast."""
    context = {"a": 1, "b": [1, None, {"c": "x"}], "x": {"y": [0.5, 2.0]}, "c": None, "z": "s"}
    try:
        parse(text).evaluate(context)
    except ExpressionError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["a", "null", "true", "b[0]", "x.y"])),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "==", "<", "and", "or", "in"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda s: f"not {s}"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        inner.map(lambda s: f"count(b, {s})"),
    ),
    max_leaves=20,
))
def test_fuzz_structured(text):
    """Well-formed random expressions parse and evaluate or fail only with ExpressionError."""
    context = {"a": 1, "b": [1, None, {"c": "x"}], "x": {"y": [0.5, 2.0]}}
    try:
        evaluate(text, context)
    except ExpressionError:
        pass
