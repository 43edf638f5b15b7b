"""A small, safe expression language for evidence bindings and template rules.

Expressions are parsed by a hand-written tokenizer and recursive-descent
parser and evaluated by walking the tree; Python's ``eval``, ``exec``,
``compile`` and ``ast`` are never used, so an expression can only read the
values it is given.

Grammar (lowest precedence first)::

    expr       := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := sum [('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in') sum]
    sum        := product (('+' | '-') product)*
    product    := unary (('*' | '/') unary)*
    unary      := '-' unary | postfix
    postfix    := primary ('.' NAME | '[' expr ']')*
    primary    := NUMBER | STRING | 'true' | 'false' | 'null' | NAME
                | FUNCTION '(' [expr (',' expr)*] ')' | '(' expr ')' | '[' [expr (',' expr)*] ']'

Semantics, chosen so that an evidence binding reads a results document
without surprises:

* Names are keys of the context; ``a.b`` and ``a['b']`` read a key of a
  record (a mapping), ``a[0]`` an element of a list (negative indices count
  from the end).  There is no attribute access on anything else, and names
  that start with ``__`` are refused when parsing.
* A missing top-level name, a missing key or an index out of range is an
  :class:`ExpressionError` naming the key (with "Did you mean ...?").
* ``null`` is *absorbing*: reading a key or an index of ``null`` gives
  ``null``; arithmetic with ``null`` gives ``null``; ``/`` by zero gives
  ``null`` (an undefined number, as in the results document); ``<``, ``<=``,
  ``>``, ``>=`` with ``null`` are ``false``; ``==`` and ``!=`` compare
  ``null`` like any value (``null == null`` is ``true``).
* ``==`` is strict about booleans: ``true == 1`` is ``false``.
* ``and``, ``or`` and ``not`` return ``true`` or ``false``; ``null``,
  ``false``, ``0``, ``''`` and ``[]`` count as false.  They short-circuit.
* ``any(list, cond)``, ``all(list, cond)`` and ``count(list, cond)``
  evaluate ``cond`` once per element.  Inside ``cond`` the name ``item`` is
  the element itself and, when the element is a record, its keys are names
  too (they hide names of the outer context).  With one argument they test
  the elements' truth.  ``null`` as the list counts as an empty list.
* ``min`` and ``max`` take a list or several arguments and ignore ``null``
  (``null`` when nothing is left); ``abs`` and ``len`` take one value.
* ``outside(x, lo, hi)`` is true when the whole of ``x`` (a number or an
  interval ``[low, high]``) lies outside ``[lo, hi]``; ``within(x, lo, hi)``
  when the whole of ``x`` lies inside it.  An interval that straddles a bound
  is neither; a ``null`` anywhere gives ``false``.

>>> evaluate("outside(ratio_ci, 0.8, 1.25) and status == 'difference_detected'",
...          {"ratio_ci": [0.41, 0.62], "status": "difference_detected"})
True
>>> evaluate("count(inputs, tag == 'protected')",
...          {"inputs": [{"tag": "protected"}, {"tag": "other"}]})
1
>>> sorted(parse("any(comparisons, ratio < limit) or model_card.readable").names())
['comparisons', 'model_card']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditkit._text import did_you_mean, list_values
from auditkit.exceptions import TemplateError

__all__ = [
    "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "MAX_STEPS", "STEPS_PER_ELEMENT", "Budget", "Expression",
    "ExpressionBudgetError", "ExpressionError", "evaluate", "parse",
]

#: Longest expression text accepted, in characters.
MAX_LENGTH = 4000
#: Deepest nesting of brackets, function calls and unary operators accepted.
MAX_DEPTH = 32

#: Evaluation steps (one per operand, operator, call or key read) an expression may take ...
MAX_STEPS = 500_000
#: ... plus this many for each element of a list that ``any``/``all``/``count`` goes through at the
#: expression's outer level (and for each record a rule or binding is checked against): honest work
#: over a list of any length always fits, while loops nested in loops run out after about a second.
STEPS_PER_ELEMENT = 1_000

#: Function name -> (fewest, most) arguments; ``None`` means any number.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "all": (1, 2),
    "any": (1, 2),
    "count": (1, 2),
    "len": (1, 1),
    "max": (1, None),
    "min": (1, None),
    "outside": (3, 3),
    "within": (3, 3),
}

_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_PYTHON_CONSTANTS = {"True": "true", "False": "false", "None": "null"}
_OPERAND = "a name, number, string or '('"
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|[<>+\-*/(),.\[\]])
    """,
    re.VERBOSE,
)


