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

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from .conditions import Atom
from .exponent import ZERO, Exponent, Lin
from .lp import EQ, LE
from .polyhedron import Constraint, Region, sup
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


def unroll_mlp(optimizer: str, hidden_layers: int, steps: int,
               values: Mapping[str, Fraction] | None = None,
               per_layer: bool = False) -> MLPTrajectory:
    """Exponents of pre-activations, their changes and each layer's own-update term;
    ``values`` fixes some of the parameters (exact substitution)."""
    values = dict(values or {})
    roles = layer_names(hidden_layers, per_layer)
    dims = [(N, D)] + [(N, N)] * hidden_layers + [(K, N)]

    def param(name: str) -> Lin:
        return Lin(values[name]) if name in values else Lin.var(name)

    W0 = [Tensor.random(f"W{i}", dm, Exponent.lin(param(_v(r)).scale(Fraction(1, 2))))
          for i, (r, dm) in enumerate(zip(roles, dims))]
    D_ = [Tensor.zero(dm) for dm in dims]
    x = Tensor.aligned((D,), ZERO, ("x",))
    dout = Tensor.aligned((K,), ZERO, (None,))
    base = _forward(W0, x)  # activations at init: [x, h_1, ..., h_{L+1}, f]
    traj = MLPTrajectory([b.exponent for b in base[1:-1]], base[-1].exponent)
    for _ in range(steps):
        grads = _backward(W0, D_, base, _deltas(W0, D_, base), dout)
        for i, (g, r) in enumerate(zip(grads, roles)):
            upd = sign(g) if optimizer == "adam" else g
            D_[i] = D_[i] + upd.scale(Exponent.lin(param(_c(r))))
        delta = _deltas(W0, D_, base)
        traj.dh.append([d.exponent for d in delta[1:-1]])
        traj.df.append(delta[-1].exponent)
        cur = [b + d for b, d in zip(base, delta)]
        traj.own.append([(D_[i] @ cur[i]).exponent for i in range(len(W0))])
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


def _backward(W0, D_, base, delta, dout) -> list[Tensor]:
    """Gradients ``dh_l ⊗ x_{l−1}`` at the current weights and activations."""
    grads = [None] * len(W0)
    back = dout
    for i in reversed(range(len(W0))):
        grads[i] = outer(back, base[i] + delta[i])
        if i:
            back = (W0[i] + D_[i]).T @ back
    return grads


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
    """Stable and maximal-update sets, solved in two exact stages: the init conditions
    ``γ[h_l^0] = 0`` are affine equalities that pin the input and hidden variances; those values
    are substituted before the dynamics are unrolled (it keeps the max-plus terms few)."""
    if hidden_layers < 1:
        raise ValueError("hidden_layers must be at least 1")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r} (adam or sgd)")
    init = unroll_mlp(optimizer, hidden_layers, 0, per_layer=per_layer)
    init_regs = regions([(frozenset(), [Atom(h, EQ, ZERO) for h in init.h0])])
    pinned = _pinned(init_regs)
    init_cons = [Constraint.make(Lin.var(v) - val, EQ) for v, val in pinned.items()]
    traj = unroll_mlp(optimizer, hidden_layers, steps, pinned, per_layer)
    stable = regions([(frozenset(), _atoms(traj, maximal=False))], init_cons)
    maximal = regions([(frozenset(), _atoms(traj, maximal=True))], init_cons)
    groups = list(dict.fromkeys(layer_names(hidden_layers, per_layer)))
    mup, free = _mup_point(maximal, groups)
    return MLPResult(optimizer, hidden_layers, groups, stable, maximal, mup, free)


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
    best = None
    for r in regs:
        cons = list(r.constraints)
        point, ranges = {}, {}
        for var in order:
            status, hi, _ = sup(Lin.var(var), cons)
            lo_status, lo, _ = sup(-Lin.var(var), cons)
            if status != "optimal":
                ranges[var] = "unbounded above"
                continue
            if lo_status != "optimal" or -lo != hi:
                ranges[var] = f"<= {Exponent.const(hi)}" if lo_status != "optimal" else \
                    f"in [{Exponent.const(-lo)}, {Exponent.const(hi)}]"
            point[var] = hi
            cons.append(Constraint.make(Lin.var(var) - hi, EQ))
        key = tuple(point.get(v, Fraction(10 ** 9)) for v in order)
        if best is None or key > best[0]:
            best = (key, point, ranges)
    _, point, ranges = best
    mup = {g: {"init_var_exponent": _s(point.get(_v(g))),
               "lr_exponent": _s(point.get(_c(g)))} for g in groups}
    hidden = [g for g in groups if g.startswith("hidden")]
    if "hidden" not in mup and all(mup[g] == mup[hidden[0]] for g in hidden):
        mup["hidden"] = dict(mup[hidden[0]])  # the role's value when every hidden layer agrees
    return mup, ranges


def _s(x: Fraction | None) -> str:
    return "oo" if x is None else str(Exponent.const(x))
