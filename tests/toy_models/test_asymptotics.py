"""Each scheme's declared `asymptotics()` against the measured entry-RMS slope in log n.

Square n × n Kaiming W (entries N(0, 1/n)), fixed r: the slope of log RMS(A), log RMS(B)
over a few widths must match the declared entry exponent (tolerance 0.1: finite widths are
pre-asymptotic, and LoRAM's β carries a (ln n)^{-1/4} correction, measured −0.29 vs −1/4).
"""
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from toy_models.inits import get_init, scheme_names

# schemes that read W's values (the Gaussian and orthogonal ones read only its shape)
FROM_W = {name for name in scheme_names() if not get_init(name).shape_only}


def _slope(ns, rms):
    return float(np.polyfit(np.log(ns), np.log(rms), 1)[0])


def _measure(name, ns, r=4, seeds=(0, 1)):
    out = {"A": [], "B": []}
    for n in ns:
        acc = {"A": 0.0, "B": 0.0}
        for seed in seeds:
            g = torch.Generator().manual_seed(1000 + seed)
            W = (torch.randn(n, n, generator=g, dtype=torch.float64) / math.sqrt(n)
                 if name in FROM_W else torch.zeros(n, n, dtype=torch.float64))
            ini = get_init(name).init(W, r, generator=torch.Generator().manual_seed(seed))
            acc["A"] += float(ini.A.pow(2).mean())
            acc["B"] += float(ini.B.pow(2).mean())
        for k, total in acc.items():
            out[k].append(math.sqrt(total / len(seeds)))
    return out


@pytest.mark.parametrize("name", scheme_names())
def test_declared_exponent_matches_measured_slope(name):
    ns = [64, 128, 256, 512] if name in FROM_W else [128, 512, 2048]
    rms = _measure(name, ns)
    for factor, (exp, kind) in get_init(name).asymptotics().items():
        assert kind in ("random", "aligned", "zero")
        if exp == "-oo":
            assert kind == "zero" and max(rms[factor]) == 0.0, (name, factor)
            continue
        assert kind != "zero"
        want = float(Fraction(exp))
        got = _slope(ns, rms[factor])
        assert abs(got - want) < 0.1, (name, factor, got, want)


def test_exponents_are_exact_rational_strings():
    for name in scheme_names():
        for exp, _ in get_init(name).asymptotics().values():
            assert exp == "-oo" or str(Fraction(exp)) == exp