class ExpressionError(TemplateError):
    """An expression that cannot be parsed or evaluated.

    ``column`` is the 1-based position in the expression text (or ``None``),
    ``expected`` says what would have been valid there.
    """

    def __init__(self, message: str, column: int | None = None, expected: str | None = None):
        super().__init__(message)
        self.column = column
        self.expected = expected


class ExpressionBudgetError(ExpressionError):
    """An expression that took more evaluation steps than its budget (see :data:`MAX_STEPS`)."""


class Budget:
    """Evaluation steps left for one expression, or for one rule or binding checked against many records.

    >>> parse("1 + 2 + 3 + 4 + 5").evaluate({}, budget=Budget(6))
    15
    >>> parse("1 + 2 + 3 + 4 + 5").evaluate({}, budget=Budget(5))
    Traceback (most recent call last):
    ...
    auditkit.expr.ExpressionBudgetError: the expression '1 + 2 + 3 + 4 + 5' needs more than 5 evaluation steps (the budget: 500,000, plus 1,000 for each element of a list it goes through and for each record it is checked against); nested loops over lists multiply the work. Simplify it, or check that this is the template or instrument you meant to use.
    """

    def __init__(self, steps: int = MAX_STEPS):
        self.left = self.limit = int(steps)

    def grant(self, steps: int) -> None:
        """Allow ``steps`` more (for the elements of a list, or the records an expression is checked against)."""
        self.left += steps
        self.limit += steps


class _OutOfSteps(Exception):
    """Raised deep in the evaluator; :meth:`Expression.evaluate` turns it into an error naming the text."""


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, op, end
    text: str
    value: Any
    column: int


