"""The attacker small-cell suppression is checked against: what linear relations give back from known counts.

Cells are numbered 0 .. n - 1; a *relation* is a linear equation over cells whose constant is known
(zero: a total minus its parts), so that any one of its cells follows from the others.  The attacker
knows a set of cells and derives (1) every cell that is the only unknown of a relation, repeatedly, and
(2) every cell a linear combination of the remaining relations fixes (Gauss–Jordan, done exactly and
sparsely).  :mod:`auditkit.report._suppress` decides which counts to withhold so that it recovers no
small one.

Everything here costs about the total size of the relations, not its square: a relation keeps a count of
its unknown cells, a new known cell is propagated from where it enters (and can be taken back), and the
elimination pivots so that the equations stay sparse.  That is what lets a report of tens of thousands
of groups be protected in seconds.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Equations", "State", "determined"]

#: A prime near 2**61: the equations are solved exactly in the integers modulo it.  A cell fixed over the
#: rationals is fixed modulo P too unless P divides a minor of a matrix of small integer coefficients (odds
#: of about 1 in 10**18 per minor); the reverse cannot happen, so the solver never claims a cell is fixed
#: when it is not.
_P = (1 << 61) - 1


def determined(rows: Sequence[dict[int, int]], n: int, seed: int = 0) -> set[int]:
    """For a sparse homogeneous system (rows: column -> coefficient), the columns whose unknown it fixes.

    Exact elimination modulo a prime, pivoting on the column in fewest equations and then on the
    shortest row (a group's own cells go before the totals that tie groups together, so rows stay
    short), then two random vectors of the null space: a column is fixed when both are zero there.

    >>> sorted(determined([{0: 1, 1: -1}, {1: 1, 2: 1}, {0: 1, 2: 1}], 4))  # x0 = x1, x1 = -x2, x0 = -x2
    []
    >>> sorted(determined([{0: 1, 1: 1}, {0: 1, 1: -1}, {2: 1, 3: -1}], 4))  # x0 + x1 = 0 = x0 - x1
    [0, 1]
    """
    rows = [{c: v % _P for c, v in r.items() if v % _P} for r in rows]
    where: dict[int, set[int]] = defaultdict(set)
    for i, r in enumerate(rows):
        for c in r:
            where[c].add(i)
    pivots: list[tuple[int, int]] = []  # (column, its pivot row), in the order of elimination
    heap = [(len(w), c) for c, w in where.items()]
    heapq.heapify(heap)
    done: set[int] = set()
    while heap:
        deg, col = heapq.heappop(heap)
        if col in done:
            continue
        live = where[col]
        if deg != len(live):
            heapq.heappush(heap, (len(live), col))
            continue
        done.add(col)
        if not live:
            continue
        piv = min(live, key=lambda i: (len(rows[i]), i))
        prow = rows[piv]
        for c in prow:
            where[c].discard(piv)
        inv = pow(prow[col], -1, _P)
        for i in list(live):
            r = rows[i]
            f = r[col] * inv % _P
            for c, v in prow.items():
                new = (r.get(c, 0) - f * v) % _P
                if new:
                    if c not in r:
                        where[c].add(i)
                    r[c] = new
                elif c in r:
                    del r[c]
                    where[c].discard(i)
        pivots.append((col, piv))
        for c in prow:
            if c not in done:
                heapq.heappush(heap, (len(where[c]), c))
    pivoted = {c for c, _ in pivots}
    rng = np.random.default_rng(seed)
    zero: set[int] | None = None
    for _ in range(2):
        x = {c: int(rng.integers(1, _P)) for c in range(n) if c not in pivoted}
        for col, piv in reversed(pivots):
            prow = rows[piv]
            acc = sum(v * x[c] for c, v in prow.items() if c != col) % _P
            x[col] = -acc * pow(prow[col], -1, _P) % _P
        zeros = {c for c in range(n) if x[c] == 0}
        zero = zeros if zero is None else zero & zeros
    return zero or set()


class State(NamedTuple):
    """What the attacker has: the cells known or derived, per relation how many of its cells are not,
    and for each derived cell the relation that gave it."""

    have: set[int]
    missing: list[int]
    derived: dict[int, int]


class Equations:
    """Relations over numbered cells, and the attacker's moves on them."""

    def __init__(self, relations: Sequence[tuple[tuple[int, ...], tuple[int, ...]]], n: int) -> None:
        self.relations = list(relations)
        self.n = n
        self.by_cell: list[list[int]] = [[] for _ in range(n)]
        for i, (rel, _) in enumerate(self.relations):
            for c in rel:
                self.by_cell[c].append(i)
        sizes = np.fromiter((len(rel) for rel, _ in self.relations), dtype=np.int64, count=len(self.relations))
        self._flat = np.fromiter((c for rel, _ in self.relations for c in rel), dtype=np.int64, count=int(sizes.sum()))
        self._starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def missing(self, have: Iterable[int]) -> np.ndarray:
        """Per relation, how many of its cells are not in ``have``."""
        if not self.relations:
            return np.zeros(0, dtype=np.int64)
        mask = np.ones(self.n, dtype=np.int64)
        mask[np.fromiter(have, dtype=np.int64)] = 0
        return np.add.reduceat(mask[self._flat], self._starts)

    def attack(self, known: set[int]) -> State:
        """Every cell subtraction gives back from ``known``: the attacker's state when it is done."""
        missing = self.missing(known).tolist()
        state = State(set(known), missing, {})
        self._propagate(state, deque(i for i, m in enumerate(missing) if m == 1))
        return state

    def _propagate(self, state: State, queue: deque, log: list[int] | None = None) -> None:
        have, missing, derived = state
        while queue:
            i = queue.popleft()
            if missing[i] != 1:
                continue
            c = next(c for c in self.relations[i][0] if c not in have)
            have.add(c)
            derived[c] = i
            if log is not None:
                log.append(c)
            for j in self.by_cell[c]:
                missing[j] -= 1
                if missing[j] == 1:
                    queue.append(j)

    def learn(self, state: State, c: int) -> list[int]:
        """Tell the attacker cell ``c``; return what it then has that it did not (``c`` first, then the
        cells derived).  :meth:`forget` takes it back."""
        if c in state.have:
            return []
        log = [c]
        state.have.add(c)
        queue: deque = deque()
        for j in self.by_cell[c]:
            state.missing[j] -= 1
            if state.missing[j] == 1:
                queue.append(j)
        self._propagate(state, queue, log)
        return log

    def forget(self, state: State, log: list[int]) -> None:
        """Undo :meth:`learn`."""
        for c in reversed(log):
            state.have.discard(c)
            state.derived.pop(c, None)
            for j in self.by_cell[c]:
                state.missing[j] += 1

    def solve(self, have: set[int], wanted: set[int]) -> set[int]:
        """The cells of ``wanted`` that a linear combination of relations fixes although no subtraction
        does (e.g. a 2 × 2 table from its margins and its diagonal)."""
        rels = np.nonzero(self.missing(have) > 1)[0].tolist()
        free = {i: [c for c in self.relations[i][0] if c not in have] for i in rels}
        uses: dict[int, set[int]] = defaultdict(set)
        for i in rels:
            for c in free[i]:
                uses[c].add(i)
        if not any(c in wanted for c in uses):
            return set()
        # a cell in one equation only absorbs it: drop the equation (the cell is fixed when the others
        # of its equation are), until every cell left is in two or more
        pruned: list[tuple[int, int]] = []
        stack = [c for c, u in uses.items() if len(u) == 1]
        while stack:
            c = stack.pop()
            if len(uses[c]) != 1:
                continue
            (i,) = uses[c]
            pruned.append((c, i))
            for x in free[i]:
                uses[x].discard(i)
                if len(uses[x]) == 1:
                    stack.append(x)
        core = sorted({i for u in uses.values() for i in u})
        index = {c: j for j, c in enumerate(sorted({c for i in core for c in free[i]}))}
        rows = []
        for i in core:
            row: dict[int, int] = defaultdict(int)
            for c, coef in zip(*self.relations[i]):
                if c in index:
                    row[index[c]] += coef
            rows.append(row)
        fixed = determined(rows, len(index))
        out = {c for c, j in index.items() if j in fixed}
        for c, i in reversed(pruned):
            if all(x in out for x in free[i] if x != c):
                out.add(c)
        return out & wanted

    def near(self, c: int, have: set[int], hideable: Callable[[int], bool]) -> set[int]:
        """The known hideable cells nearest to ``c`` in its equations (ring by ring through unknown cells)."""
        ring, seen = {c}, {c}
        while ring:
            found, nxt = set(), set()
            for x in ring:
                for i in self.by_cell[x]:
                    for m in self.relations[i][0]:
                        if m in seen:
                            continue
                        seen.add(m)
                        if m not in have:
                            nxt.add(m)
                        elif hideable(m):
                            found.add(m)
            if found:
                return found
            ring = nxt
        return set()

    def support(self, cells: Iterable[int], derived: dict[int, int], known: set[int],
                hideable: Callable[[int], bool]) -> set[int]:
        """The known hideable cells that the derivation of ``cells`` rests on."""
        out, stack = set(), list(cells)
        seen = set(stack)
        while stack:
            x = stack.pop()
            if x not in derived:
                if x in known and hideable(x):
                    out.add(x)
                continue
            for m in self.relations[derived[x]][0]:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return out
