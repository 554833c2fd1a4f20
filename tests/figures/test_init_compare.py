"""figures.init_compare: paired intervals against scipy's paired t-test, the verdict rules at
their boundaries, and a replicate's sweep (data order and init seed follow the replicate)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from figures import init_compare as ic


def test_paired_interval_is_the_paired_t_interval():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(0.7, 0.02, 6))
    b = pd.Series(rng.normal(0.68, 0.02, 6))
    p = ic.paired(a, b)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (p.lo, p.hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert p.mean == pytest.approx(float((a - b).mean())) and p.n == 6


def test_missing_replicates_are_not_paired():
    a = pd.Series([0.5, 0.6, 0.7], index=[0, 1, 2])
    b = pd.Series([0.4, np.nan, 0.5], index=[0, 1, 2])
    assert ic.paired(a, b).n == 2


def _p(lo, hi):
    return ic.Paired((lo + hi) / 2, lo, hi, 5)


@pytest.mark.parametrize("lo,hi,sup,ni,eq", [
    (0.002, 0.004, "pass", "pass", "pass"),            # small, significant
    (-0.004, 0.004, "inconclusive", "pass", "pass"),
    (-0.03, -0.02, "fail", "fail", "fail"),
    (-0.02, 0.005, "inconclusive", "inconclusive", "inconclusive"),
    (0.02, 0.04, "pass", "pass", "fail"),              # clearly different: not equivalent
    (0.005, 0.02, "pass", "pass", "inconclusive"),
])
def test_verdict_rules(lo, hi, sup, ni, eq):
    p = _p(lo, hi)
    assert (ic.superior(p), ic.noninferior(p), ic.equivalent(p)) == (sup, ni, eq)


def test_degenerate_intervals_never_decide():
    same = pd.Series([0.7, 0.7, 0.7])
    p = ic.paired(same + 0.1, same)                    # zero spread
    assert p.degenerate and ic.superior(p) == ic.equivalent(p) == "inconclusive"
    one = ic.paired(pd.Series([0.9]), pd.Series([0.1]))
    assert one.degenerate and ic.noninferior(one) == "inconclusive"


def test_all_of():
    assert ic.all_of(["pass", "pass"]) == "pass"
    assert ic.all_of(["pass", "inconclusive"]) == "inconclusive"
    assert ic.all_of(["inconclusive", "fail"]) == "fail"
    assert ic.all_of([]) == "inconclusive"


def test_replicates_vary_data_order_and_seed(tmp_path):
    from figures.common import Context
    toy = ic.ToyBed("theory-layer", 16)
    spec = toy.spec(schemes=["A", "loram"], eta0=[1e-2], rank=2, steps=3, batch_size=4,
                    probe_batch=2, test_eval=False)
    ctx = Context("quick", (tmp_path,), tmp_path / "runs", "cpu")
    steps, runs = ic.replicated(spec, ctx, "t", 2, lambda d: {"init_scales": [1.0]})
    assert sorted(runs.rep) == [0, 0, 1, 1] and set(runs.seed) == {0, 1}
    loss = steps[(steps.quantity == "loss") & (steps.step == 3)]
    by = loss.set_index(["scheme", "rep"]).value
    assert by["loram", 0] != by["loram", 1]    # a deterministic init: only the data differ
    assert (tmp_path / "runs" / "t" / "rep1" / "runs.parquet").exists()
