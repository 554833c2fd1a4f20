"""Beyond the papers: an MLP's width-scaling conditions, derived with the same algebra.

Network: input layer ``W_1 ∈ R^{n×d}`` (fixed fan-in ``d``), ``L`` hidden layers
``W_l ∈ R^{n×n}``, readout ``W_o ∈ R^{k×n}`` (fixed ``k``); ``h_1 = W_1 x``, ``h_l = W_l φ(h_{l−1})``,
``f = W_o φ(h_{L+1})``, ReLU ``φ`` (exponent-preserving, homogeneous), one data point ``x`` with
``Θ(1)`` entries, loss derivative ``df = Θ(1)``. Per role (``input``, ``hidden``, ``output``) an
init-variance exponent ``v`` (entries ``N(0, n^v)``, entry exponent ``v/2``) and a learning-rate
exponent ``c`` (``η = n^c``), no multipliers; SGD or Adam (normalised updates).

Unrolled for ``T`` steps with the typed contractions of :mod:`gamma_calc.quantity`. The readout's
backward signal ``W_oᵀ df`` sums over the fixed ``k`` and stays coherent with ``W_o``, so
``W_o Δx`` is an aligned sum (``+1``) — the term that forces the readout variance ``≤ n^{−2}``.

Conditions (Yang & Hu's abc-analysis, restated in γ):
* **stable** — pre-activations ``Θ(1)`` at init (``γ[h_l^0] = 0``), output ``γ[f^0] ≤ 0``, and for
  ``t = 1..T`` every change ``γ[Δh_l^t] ≤ 0``, ``γ[Δf^t] ≤ 0``;
* **maximal update** (μP's "every layer learns") — each layer's own update moves its output by
  ``Θ(1)``: ``γ[ΔW_l x_{l−1}^t] = 0`` for every layer and ``t = 1..T`` (feature learning follows).
The maximal-update parametrization reported is the point of that set with the largest init
variances (any smaller readout variance is also allowed under Adam; SGD pins it).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .conditions import Atom
from .exponent import ZERO, Exponent, Lin
from .lp import EQ, LE
from .polyhedron import Constraint, Region, simplify, sup
from .quantity import Dim, Tensor, outer, sign
from .solve import regions

ROLES = ("input", "hidden", "output")
N, D, K = Dim("n", True), Dim("d", False), Dim("k", False)


def _v(role: str) -> str:
    return f"v_{role}"


def _c(role: str) -> str:
    return f"c_{role}"


@dataclass
class MLPTrajectory:
    h0: list[Exponent]
    f0: Exponent
    dh: list[list[Exponent]] = field(default_factory=list)   # [t][layer]
    df: list[Exponent] = field(default_factory=list)
    own: list[list[Exponent]] = field(default_factory=list)  # [t][layer incl. output]


def layer_names(hidden_layers: int, per_layer: bool) -> list[str]:
    """Parameter-group name of every weight matrix: roles, or one name per hidden layer."""
    hidden = [f"hidden{i + 1}" for i in range(hidden_layers)] if per_layer \
        else ["hidden"] * hidden_layers
    return ["input"] + hidden + ["output"]


class _Stepper:
    """The typed state of the MLP while it trains: init weights ``W0``, summed updates ``D``,
    activations at init; :meth:`step` takes one optimiser step and returns the exponents."""

    def __init__(self, optimizer: str, hidden_layers: int, values: Mapping[str, Fraction],
                 per_layer: bool) -> None:
        self.optimizer = optimizer
        self.roles = layer_names(hidden_layers, per_layer)
        dims = [(N, D)] + [(N, N)] * hidden_layers + [(K, N)]

        def param(name: str) -> Lin:
            return Lin(values[name]) if name in values else Lin.var(name)

        self.rates = [Exponent.lin(param(_c(r))) for r in self.roles]
        self.W0 = [Tensor.random(f"W{i}", dm, Exponent.lin(param(_v(r)).scale(Fraction(1, 2))))
                   for i, (r, dm) in enumerate(zip(self.roles, dims))]
        self.D = [Tensor.zero(dm) for dm in dims]
        self.base = _forward(self.W0, Tensor.aligned((D,), ZERO, ("x",)))
        self.dout = Tensor.aligned((K,), ZERO, (None,))

    def step(self, domain: Sequence[Constraint] = ()
             ) -> tuple[list[Exponent], Exponent, list[Exponent]]:
        """One step; every exponent is exact on ``domain`` (terms that never win there are
        dropped). Returns ``γ[Δh_l^t]`` per layer, ``γ[Δf^t]`` and ``γ[ΔW_l x_{l−1}^t]``."""
        W0 = [w.on(domain) for w in self.W0]
        base = [b.on(domain) for b in self.base]
        D_ = [d.on(domain) for d in self.D]
        grads = _backward(W0, D_, base, _deltas(W0, D_, base), self.dout.on(domain))
        for i, (g, rate) in enumerate(zip(grads, self.rates)):
            upd = sign(g) if self.optimizer == "adam" else g
            D_[i] = D_[i] + upd.scale(rate)
        self.D = D_
        delta = _deltas(W0, D_, base)
        cur = [b + d for b, d in zip(base, delta)]
        own = [(D_[i] @ cur[i]).exponent for i in range(len(W0))]
        return [d.exponent for d in delta[1:-1]], delta[-1].exponent, own


def unroll_mlp(optimizer: str, hidden_layers: int, steps: int,
               values: Mapping[str, Fraction] | None = None,
               per_layer: bool = False) -> MLPTrajectory:
    """Exponents of pre-activations, their changes and each layer's own-update term for every
    parameter value; ``values`` fixes some of the parameters (exact substitution)."""
    st = _Stepper(optimizer, hidden_layers, dict(values or {}), per_layer)
    traj = MLPTrajectory([b.exponent for b in st.base[1:-1]], st.base[-1].exponent)
    for _ in range(steps):
        dh, df, own = st.step()
        traj.dh.append(dh)
        traj.df.append(df)
        traj.own.append(own)
    return traj


def _forward(W: list[Tensor], x: Tensor) -> list[Tensor]:
    acts = [x]
    for w in W:
        acts.append(w @ acts[-1])
    return acts


def _deltas(W0: list[Tensor], D_: list[Tensor], base: list[Tensor]) -> list[Tensor]:
    """``Δ`` of every activation: ``Δh_l = W_l^0 Δx_{l−1} + D_l (x_{l−1} + Δx_{l−1})``."""
    deltas = [Tensor.zero(base[0].dims)]
    for i, (w, d) in enumerate(zip(W0, D_)):
        prev = deltas[-1]
        deltas.append((w @ prev) + (d @ (base[i] + prev)))
    return deltas


def _backward(W0: list[Tensor], D_: list[Tensor], base: list[Tensor], delta: list[Tensor],
              dout: Tensor) -> list[Tensor]:
    """Gradients ``dh_l ⊗ x_{l−1}`` at the current weights and activations."""
    grads: list[Tensor] = []
    back = dout
    for i in reversed(range(len(W0))):
        grads.append(outer(back, base[i] + delta[i]))
        if i:
            back = (W0[i] + D_[i]).T @ back
    return grads[::-1]


def _atoms(traj: MLPTrajectory, maximal: bool) -> list[Atom]:
    atoms = [Atom(h, EQ, ZERO, f"h_{i + 1}^0 = Θ(1)") for i, h in enumerate(traj.h0)]
    atoms.append(Atom(traj.f0, LE, ZERO, "f^0 = O(1)"))
    for t, (dh, df) in enumerate(zip(traj.dh, traj.df), start=1):
        atoms += [Atom(e, LE, ZERO, f"Δh_{i + 1}^{t} = O(1)") for i, e in enumerate(dh)]
        atoms.append(Atom(df, LE, ZERO, f"Δf^{t} = O(1)"))
    if maximal:
        for t, own in enumerate(traj.own, start=1):
            atoms += [Atom(e, EQ, ZERO, f"ΔW_{i + 1} x^{t} = Θ(1)") for i, e in enumerate(own)]
    return atoms


@dataclass
class MLPResult:
    optimizer: str
    hidden_layers: int
    groups: list[str]
    stable: list[Region]
    maximal: list[Region]
    mup: dict[str, dict[str, str]]  # group -> {"init_var_exponent", "lr_exponent"}
    free: dict[str, str]  # variables not pinned at the reported point -> their range


def solve_mlp(optimizer: str, hidden_layers: int = 1, steps: int = 2,
              per_layer: bool = False) -> MLPResult:
    """Stable and maximal-update sets, solved exactly in stages.

    The init conditions ``γ[h_l^0] = 0`` are affine equalities that pin the input and hidden
    variances; those values are substituted before the dynamics are unrolled. The stable set is
    one polyhedron (every condition is ``max(ℓ…) ≤ 0``, i.e. every term ``ℓ ≤ 0``), built step
    by step: step ``t`` is unrolled with its exponents restricted to the set stable up to
    ``t − 1`` (exact there, and the final sets lie inside it), which keeps the max-plus terms
    few. The maximal-update set adds the equalities ``γ[ΔW_l x^t] = 0`` (case splits).
    """
    if hidden_layers < 1:
        raise ValueError("hidden_layers must be at least 1")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r} (adam or sgd)")
    init = unroll_mlp(optimizer, hidden_layers, 0, per_layer=per_layer)
    init_regs = regions([(frozenset(), [Atom(h, EQ, ZERO) for h in init.h0])])
    pinned = _pinned(init_regs)
    init_cons = [Constraint.make(Lin.var(v) - val, EQ) for v, val in pinned.items()]
    st = _Stepper(optimizer, hidden_layers, pinned, per_layer)
    traj = MLPTrajectory([b.exponent for b in st.base[1:-1]], st.base[-1].exponent)
    domain = _bounded([], [traj.f0])
    for _ in range(steps):
        if domain is None:
            break
        dh, df, own = st.step(domain)
        traj.dh.append(dh)
        traj.df.append(df)
        traj.own.append(own)
        domain = _bounded(domain, dh + [df])
    groups = list(dict.fromkeys(layer_names(hidden_layers, per_layer)))
    if domain is None:
        return MLPResult(optimizer, hidden_layers, groups, [], [], {}, {})
    stable_cons = simplify(list(domain) + init_cons)
    stable = [Region(tuple(stable_cons), frozenset({frozenset()}))] if stable_cons else []
    maximal = regions([(frozenset(), _atoms(traj, maximal=True))], list(domain) + init_cons)
    mup, free = _mup_point(maximal, groups)
    return MLPResult(optimizer, hidden_layers, groups, stable, maximal, mup, free)


def _bounded(domain: list[Constraint], exps: list[Exponent]) -> list[Constraint] | None:
    """``domain`` and ``γ[q] ≤ 0`` for every exponent (every term ``≤ 0``), simplified;
    ``None`` when empty."""
    cons = list(domain) + [Constraint.make(t, LE) for e in exps for t in e.raw_terms]
    return simplify(cons)


def _pinned(regs: list[Region]) -> dict[str, Fraction]:
    """Variables fixed to one value by the (single) region of the init conditions."""
    if len(regs) != 1:
        raise ValueError("the init conditions do not pin the variances to one point")
    out = {}
    for c in regs[0].constraints:
        if c.rel == EQ and len(c.lin.vars) == 1:
            (v,) = c.lin.vars
            out[v] = -c.lin.const / c.lin.coef(v)
    return out


def _mup_point(regs: list[Region], groups: list[str]
               ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Largest init variances (output first, then hidden, input) in the maximal-update set,
    then the learning rates that remain; reports variables left with a range."""
    if not regs:
        return {}, {}
    back = groups[::-1]
    order = [_v(g) for g in back] + [_c(g) for g in back]
    best: tuple[tuple[Fraction, ...], dict[str, Fraction], dict[str, str]] | None = None
    for r in regs:
        cons = list(r.constraints)
        point: dict[str, Fraction] = {}
        ranges: dict[str, str] = {}
        for var in order:
            hi = sup(Lin.var(var), cons)[1]
            neg_lo = sup(-Lin.var(var), cons)[1]
            if hi is None:
                ranges[var] = "unbounded above"
                continue
            if neg_lo is None:
                ranges[var] = f"<= {Exponent.const(hi)}"
            elif -neg_lo != hi:
                ranges[var] = f"in [{Exponent.const(-neg_lo)}, {Exponent.const(hi)}]"
            point[var] = hi
            cons.append(Constraint.make(Lin.var(var) - hi, EQ))
        key = tuple(point.get(v, Fraction(10 ** 9)) for v in order)
        if best is None or key > best[0]:
            best = (key, point, ranges)
    assert best is not None
    _, point, ranges = best
    mup = {g: {"init_var_exponent": _s(point.get(_v(g))),
               "lr_exponent": _s(point.get(_c(g)))} for g in groups}
    hidden = [g for g in groups if g.startswith("hidden")]
    if "hidden" not in mup and all(mup[g] == mup[hidden[0]] for g in hidden):
        mup["hidden"] = dict(mup[hidden[0]])  # the role's value when every hidden layer agrees
    return mup, ranges


def _s(x: Fraction | None) -> str:
    return "oo" if x is None else str(Exponent.const(x))
