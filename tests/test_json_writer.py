"""The indented JSON writer gives exactly the bytes of ``json.dumps(finite(obj), indent=2)``.

auditkit writes its own indented JSON (Python's indented encoder has no C version and a period audit's
results hold tens of thousands of numbers), so the bytes of every document are checked against the
standard library's on crafted values and on the results of real audits.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from auditkit._json import finite, json_text

ODD = ["", "é ü ß", "tab\there", "line\nbreak", 'quote " and \\ back', "\x00\x1f\x7f", "\u2028\u2029", "🙂",
       "\ud800"]


def _reference(obj: object, sort_keys: bool = False) -> str:
    return json.dumps(finite(obj), indent=2, ensure_ascii=False, sort_keys=sort_keys, allow_nan=False) + "\n"


def _random_value(rng: np.random.Generator, depth: int) -> object:
    pick = int(rng.integers(0, 14 if depth < 4 else 9))
    if pick == 0:
        return None
    if pick == 1:
        return bool(rng.integers(0, 2))
    if pick == 2:
        return int(rng.integers(-10**12, 10**12)) * int(rng.choice([1, 10**9]))
    if pick == 3:
        return float(rng.choice([0.0, -0.0, 1e-7, 1e22, 1 / 3, math.nan, math.inf, -math.inf, 5e-324, 1.5]))
    if pick == 4:
        return ODD[int(rng.integers(0, len(ODD)))]
    if pick == 5:
        return np.float64(rng.normal())
    if pick == 6:
        return np.int64(rng.integers(-5, 5))
    if pick == 7:
        return np.bool_(rng.integers(0, 2))
    if pick == 8:
        return float(rng.normal()) * 10.0 ** int(rng.integers(-20, 20))
    if pick in (9, 10):
        return [_random_value(rng, depth + 1) for _ in range(int(rng.integers(0, 5)))]
    if pick == 11:
        return tuple(_random_value(rng, depth + 1) for _ in range(int(rng.integers(0, 3))))
    keys = ["a", "b", "é", "", "x\ny", "zz"]
    return {keys[int(rng.integers(0, len(keys)))] + str(i): _random_value(rng, depth + 1)
            for i in range(int(rng.integers(0, 5)))}


def test_crafted_values_give_the_standard_librarys_bytes():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        value = _random_value(rng, 0)
        assert json_text(value) == _reference(value)
        assert json_text(value, sort_keys=True) == _reference(value, sort_keys=True)


@pytest.mark.parametrize("value", [{1: "int key", 2.5: "float key", True: "bool key", None: "null key"},
                                   {"outer": {3: [1, {4.0: None}]}}, [[], {}, [[]], [{}]]])
def test_keys_and_empty_containers(value):
    assert json_text(value) == _reference(value)


@pytest.mark.parametrize("value", [{object(): 1}, [object()], {math.nan: 1}, {(1, 2): 3}])
def test_what_the_standard_library_refuses_is_refused(value):
    with pytest.raises((TypeError, ValueError)) as ours:
        json_text(value)
    with pytest.raises((TypeError, ValueError)) as theirs:
        _reference(value)
    assert ours.type is theirs.type


def test_results_of_a_real_period_audit_give_the_same_bytes():
    """A period audit's results (every kind of value a results document holds) in both key orders."""
    from pathlib import Path

    from auditkit.audit import audit
    from auditkit.spec import AuditSpec

    data = Path(__file__).resolve().parents[1] / "datasets" / "welfare-over-time" / "decisions.csv"
    spec = AuditSpec(protected=("nationality", "gender"), decision="selected", positive=("Ja",), period="year")
    results = audit(data, spec).results
    assert len(results["periods"]["levels"]) >= 6 and results["periods"]["per_period"]
    assert json_text(results) == _reference(results)
    assert json_text(results, sort_keys=True) == _reference(results, sort_keys=True)