def _describe(token: _Token) -> str:
    return "end of expression" if token.kind == "end" else repr(token.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in "'\"":
            tokens.append(_read_string(text, pos))
            pos += len(tokens[-1].text)
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            hint = " Write '==' to compare." if char == "=" else ""
            raise ExpressionError(
                f"unexpected {char!r} at column {pos + 1}: expected {_OPERAND} or an operator.{hint}",
                pos + 1,
                "an operand or operator",
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), _number(match.group()) if kind == "number" else None, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


def _read_string(text: str, start: int) -> _Token:
    quote, pos, chars = text[start], start + 1, []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            chars.append(text[pos + 1])
            pos += 2
            continue
        if char == quote:
            return _Token("string", text[start : pos + 1], "".join(chars), start + 1)
        chars.append(char)
        pos += 1
    raise ExpressionError(
        f"unterminated string starting at column {start + 1}: expected a closing {quote}", start + 1, quote
    )


def _number(text: str) -> int | float:
    # Long integer literals become floats so that no arithmetic on them can
    # build unbounded integers or hit Python's int-to-string limit.
    if text.isdigit() and len(text) <= 15:
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ExpressionError(f"the number {text} is too large: expected a finite number (JSON has no infinity)")
    return value


# --------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class _Node:
    column: int


@dataclass(frozen=True)
class _Literal(_Node):
    value: Any


@dataclass(frozen=True)
class _Name(_Node):
    name: str


@dataclass(frozen=True)
class _ListLiteral(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Access(_Node):
    """``base`` followed by a chain of keys/indices, evaluated iteratively."""

    base: _Node
    steps: tuple[tuple[int, _Node], ...]  # (column, key-expression)


@dataclass(frozen=True)
class _Unary(_Node):
    op: str
    operand: _Node


@dataclass(frozen=True)
class _Chain(_Node):
    """Left-associative chain ``a op b op c`` of one precedence level, kept flat."""

    first: _Node
    rest: tuple[tuple[str, int, _Node], ...]  # (operator, column, operand)


@dataclass(frozen=True)
class _Compare(_Node):
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Call(_Node):
    function: str
    args: tuple[_Node, ...]


# -------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.token
        return token.kind == kind and (not texts or token.text in texts)

    def fail(self, expected: str, hint: str = "") -> ExpressionError:
        token = self.token
        return ExpressionError(
            f"unexpected {_describe(token)} at column {token.column}: expected {expected}{hint}",
            token.column,
            expected,
        )

    def expect(self, text: str) -> _Token:
        if not self.at("op", text):
            raise self.fail(repr(text))
        return self.advance()

    def nested(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression nested too deeply at column {column}: expected at most {MAX_DEPTH} levels "
                "of brackets, calls and unary operators",
                column,
                f"at most {MAX_DEPTH} levels",
            )

    def parse(self) -> _Node:
        node = self.expression()
        if self.token.kind != "end":
            raise self.fail("an operator or the end of the expression")
        return node

    def expression(self) -> _Node:
        self.nested(self.token.column)
        node = self.chain(self.and_expr, ("or",))
        self.depth -= 1
        return node

    def chain(self, operand, operators: tuple[str, ...]) -> _Node:
        first = operand()
        rest = []
        while (self.at("name") or self.at("op")) and self.token.text in operators:
            op = self.advance()
            rest.append((op.text, op.column, operand()))
        return _Chain(first.column, first, tuple(rest)) if rest else first

    def and_expr(self) -> _Node:
        return self.chain(self.not_expr, ("and",))

    def not_expr(self) -> _Node:
        if self.at("name", "not"):
            op = self.advance()
            self.nested(op.column)
            node = _Unary(op.column, "not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> _Node:
        left = self.chain(self.product_chain, ("+", "-"))
        op = self.token
        if op.kind == "op" and op.text in ("==", "!=", "<", "<=", ">", ">="):
            self.advance()
        elif op.kind == "name" and op.text == "in":
            self.advance()
        elif op.kind == "name" and op.text == "not" and self.tokens[self.index + 1].text == "in":
            self.index += 2
            op = _Token("name", "not in", None, op.column)
        else:
            return left
        right = self.chain(self.product_chain, ("+", "-"))
        following = self.token
        if (following.kind == "op" and following.text in ("==", "!=", "<", "<=", ">", ">=")) or (
            following.kind == "name" and following.text == "in"
        ):
            raise self.fail("'and', 'or', ')' or the end", "; comparisons cannot be chained, join them with 'and'")
        return _Compare(op.column, op.text, left, right)

    def product_chain(self) -> _Node:
        return self.chain(self.unary, ("*", "/"))

    def unary(self) -> _Node:
        if self.at("op", "-"):
            op = self.advance()
            self.nested(op.column)
            node = _Unary(op.column, "-", self.unary())
            self.depth -= 1
            return node
        return self.postfix()

    def postfix(self) -> _Node:
        base = self.primary()
        steps = []
        while self.at("op", ".", "["):
            op = self.advance()
            if op.text == ".":
                name = self.token
                if name.kind != "name" or name.text.startswith("__"):
                    raise self.fail("a key name after '.'")
                self.advance()
                steps.append((name.column, _Literal(name.column, name.text)))
            else:
                steps.append((op.column, self.expression()))
                self.expect("]")
        return _Access(base.column, base, tuple(steps)) if steps else base

    def primary(self) -> _Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.advance()
            return _Literal(token.column, token.value)
        if token.kind == "name":
            return self.name()
        if self.at("op", "("):
            self.advance()
            node = self.expression()
            self.expect(")")
            return node
        if self.at("op", "["):
            self.advance()
            return _ListLiteral(token.column, self.arguments("]"))
        raise self.fail(_OPERAND)

    def name(self) -> _Node:
        token = self.token
        text = token.text
        if text in ("true", "false", "null"):
            self.advance()
            return _Literal(token.column, {"true": True, "false": False, "null": None}[text])
        if text.startswith("__") or text in _KEYWORDS:
            raise self.fail(_OPERAND)
        if text in _PYTHON_CONSTANTS:
            raise self.fail(_OPERAND, f"; write {_PYTHON_CONSTANTS[text]!r}")
        self.advance()
        if not self.at("op", "("):
            return _Name(token.column, text)
        if text not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {text!r} at column {token.column}: expected one of "
                f"{list_values(sorted(FUNCTIONS))}.{did_you_mean(text, FUNCTIONS)}",
                token.column,
                "a known function",
            )
        self.advance()
        args = self.arguments(")")
        fewest, most = FUNCTIONS[text]
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = str(fewest) if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
            raise ExpressionError(
                f"{text}() at column {token.column} takes {wanted} argument(s), got {len(args)}",
                token.column,
                f"{wanted} argument(s)",
            )
        return _Call(token.column, text, args)

    def arguments(self, closing: str) -> tuple[_Node, ...]:
        args: list[_Node] = []
        if self.at("op", closing):
            self.advance()
            return ()
        while True:
            args.append(self.expression())
            if self.at("op", closing):
                self.advance()
                return tuple(args)
            if not self.at("op", ","):
                raise self.fail(f"',' or {closing!r}")
            self.advance()


# ----------------------------------------------------------------- evaluator


class _Scope:
    """The outer context plus, inside any()/all()/count(), the current element."""

    def __init__(self, values: Mapping[str, Any], outer: _Scope | None = None, item: Any = None,
                 budget: Budget | None = None):
        self.values, self.outer, self.item = values, outer, item
        self.budget: Budget = outer.budget if outer is not None else budget or Budget()

    def lookup(self, name: str, column: int) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            if scope.outer is not None and name == "item":
                return scope.item
            if name in scope.values:
                return scope.values[name]
            scope = scope.outer
        known = sorted(self.known())
        raise ExpressionError(
            f"unknown name {name!r} at column {column}: expected one of {list_values(known)}."
            f"{did_you_mean(name, known)}",
            column,
            "a known name",
        )

    def known(self) -> set[str]:
        names = {str(key) for key in self.values}
        if self.outer is not None:
            names |= {"item"} | self.outer.known()
        return names


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "record"
    if isinstance(value, Sequence):
        return "list"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _truth(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)) or _is_list(value) or isinstance(value, Mapping):
        return bool(value)
    raise ExpressionError(f"cannot use a value of type {_kind(value)!r} as true or false")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if _is_list(left) and _is_list(right):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right))
    try:
        return bool(left == right)
    except Exception:  # noqa: BLE001 - foreign objects in a context must not escape as other errors
        return False


