"""`coord_check` on user models: toy_models LoRA layers and peft adapters, CPU."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from toy_models.lora import LoRALinear
from width_sweeps.coord_check import COLUMNS, CoordCheckError, coord_check
from width_sweeps.coord_train import make_runs, train_width

QS = {"Z_A", "dZ_A", "Z_B", "delta1", "delta2", "delta3", "A", "B", "z"}


def toy_mlp(n, d_in=12, classes=3, first_scale=None):
    """16 → n → (LoRA n × n) → 3 with a frozen base seeded independently of n's runs."""
    g = torch.Generator().manual_seed(n)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(n)
        first, head = nn.Linear(d_in, n), nn.Linear(n, classes)
    with torch.no_grad():
        first.weight.copy_(torch.randn(n, d_in, generator=g) / math.sqrt(d_in))
        first.bias.zero_()
        if first_scale is not None:
            first.weight.mul_(first_scale(n))
    W = torch.randn(n, n, generator=g) / math.sqrt(n)
    return nn.Sequential(first, nn.ReLU(), LoRALinear(W, torch.zeros(4, n), torch.zeros(n, 4), 1.0),
                         nn.ReLU(), head)


def data(b=8, d_in=12, classes=3):
    g = torch.Generator().manual_seed(7)
    return torch.randn(b, d_in, generator=g), torch.randint(0, classes, (b,), generator=g)


def test_toy_model_end_to_end():
    before = matplotlib.get_backend()
    cc = coord_check(toy_mlp, data(), widths=[16, 32, 64, 128], seeds=3, steps=2,
                     schemes=("A", "AB"))
    assert list(cc.table.columns) == COLUMNS
    mods = set(cc.table.module)
    assert mods == {"2", "(model)"}
    assert set(cc.table[cc.table.module == "2"].quantity) == QS
    assert len(cc.table) == 4 * 3 * 2 * 3 * (len(QS) + 1) - 4 * 2 * 3 * 3  # δ's undefined at t=0
    f = cc.fits
    for col in ("module", "quantity", "step", "scheme", "lr_exponent", "predicted", "fitted",
                "ci_low", "ci_high", "verdict", "premise"):
        assert col in f.columns
    g = cc.geometry.set_index("module").loc["2"]
    assert (g.in_dim, g.out_dim, g.r) == ("width", "width", 4)
    row = f[(f.module == "2") & (f.quantity == "A") & (f.step == 0) & (f.scheme == "A")].iloc[0]
    assert row.predicted == "-1/2" and row.verdict == "pass"
    assert set(cc.premise.premise) == {"holds"}
    fig = cc.plot()
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 4
    assert matplotlib.get_backend() == before


def _peft_mlp(n, targets=("fc1", "fc2")):
    peft = pytest.importorskip("peft")

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.head = nn.Linear(12, n), nn.Linear(n, n), nn.Linear(n, 3)

        def forward(self, x):
            return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(n)
        base = MLP()
    return peft.get_peft_model(base, peft.LoraConfig(r=2, lora_alpha=4,
                                                     target_modules=list(targets)))


def test_peft_model_every_adapter_probed_and_geometry_read():
    cc = coord_check(_peft_mlp, data(), widths=[32, 64, 128], seeds=2, steps=2)
    geo = cc.geometry.set_index("module")
    assert set(geo.index) == {"base_model.model.fc1", "base_model.model.fc2"}
    assert geo.loc["base_model.model.fc1", "in_dim"] == "fixed"
    assert geo.loc["base_model.model.fc2", "in_dim"] == "width"
    assert geo.loc["base_model.model.fc2", "scale"] == 2.0
    f = cc.fits
    fc1 = f[f.module == "base_model.model.fc1"]
    assert fc1.predicted.isna().all() and set(fc1.verdict) == {"n/a"}
    assert any("fc1" in n and "input dimension fixed" in n for n in cc.notes)
    assert f[f.module == "base_model.model.fc2"].predicted.notna().any()


