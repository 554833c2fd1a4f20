"""A plain-numpy float64 MLP, trained a few steps, for width-scaling checks (no gamma_calc code).

The model of :mod:`gamma_calc.mlp`: input layer ``W_1 ∈ R^{n×d}``, ``L`` hidden layers
``W_l ∈ R^{n×n}``, readout ``W_o ∈ R^{k×n}``; ``h_1 = W_1 x``, ``h_l = W_l relu(h_{l−1})``,
``f = W_o relu(h_{L+1})``; entries of layer ``i`` drawn ``N(0, n^{v_i})``, learning rate
``η_i = η₀ n^{c_i}``; one data point ``x`` with ``N(0, 1)`` entries and a linear loss ``⟨u, f⟩``
(so the loss derivative ``df = u`` is ``Θ(1)`` and stays so). SGD uses the raw gradient, Adam
the bias-corrected ``m̂ / √v̂`` (β = 0.9, 0.999, no ε: ``0/0 := 0``).

:func:`sizes` returns the RMS (pooled over seeds) of ``h_l^0``, ``f^0``, and for ``t = 1..T`` of
``Δh_l^t = h_l^t − h_l^0`` and ``Δf^t = f^t − f^0``; :func:`slopes` fits ``log size`` against
``log n`` over several widths. Seeds are a leading batch axis (one ``matmul`` per layer and step).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

D_IN, K_OUT, ETA0 = 3, 32, 0.5


def _init(rng: np.random.Generator, seeds: int, n: int, layers: int,
          var: Sequence[float]) -> list[np.ndarray]:
    shapes = [(n, D_IN)] + [(n, n)] * layers + [(K_OUT, n)]
    return [rng.standard_normal((seeds, *s)) * n ** (v / 2) for s, v in zip(shapes, var)]


def _forward(W: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations ``h_1..h_{L+1}, f`` and the inputs of every layer ``x, x_1..x_{L+1}``."""
    ins, pre = [x], []
    for i, w in enumerate(W):
        h = np.matmul(w, ins[-1][:, :, None])[:, :, 0]
        pre.append(h)
        if i < len(W) - 1:
            ins.append(np.maximum(h, 0.0))
    return pre, ins


def _grads(W: list[np.ndarray], pre: list[np.ndarray], ins: list[np.ndarray],
           u: np.ndarray) -> list[np.ndarray]:
    grads: list[np.ndarray] = [np.empty(0)] * len(W)
    back = u                                               # dL/df
    for i in reversed(range(len(W))):
        grads[i] = back[:, :, None] * ins[i][:, None, :]   # outer(dL/dh_i, x_{i-1})
        if i:
            back = np.matmul(back[:, None, :], W[i])[:, 0, :] * (pre[i - 1] > 0)
    return grads


def sizes(optimizer: str, var: Sequence[float], lr: Sequence[float], n: int, steps: int,
          seeds: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """``{"h0": [L+1], "f0": scalar, "dh": [T, L+1], "df": [T]}`` RMS sizes at width ``n``;
    ``var``/``lr`` are the exponents of every layer (input, hidden…, output)."""
    layers = len(var) - 2
    x = np.broadcast_to(np.ones(D_IN) / np.sqrt(D_IN), (seeds, D_IN))   # unit norm, fixed
    u = np.broadcast_to(np.resize([1.0, -1.0], K_OUT) / np.sqrt(K_OUT), (seeds, K_OUT))
    W = _init(np.random.default_rng([seed, n, layers]), seeds, n, layers, var)
    etas = [ETA0 * float(n) ** c for c in lr]
    pre0, ins = _forward(W, x)
    m = [np.zeros_like(w) for w in W]
    s2 = [np.zeros_like(w) for w in W]
    pre = pre0
    dh, df = [], []
    for t in range(1, steps + 1):
        grads = _grads(W, pre, ins, u)
        for i, g in enumerate(grads):
            if optimizer == "adam":
                m[i] = 0.9 * m[i] + 0.1 * g
                s2[i] = 0.999 * s2[i] + 0.001 * g * g
                den = np.sqrt(s2[i] / (1 - 0.999 ** t))
                step = np.divide(m[i] / (1 - 0.9 ** t), den, out=np.zeros_like(g), where=den > 0)
            else:
                step = g
            W[i] = W[i] - etas[i] * step
        pre, ins = _forward(W, x)
        dh.append([_rms(p - p0) for p, p0 in zip(pre[:-1], pre0[:-1])])
        df.append(_rms(pre[-1] - pre0[-1]))
    return {"h0": np.array([_rms(p) for p in pre0[:-1]]), "f0": np.array(_rms(pre0[-1])),
            "dh": np.array(dh), "df": np.array(df)}


def _rms(v: np.ndarray) -> float:
    return float(np.sqrt(np.mean(v * v)))


WIDTHS = (2 ** 6, 2 ** 7, 2 ** 8, 2 ** 9, 2 ** 10)


def slopes(optimizer: str, var: Sequence[float], lr: Sequence[float], steps: int,
           widths: Sequence[int] = WIDTHS, seeds: int = 2, seed: int = 0
           ) -> dict[str, np.ndarray]:
    """Fitted exponents (slope of ``log size`` in ``log n``) of every recorded size. The widest
    net gets ``seeds`` draws, a net ``m`` times narrower ``m·seeds`` (the same cost per width, and
    the small widths, whose sizes fluctuate most, are averaged most)."""
    top = max(widths)
    runs = [sizes(optimizer, var, lr, n, steps, seeds * top // n, seed) for n in widths]
    x = np.log(np.asarray(widths, dtype=float))
    out = {}
    for key in runs[0]:
        y = np.log(np.maximum(np.stack([r[key] for r in runs]), 1e-300))
        flat = y.reshape(len(widths), -1)
        out[key] = np.polyfit(x, flat, 1)[0].reshape(runs[0][key].shape)
    return out


def growth(s: dict[str, np.ndarray]) -> float:
    """The largest fitted exponent among the quantities stability bounds (``f^0``, ``Δh``,
    ``Δf``); ``> 0`` means something blows up with the width."""
    return float(max(s["f0"].max(), s["dh"].max(), s["df"].max()))