def _step(value: Any, key: Any, column: int) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        known = sorted(str(k) for k in value)
        raise ExpressionError(
            f"no key {key!r} at column {column}: expected one of {list_values(known)}.{did_you_mean(str(key), known)}",
            column,
            "a known key",
        )
    if _is_list(value):
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        if not _is_number(key) or isinstance(key, float):
            raise ExpressionError(f"a list index at column {column} must be a whole number, got {_kind(key)}", column)
        if -len(value) <= key < len(value):
            return value[key]
        shown = key if abs(key) < 10**18 else "(a very large number)"
        raise ExpressionError(
            f"index {shown} at column {column} is out of range: the list has {len(value)} element(s)", column
        )
    raise ExpressionError(
        f"cannot read {key!r} at column {column} from a {_kind(value)}: only records and lists have keys", column
    )


def _arithmetic(op: str, left: Any, right: Any, column: int) -> Any:
    if left is None or right is None:
        return None
    if not (_is_number(left) and _is_number(right)):
        raise ExpressionError(
            f"'{op}' at column {column} needs two numbers, got {_kind(left)} and {_kind(right)}", column
        )
    try:
        if op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        else:
            result = None if right == 0 else left / right
    except OverflowError as err:
        raise ExpressionError(f"'{op}' at column {column}: the result is too large", column) from err
    # Floats overflow to infinity silently and integers grow without end; JSON output has neither.
    if (isinstance(result, float) and math.isinf(result) and not any(
            isinstance(x, float) and math.isinf(x) for x in (left, right))) or (
            isinstance(result, int) and abs(result) > 10**300):
        raise ExpressionError(f"'{op}' at column {column}: the result is too large", column)
    return result