@pytest.mark.parametrize("model_fn", [toy_mlp, _peft_mlp], ids=["toy", "peft"])
@pytest.mark.parametrize("subtract", [True, False], ids=["W-rewriting", "W-kept"])
def test_batched_equals_per_run_float64(model_fn, subtract):
    """W-kept schemes run the batched adapter as one op with its own vmap rule
    (width_sweeps.lowrank; peft's fc1 has a shared input, fc2 a per-run one); a W-rewriting
    scheme among the runs takes the generic path."""
    if subtract:
        runs = (make_runs(64, [("A", "A"), ("AB", "AB")], ["-1/2", "-1,0"], [0, 1], 1.0, 1)
                + make_runs(64, [("pissa", "pissa")], ["0"], [3], 0.01, 1))
    else:
        runs = make_runs(64, [("A", "A"), ("gaussian", "gaussian")], ["-1/2", "-1,0"], [0, 1],
                         1.0, 1)
    kw = {"steps": 3, "optimizer": "adam", "loss_fn": None, "device": torch.device("cpu"),
          "dtype": torch.float64}
    a = train_width(model_fn(64), runs, data(), batched=True, **kw)
    b = train_width(model_fn(64), runs, data(), batched=False, **kw)
    assert a.batched and not b.batched and a.values.keys() == b.values.keys()
    for k in a.values:
        np.testing.assert_allclose(a.values[k], b.values[k], rtol=1e-10, atol=1e-14,
                                   err_msg=str(k))


def test_callable_data_matches_fixed_data():
    """data(0) is the probe batch and data(t) the batch of step t: the same batch every time
    gives the fixed-pair numbers."""
    runs = make_runs(32, [("A", "A")], ["-1/2"], [0, 1], 1.0, 1)
    kw = {"steps": 2, "optimizer": "sgd", "loss_fn": None, "device": torch.device("cpu"),
          "dtype": torch.float64}
    a = train_width(toy_mlp(32), runs, data(), **kw)
    b = train_width(toy_mlp(32), runs, lambda t: data(), **kw)
    for k in a.values:
        np.testing.assert_allclose(a.values[k], b.values[k], rtol=1e-12, err_msg=str(k))


def test_premise_flag_when_the_lora_input_shrinks_with_width():
    shrink = lambda n: toy_mlp(n, first_scale=lambda m: m ** -0.5)
    cc = coord_check(shrink, data(), widths=[32, 64, 128, 256], seeds=2, steps=2)
    p = cc.premise.iloc[0]
    assert p.premise == "fails" and p.fitted == pytest.approx(-0.5, abs=0.1)
    judged = cc.fits[(cc.fits.module == "2") & (cc.fits.quantity != "z")
                     & cc.fits.predicted.notna()]
    assert len(judged) and set(judged.verdict) == {"premise fails"}


@pytest.mark.parametrize("kw, field", [
    ({"schemes": ("nope",)}, "schemes"), ({"widths": [32, 32]}, "widths"),
    ({"widths": [32]}, "widths"),
    ({"lr_exponents": ("a/b",)}, "lr_exponents"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"steps": 0}, "steps")])
def test_bad_arguments_one_line(kw, field):
    args = {"widths": [32, 64]} | kw
    with pytest.raises(CoordCheckError, match=field) as exc:
        coord_check(toy_mlp, data(), **args)
    assert "\n" not in str(exc.value)


def test_model_without_adapters_is_a_clear_error():
    from width_sweeps.adapters_torch import AdapterError
    with pytest.raises(AdapterError, match="no LoRA adapter"):
        coord_check(lambda n: nn.Linear(12, 3), data(), widths=[8, 16])


def _rms(x):
    return float(x.pow(2).mean().sqrt())


