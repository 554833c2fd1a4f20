"""IniLoRA's and LoRAM's claim figures end to end on a tiny toy (n = 64, 2 replicates), and
the engine's IniLoRA fit checkpoints against the scheme's own draws."""
from __future__ import annotations

import pytest
import torch

from figures import inilora_claims, loram_claims
from figures import init_compare as ic
from figures.common import Context

TINY_TOY = ic.ToyBed("toy", 64, {"pretrain_steps": 500, "n_test": 200})
VERDICTS = {"pass", "fail", "inconclusive"}


def _check(res, name, n_claims, tmp_path):
    assert res.name == name and len(res.claims) == n_claims
    assert all(c.verdict in VERDICTS for c in res.claims), [c.verdict for c in res.claims]
    assert all(c.source.startswith(("IniLoRA", "LoRAM")) for c in res.claims)
    png = tmp_path / f"{name}.png"
    assert png.exists() and png.stat().st_size > 10_000
    assert "|" in res.details and res.rule


def test_tiny_inilora_figure(tmp_path, monkeypatch):
    tiny = inilora_claims.Config(TINY_TOY, 2, (3e-3, 3e-2), 3e-3, (1e-3, 0.5, 4.0), (2, 40),
                                 (4, 8), steps=6)
    monkeypatch.setattr(inilora_claims, "config", lambda mode: tiny)
    res = inilora_claims.run(Context("quick", (tmp_path,), tmp_path / "runs", "cpu"))
    _check(res, "inilora_claims", 10, tmp_path)


def test_tiny_loram_figure(tmp_path, monkeypatch):
    tiny = loram_claims.Config(TINY_TOY, 2, (3e-3, 3e-2), 3e-3, rank=4, steps=6)
    monkeypatch.setattr(loram_claims, "config", lambda mode: tiny)
    res = loram_claims.run(Context("quick", (tmp_path,), tmp_path / "runs", "cpu"))
    _check(res, "loram_claims", 13, tmp_path)
    k1 = next(c for c in res.claims if c.claim.startswith("tracking mode: LoRAM with PiSSA"))
    a, b = k1.note.split(": ")[1].split(" vs ")
    assert float(a) == pytest.approx(float(b), rel=1e-3)     # tracking: PiSSA's k₁ exactly


def test_fit_steps_model_draws_the_checkpoints():
    """The engine's `inilora` at init scale k is IniLoRA's checkpoint k (same generator)."""
    from toy_models.base import run_generator
    from toy_models.inits import inilora_checkpoint
    from width_sweeps.spec import from_dict
    spec = from_dict(TINY_TOY.spec(schemes=["inilora"], rank=4, steps=1,
                                   model="figures.inilora_claims:fit_steps_model"))
    model = inilora_claims.fit_steps_model(64, spec, torch.device("cpu"), torch.float32)
    params = model.init("inilora", 7.0, [3])
    W = model.inner.model.lora_weights(model.inner.frozen)["W"]
    want = inilora_checkpoint(7).init(W, 4, generator=run_generator(3))
    torch.testing.assert_close(params["W.A"][0], want.A)
    torch.testing.assert_close(params["W.B0"][0], want.B)
    plain = model.init("A", 1.0, [3])                   # other schemes: the wrapped model's
    assert torch.count_nonzero(plain["W.B"]) == 0