def _compare(op: str, left: Any, right: Any, column: int) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("in", "not in"):
        if right is None:
            found = False
        elif isinstance(right, str) and isinstance(left, str):
            found = left in right
        elif isinstance(right, Mapping):
            found = any(_equal(left, key) for key in right)
        elif _is_list(right):
            found = any(_equal(left, element) for element in right)
        else:
            raise ExpressionError(f"'{op}' at column {column} needs a list on its right, got {_kind(right)}", column)
        return found if op == "in" else not found
    if left is None or right is None:
        return False
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    raise ExpressionError(
        f"cannot compare a {_kind(left)} with a {_kind(right)} using '{op}' at column {column}", column
    )


def _bounds(value: Any, column: int) -> tuple[float, float] | None:
    if _is_number(value):
        return (value, value)
    if _is_list(value) and len(value) == 2:
        low, high = value
        if low is None or high is None:
            return None
        if _is_number(low) and _is_number(high):
            return (low, high)
    if value is None:
        return None
    raise ExpressionError(f"expected a number or an interval [low, high] at column {column}, got {_kind(value)}", column)


def _interval(name: str, args: list[Any], column: int) -> bool:
    bounds = [_bounds(arg, column) for arg in args]
    if any(b is None for b in bounds) or any(math.isnan(x) for b in bounds for x in b):  # type: ignore[union-attr]
        return False
    (low, high), (lo, _), (hi, _) = bounds  # type: ignore[misc]
    if name == "outside":
        return high < lo or low > hi
    return lo <= low and high <= hi


def _extreme(name: str, args: list[Any], column: int) -> Any:
    values = args[0] if len(args) == 1 and _is_list(args[0]) else args
    if len(args) == 1 and args[0] is None:
        values = []
    numbers = [v for v in values if v is not None]
    if not all(_is_number(v) for v in numbers) and not all(isinstance(v, str) for v in numbers):
        raise ExpressionError(f"{name}() at column {column} needs numbers or strings, not a mix", column)
    if not numbers:
        return None
    return min(numbers) if name == "min" else max(numbers)


def _call(node: _Call, scope: _Scope) -> Any:
    name, column = node.function, node.column
    if name in ("any", "all", "count"):
        elements = _eval(node.args[0], scope)
        if elements is None:
            elements = []
        if not _is_list(elements):
            raise ExpressionError(f"{name}() at column {column} needs a list first, got {_kind(elements)}", column)
        if scope.outer is None:  # a loop at the outer level: its elements earn steps; nested loops earn none
            scope.budget.grant(STEPS_PER_ELEMENT * len(elements))
        hits = []
        for element in elements:
            if len(node.args) == 1:
                hits.append(_truth(element))
            else:
                values = element if isinstance(element, Mapping) else {}
                hits.append(_truth(_eval(node.args[1], _Scope(values, scope, element))))
        return {"any": any, "all": all, "count": sum}[name](hits)
    args = [_eval(arg, scope) for arg in node.args]
    if name in ("min", "max"):
        return _extreme(name, args, column)
    if name in ("outside", "within"):
        return _interval(name, args, column)
    (value,) = args
    if value is None:
        return None
    if name == "abs" and _is_number(value):
        return abs(value)
    if name == "len" and (isinstance(value, (str, Mapping)) or _is_list(value)):
        return len(value)
    raise ExpressionError(f"{name}() at column {column} cannot take a {_kind(value)}", column)