def _reference(n, seed, lr_a, lr_b, steps, x, y):
    """Plain per-run loop: peft's own forward, torch.optim.Adam, probes from forward hooks."""
    from toy_models.base import run_generator
    from toy_models.inits import get_init
    model = _peft_mlp(n).double().eval()
    mods = {k: m for k, m in model.named_modules() if k.endswith(("fc1", "fc2"))}
    g = run_generator(seed)
    for m in mods.values():
        ini = get_init("A").init(m.base_layer.weight.detach(), 2, generator=g)
        with torch.no_grad():
            m.lora_A["default"].weight.copy_(ini.A)
            m.lora_B["default"].weight.copy_(ini.B)
    A = {k: m.lora_A["default"].weight for k, m in mods.items()}
    B = {k: m.lora_B["default"].weight for k, m in mods.items()}
    opt = torch.optim.Adam([{"params": list(A.values()), "lr": lr_a},
                            {"params": list(B.values()), "lr": lr_b}])
    A0 = {k: a.detach().clone() for k, a in A.items()}
    z = {}
    for k, m in mods.items():
        m.register_forward_hook(lambda mod, inp, out, k=k: z.__setitem__(k, inp[0].detach()))
    out = {}

    def state(t, loss):
        out[(t, "(model)", "loss")] = float(loss.detach())
        for k in mods:
            s = mods[k].scaling["default"]
            ZA = z[k] @ A[k].detach().T
            out[(t, f"base_model.model.{k.split('.')[-1]}", "Z_A")] = _rms(ZA)
            out[(t, f"base_model.model.{k.split('.')[-1]}", "dZ_A")] = _rms(
                z[k] @ (A[k].detach() - A0[k]).T)
            out[(t, f"base_model.model.{k.split('.')[-1]}", "Z_B")] = _rms(s * ZA @ B[k].detach().T)

    for t in range(1, steps + 1):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        state(t - 1, loss)
        zp = dict(z)
        prev = {k: (A[k].detach().clone(), B[k].detach().clone()) for k in mods}
        opt.zero_grad()
        loss.backward()
        opt.step()
        for k in mods:
            s = mods[k].scaling["default"]
            Ap, Bp = prev[k]
            dA, dB = A[k].detach() - Ap, B[k].detach() - Bp
            name = f"base_model.model.{k.split('.')[-1]}"
            out[(t, name, "delta1")] = _rms(s * (zp[k] @ dA.T) @ Bp.T)
            out[(t, name, "delta2")] = _rms(s * (zp[k] @ Ap.T) @ dB.T)
            out[(t, name, "delta3")] = _rms(s * (zp[k] @ dA.T) @ dB.T)
    with torch.no_grad():
        state(steps, torch.nn.functional.cross_entropy(model(x), y))
    return out


def test_matches_torch_adam_on_peft_forward():
    """One run against an independent loop (peft's forward, torch.optim.Adam, hook probes)."""
    x, y = data()
    x = x.double()
    n, steps = 48, 3
    runs = make_runs(n, [("A", "A")], ["-1,0"], [5], 0.5, 8)
    res = train_width(_peft_mlp(n), runs, (x, y), steps=steps, optimizer="adam", loss_fn=None,
                      device=torch.device("cpu"), dtype=torch.float64)
    ref = _reference(n, 5, runs[0].lr_a, runs[0].lr_b, steps, x, y)
    assert runs[0].lr_a == pytest.approx(0.5 / 6) and runs[0].lr_b == pytest.approx(0.5)
    for k, v in ref.items():
        assert res.values[k][0] == pytest.approx(v, rel=1e-9, abs=1e-13), k
    assert res.values[(steps, "base_model.model.fc2", "delta2")][0] > 0



def test_fit_rows_equal_fit_table():
    """coord_check's one-sort split gives `fit.fit_table`'s rows exactly (same rules, order and
    bootstrap draws): noisy power laws, exact zeros, a non-finite value, undefined rows."""
    import pandas as pd

    from width_sweeps.coord_fit import fit_frame, fit_rows
    from width_sweeps.fit import FitOptions, fit_table
    rng = np.random.default_rng(0)
    rows = []
    for n in (64, 128, 256, 512):
        for s in range(4):
            for t in (0, 1):
                for m in ("a", "b"):
                    z = n ** -0.5 * math.exp(rng.normal(0, 0.1))
                    rows += [(n, s, t, m, "Z_A", z), (n, s, t, m, "Z_B", 0.0),
                             (n, s, t, m, "delta1", math.nan if t == 0 else z),
                             (n, s, t, m, "delta2", math.inf if (n, s) == (128, 1) else z),
                             (n, s, t, m, "delta3", z if n == 64 else -z)]   # one width
    table = pd.DataFrame(rows, columns=["width", "seed", "step", "module", "quantity", "value"])
    table["scheme"], table["lr_exponent"] = "A", "-1/2"
    mine = fit_rows(table, "adam", FitOptions()).rename(columns={"module": "model"})
    ref = fit_table(fit_frame(table, "adam"), None, FitOptions())
    assert len(mine) == len(ref) == 2 * (2 * 4 + 1)
    one = mine[mine.quantity == "delta3"]
    assert (one.n_widths == 1).all() and one.fitted.isna().all()
    assert one.note.str.contains("fewer than 2 widths").all()
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), ref.reset_index(drop=True),
                                  check_dtype=False)


