"""The μP toy's figures end to end on tiny configurations (pretraining into a temporary cache):
mup_pretraining (premise + rate transfer) and toy_mup_checks (coordinate check, Theorem 1,
largest stable rate beside the theory layer)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from figures import coord_check, maxlr, mup_pretraining, theorem1, toy_mup_checks
from figures.common import Context
from tests.toy_models.fixtures import image_fixture

VERDICTS = {"pass", "fail", "inconclusive"}
TINY_TOY = (("pretrain_steps", 20), ("base_width", 32))


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch) -> Context:
    """A temporary checkpoint cache and small image sets in the loaders' format in place of
    MNIST / Fashion-MNIST (the figures' code paths are the same; loading is not)."""
    from toy_models import toy
    sets = {("mnist", "train"): image_fixture(1000, 1), ("mnist", "test"): image_fixture(400, 2),
            ("fashion-mnist", "train"): image_fixture(600, 3, proto_seed=7),
            ("fashion-mnist", "test"): image_fixture(300, 4, proto_seed=7)}
    monkeypatch.setattr(toy, "load_data", lambda name, split: sets[(name, split)])
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path / "ck"))
    return Context("quick", (tmp_path / "out",), tmp_path / "runs", "cpu")


def test_mup_pretraining_tiny(ctx: Context, monkeypatch) -> None:
    tiny = mup_pretraining.Config((16, 32, 64), (16, 32, 64), (16, 32, 64), 20, steps=20,
                                  base_lr=2.0 ** -8, base_width=32, n_boot=200, n_probe=300,
                                  seeds=3)
    monkeypatch.setattr(mup_pretraining, "config", lambda mode: tiny)
    res = mup_pretraining.run(ctx)
    assert [c.verdict in VERDICTS for c in res.claims] == [True] * 4
    assert "Tensor Programs V (μTransfer)" in {c.source for c in res.claims}
    assert [c.model for c in res.claims] == ["toy-mup", "toy", "toy-mup", "toy"]
    assert len({c.id for c in res.claims}) == 4
    png = res.images[0]
    assert png.name == "mup_pretraining.png" and 10_000 < png.stat().st_size < 500_000
    assert "| μP | 32 |" in res.details            # the base width is in the tables
    # at the base width SP and μP are the same network: one pretraining serves both
    at_base = [json.loads(p.read_text())["key"]
               for p in (Path(ctx.runs_dir).parent / "ck").glob("toy-n32-*.json")]
    assert at_base and all(k["parametrization"] == "mup" for k in at_base)
    # SP's curve at n₀ is listed all the same: ≥ 5 bracketed rates, 2 more seeds at 3 of them
    assert res.details.count("| SP | 32 |") >= 5 + 6


def _tiny_theory(monkeypatch) -> None:
    th = coord_check.Config("theory-layer", (64, 128, 256), 3, 3, 1.0, 4, 1, 1, "float64",
                            0.05, coord_check.CONFIGS[:2])
    monkeypatch.setattr(coord_check, "configs", lambda mode: [th])
    monkeypatch.setattr(theorem1, "config", lambda mode: theorem1.Config((64, 128, 256), 3,
                                                                         steps=3))
    monkeypatch.setattr(maxlr, "config", lambda mode: maxlr.Config(
        (64, 128, 256), 2, steps=3, eta_from=2.0 ** -7, per_octave=1))


def test_toy_mup_checks_tiny(ctx: Context, monkeypatch) -> None:
    _tiny_theory(monkeypatch)
    tiny = toy_mup_checks.Config((16, 32, 64), 3, steps=3, maxlr_steps=3,
                                 eta_from=2.0 ** -7, per_octave=1, model_options=TINY_TOY)
    monkeypatch.setattr(toy_mup_checks, "config", lambda mode: tiny)
    res = toy_mup_checks.run(ctx)
    # premise, 2 coordinate-check rows, δ² inheritance, 7 Theorem-1 rows, 2 max-rate rows
    assert len(res.claims) == 13
    assert all(c.verdict in VERDICTS for c in res.claims), [c.verdict for c in res.claims]
    assert all(c.model == "toy-mup" for c in res.claims) and len({c.id for c in res.claims}) == 13
    assert all("theory layer" in c.note for c in res.claims[1:3] + res.claims[4:])
    assert {p.name for p in res.images} == {"toy_mup_coord.png", "toy_mup_theorem1_maxlr.png"}
    runs = Path(ctx.runs_dir)
    assert (runs / "checks-toy-mup" / "steps.parquet").exists()
    spec = (runs / "checks-toy-mup" / "spec.json").read_text()
    assert '"toy-mup"' in spec and '"pretrain_steps": 20' in spec


def test_inheritance_divides_by_the_previous_step() -> None:
    """δ²_t = n^(−1/2)·Z_A(t−1)·noise with Z_A a finite-width mix of n^0 and n^(1/2): the ratio's
    fitted exponent is −1/2 although neither δ² nor Z_A has a clean power law."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(0)
    keys = {"model": "toy-mup", "scheme": "A", "init_scale": 1.0, "optimizer": "adam",
            "lr_exponent": "-1/2", "lr_exponent_b": "-1/2", "eta0": 0.25, "eps": "0"}
    rows, runs, rid = [], [], 0
    for n in (128, 256, 512, 1024):
        for seed in range(4):
            za = [1.0 + 0.2 * t * np.sqrt(n) / 8 * (1 + 0.05 * rng.standard_normal())
                  for t in range(4)]
            for t in range(4):
                rows.append({**keys, "run_id": rid, "width": n, "seed": seed, "step": t,
                             "quantity": "Z_A", "value": za[t]})
                if t:
                    d2 = n ** -0.5 * za[t - 1] * np.exp(0.03 * rng.standard_normal())
                    rows.append({**keys, "run_id": rid, "width": n, "seed": seed, "step": t,
                                 "quantity": "delta2", "value": d2})
            runs.append({**keys, "run_id": rid, "width": n, "seed": seed, "status": "ok"})
            rid += 1
    cfg = toy_mup_checks.Config((128, 256, 512, 1024), 4)
    inh = toy_mup_checks.inheritance(pd.DataFrame(rows), pd.DataFrame(runs), cfg)
    r = inh[inh.step == 3].iloc[0]
    assert r.fitted == pytest.approx(-0.5, abs=0.03) and r.ci_low < -0.5 < r.ci_high
    claim = toy_mup_checks.inheritance_claim(inh, cfg)
    assert claim.verdict == "pass" and claim.model == "toy-mup"