def _eval(node: _Node, scope: _Scope) -> Any:
    budget = scope.budget
    budget.left -= 1
    if budget.left < 0:
        raise _OutOfSteps
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Name):
        return scope.lookup(node.name, node.column)
    if isinstance(node, _Access):
        value = _eval(node.base, scope)
        for column, key in node.steps:
            value = _step(value, _eval(key, scope), column)
        return value
    if isinstance(node, _ListLiteral):
        return [_eval(item, scope) for item in node.items]
    if isinstance(node, _Unary):
        value = _eval(node.operand, scope)
        if node.op == "not":
            return not _truth(value)
        return _arithmetic("-", 0, value, node.column)
    if isinstance(node, _Chain):
        return _eval_chain(node, scope)
    if isinstance(node, _Compare):
        return _compare(node.op, _eval(node.left, scope), _eval(node.right, scope), node.column)
    if isinstance(node, _Call):
        return _call(node, scope)
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


def _eval_chain(node: _Chain, scope: _Scope) -> Any:
    value = _eval(node.first, scope)
    for op, column, operand in node.rest:
        if op in ("and", "or"):
            value = _truth(value)
            if value is (op == "or"):
                return value
            value = _truth(_eval(operand, scope))
        else:
            value = _arithmetic(op, value, _eval(operand, scope), column)
    return value


def _names(node: _Node) -> set[str]:
    if isinstance(node, _Name):
        return {node.name}
    if isinstance(node, _Access):
        return _names(node.base).union(*(_names(key) for _, key in node.steps))
    if isinstance(node, _ListLiteral):
        return set().union(*(_names(item) for item in node.items))
    if isinstance(node, _Unary):
        return _names(node.operand)
    if isinstance(node, _Chain):
        return _names(node.first).union(*(_names(operand) for _, _, operand in node.rest))
    if isinstance(node, _Compare):
        return _names(node.left) | _names(node.right)
    if isinstance(node, _Call):
        # The condition of any/all/count is read per element, so its names are
        # keys of the elements rather than of the context.
        args = node.args[:1] if node.function in ("any", "all", "count") else node.args
        return set().union(*(_names(arg) for arg in args))
    return set()


# ------------------------------------------------------------------- public


@dataclass(frozen=True)
class Expression:
    """A parsed expression; build it with :func:`parse`.

    >>> parse("len(groups) >= 2").evaluate({"groups": ["a", "b"]})
    True
    """

    text: str
    _tree: _Node

    def evaluate(self, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
        """Evaluate against ``context`` (a mapping of names to JSON-like values).

        ``budget``: the steps it may take (a fresh :class:`Budget` by default); pass one budget to every
        evaluation of a rule over many records, granting :data:`STEPS_PER_ELEMENT` per record.
        """
        if not isinstance(context, Mapping):
            raise ExpressionError(f"an expression is evaluated against a mapping of names, got {_kind(context)}")
        budget = budget if budget is not None else Budget()
        try:
            return _eval(self._tree, _Scope(context, budget=budget))
        except _OutOfSteps:
            raise ExpressionBudgetError(
                f"the expression {self.text!r} needs more than {budget.limit:,} evaluation steps (the budget: "
                f"{MAX_STEPS:,}, plus {STEPS_PER_ELEMENT:,} for each element of a list it goes through and for "
                "each record it is checked against); nested loops over lists multiply the work. Simplify it, or "
                "check that this is the template or instrument you meant to use.") from None
        except RecursionError as err:  # pragma: no cover - MAX_DEPTH keeps trees shallow
            raise ExpressionError("expression too deeply nested to evaluate") from err

    def names(self) -> set[str]:
        """The top-level context names the expression reads (first part of each dotted path).

        Names inside the condition of ``any``/``all``/``count`` are left out:
        they are read from each element first.
        """
        return _names(self._tree)


def parse(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression`, or raise :class:`ExpressionError`.

    >>> parse("1 +")
    Traceback (most recent call last):
    ...
    auditkit.expr.ExpressionError: unexpected end of expression at column 4: expected a name, number, string or '('
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long: expected at most {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError("empty expression: expected a name, number, string or '('", 1, _OPERAND)
    return Expression(text, _Parser(text).parse())


def evaluate(text: str, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
    """Parse ``text`` and evaluate it against ``context`` (under ``budget``, see :meth:`Expression.evaluate`).

    >>> evaluate("x in [1, 2] and not flag", {"x": 2, "flag": False})
    True
    """
    return parse(text).evaluate(context, budget)