def test_largest_width_built_first_table_ascending():
    calls = []

    def model_fn(n):
        calls.append(n)
        return toy_mlp(n)

    cc = coord_check(model_fn, data(), widths=[32, 16, 64], seeds=2, steps=1)
    assert calls == [64, 32, 16]
    assert cc.table.width.is_monotonic_increasing
    assert list(cc.table.width.unique()) == [16, 32, 64]


def test_series_left_with_one_width_is_inconclusive_not_an_error():
    """A series whose values are positive at one width only has no slope: its row is kept,
    says so and is judged inconclusive (the other series are fitted as usual)."""
    import pandas as pd

    from width_sweeps.coord_fit import fit_check
    from width_sweeps.fit import FitOptions
    rows = [(n, s, "Z_A", (1 + 0.01 * s) * math.exp(0.01 * math.sin(n + s)))   # Θ(1): pass
            for n in (64, 128, 256, 512) for s in range(3)]
    rows += [(n, s, "A", n ** -0.5 * (1 if n == 64 else -1)) for n, s, *_ in rows]
    table = pd.DataFrame(rows, columns=["width", "seed", "quantity", "value"])
    table["step"], table["module"], table["scheme"], table["lr_exponent"] = 0, "m", "A", "-1/2"
    geo = pd.DataFrame([{"module": "m", "in_dim": "width", "out_dim": "width"}])
    fits, _ = fit_check(table, geo, {"A": "A"}, "adam", 1, FitOptions())
    one = fits.set_index("quantity").loc["A"]
    assert one.n_widths == 1 and math.isnan(one.fitted) and one.verdict == "inconclusive"
    assert "fewer than 2 widths" in one.note
    assert fits.set_index("quantity").loc["Z_A"].verdict == "pass"


def test_rms_lowrank_matches_the_dense_product():
    from width_sweeps.coord_train import rms_lowrank
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3, 7, 4, generator=g, dtype=torch.float64)
    B = torch.randn(3, 50, 4, generator=g, dtype=torch.float64)
    dense = (-0.5 * X @ B.transpose(1, 2)).pow(2).mean((1, 2)).sqrt()
    torch.testing.assert_close(rms_lowrank(X, B, -0.5), dense)


def test_peft_gpt2_conv1d_and_embedding_adapters():
    """A peft GPT-2 (Conv1D adapters with fan_in_fan_out, a LoRA embedding) with Hugging Face
    dict inputs and the model's own loss: batched under vmap, every adapter probed, the
    embedding measured without a prediction (its input, the vocabulary, does not grow)."""
    peft = pytest.importorskip("peft")
    from transformers import GPT2Config, GPT2LMHeadModel

    def gpt(n):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            base = GPT2LMHeadModel(GPT2Config(n_embd=n, n_layer=1, n_head=4, vocab_size=64,
                                              n_positions=16, bos_token_id=0, eos_token_id=0))
        return peft.get_peft_model(base, peft.LoraConfig(
            r=4, lora_alpha=4, target_modules=["c_attn", "wte"], fan_in_fan_out=True))

    ids = torch.randint(0, 64, (2, 8), generator=torch.Generator().manual_seed(0))
    cc = coord_check(gpt, ({"input_ids": ids, "labels": ids}, None), widths=[32, 64], seeds=2,
                     steps=1, dtype=torch.float64)
    assert cc.batched
    geo = cc.geometry.set_index("module")
    attn, wte = "base_model.model.transformer.h.0.attn.c_attn", "base_model.model.transformer.wte"
    assert geo.loc[attn, "out"] == [96, 192] and geo.loc[attn, "in_dim"] == "width"
    assert geo.loc[wte, "kind"] == "embedding" and geo.loc[wte, "in_dim"] == "fixed"
    t = cc.table
    assert set(t.module) == {attn, wte, "(model)"}
    assert np.isfinite(t[t.module == attn].value.dropna()).all()
    assert cc.fits[cc.fits.module == wte].predicted.isna().all()
