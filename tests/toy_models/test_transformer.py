"""The μP byte-level GPT: roles, init variances, rates (= gamma-solve's), the 1/d_head attention
scale, batches, pretraining cache and the peft LoRA wrapper — at tiny widths."""
from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from gamma_calc.cli import main as gamma_solve
from toy_models.transformer import (
    TransformerConfig,
    build,
    lm_batches,
    mup_exponents,
    param_groups,
    role_of,
)

TINY = TransformerConfig(width=32, base_width=16, steps=12, warmup=3, batch=2, context=16)
# Tensor Programs V (arXiv 2203.03466), Table 3, μP with Adam: width exponents of the init
# variance and of the learning rate (input weights & biases / output weights / hidden weights).
TP5_TABLE3 = {"input": ("0", "0"), "hidden": ("-1", "-1"), "output": ("-2", "-1")}


def _gamma_solve_table(capsys) -> dict[str, tuple[str, str]]:
    """Parse `gamma-solve mlp --optimizer adam`'s printed table: role → (var exp, rate exp)."""
    assert gamma_solve(["mlp", "--optimizer", "adam"]) == 0
    rows = re.findall(r"^(input|hidden|output)\s+n\^(\S+)\s+n\^(\S+)\s*$", capsys.readouterr().out,
                      re.MULTILINE)
    return {r: (v, c) for r, v, c in rows}


def test_mup_exponents_equal_gamma_solve_and_tensor_programs_v(capsys) -> None:
    table = _gamma_solve_table(capsys)
    assert set(table) == {"input", "hidden", "output"}
    ours = {r: (str(v), str(c)) for r, (v, c) in mup_exponents("adam").items()}
    assert ours == table == TP5_TABLE3


@pytest.mark.parametrize("width", [64, 256])
def test_rates_used_are_gamma_solves(capsys, width: int) -> None:
    """The AdamW groups' rates are η₀ (n/n₀)^c with c read from gamma-solve's own output."""
    table = _gamma_solve_table(capsys)
    cfg = TransformerConfig(width=width, base_width=64, base_lr=3e-3)
    model = build(cfg, init=False)
    for g in param_groups(model, cfg):
        want = 3e-3 * (width / 64) ** float(Fraction(table[g["role"]][1]))
        assert g["lr"] == pytest.approx(want, rel=1e-12)
        for p in g["params"]:
            assert any(p is q for n, q in model.named_parameters() if role_of(n, q) == g["role"])
    n_params = sum(len(g["params"]) for g in param_groups(model, cfg))
    assert n_params == len(list(model.parameters()))


def test_roles_of_gpt2_parameters() -> None:
    model = build(TINY, init=False)
    roles = {n: role_of(n, p) for n, p in model.named_parameters()}
    assert roles["lm_head.weight"] == "output"
    assert roles["transformer.wte.weight"] == roles["transformer.wpe.weight"] == "input"
    assert roles["transformer.h.0.ln_1.weight"] == roles["transformer.h.1.mlp.c_fc.bias"] == "input"
    hidden = sorted(n for n, r in roles.items() if r == "hidden")
    assert len(hidden) == 4 * TINY.layers and all(n.endswith("weight") for n in hidden)
    assert role_of("base_model.model.transformer.h.0.attn.c_attn.base_layer.weight",
                   torch.zeros(2, 2)) == "hidden"


def test_init_variances_scale_per_role() -> None:
    """Hidden entries N(0, 1/fan_in), readout N(0, n₀/n²), embeddings N(0, σ²), queries 0."""
    n, n0 = 256, 64
    model = build(TransformerConfig(width=n, base_width=n0))
    p = dict(model.named_parameters())
    var = {k: float(v.detach().double().pow(2).mean()) for k, v in p.items()}
    assert var["transformer.h.0.mlp.c_fc.weight"] == pytest.approx(1 / n, rel=0.02)
    assert var["transformer.h.0.mlp.c_proj.weight"] == pytest.approx(1 / (4 * n), rel=0.02)
    assert var["transformer.h.1.attn.c_proj.weight"] == pytest.approx(1 / n, rel=0.03)
    assert var["lm_head.weight"] == pytest.approx(n0 / n ** 2, rel=0.03)
    assert var["transformer.wte.weight"] == pytest.approx(1.0, rel=0.03)
    W = p["transformer.h.0.attn.c_attn.weight"].detach()
    assert torch.all(W[:, :n] == 0)                                      # zero query
    assert float(W[:, n:].double().pow(2).mean()) == pytest.approx(1 / n, rel=0.03)
    assert torch.all(p["transformer.h.0.ln_1.weight"] == 1)
    assert torch.all(p["transformer.h.0.attn.c_attn.bias"] == 0)


def test_attention_uses_the_mup_one_over_d_head_scale() -> None:
    """Inside a full forward, block 0's attention equals causal softmax(q·k · √d₀/d_head) v
    computed by hand from its captured input."""
    cfg = TransformerConfig(width=128, base_width=32, zero_query=False)   # d_head 32, d₀ 8
    model = build(cfg)
    attn = model.transformer.h[0].attn
    seen = {}
    h = attn.register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out[0]))
    ids = torch.randint(0, 256, (2, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(input_ids=ids)
        h.remove()
        x = seen["x"]
        q, k, v = (x @ attn.c_attn.weight + attn.c_attn.bias).split(128, -1)
        heads = [t.view(2, 7, 4, 32).transpose(1, 2) for t in (q, k, v)]
        logits = heads[0] @ heads[1].transpose(-1, -2) * (8 ** 0.5 / 32)
        logits = logits.masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), -torch.inf)
        o = (logits.softmax(-1) @ heads[2]).transpose(1, 2).reshape(2, 7, 128)
        o = o @ attn.c_proj.weight + attn.c_proj.bias
    torch.testing.assert_close(seen["out"], o, rtol=1e-5, atol=1e-5)
    assert 8 ** 0.5 / 32 != 32 ** -0.5          # the test tells 1/d_head from 1/√d_head


def test_the_model_is_causal() -> None:
    model = build(TransformerConfig(width=64, zero_query=False))
    ids = torch.randint(0, 256, (1, 10), generator=torch.Generator().manual_seed(0))
    other = ids.clone()
    other[0, 6:] = (other[0, 6:] + 1) % 256
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, model(input_ids=other).logits
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_lm_batches_are_contiguous_windows_and_deterministic() -> None:
    data = np.arange(1000, dtype=np.int64) % 251
    b = lm_batches(data.astype(np.uint8), 3, 16, seed=1, steps=5)
    assert b.shape == (5, 3, 17) and b.dtype == torch.int64
    diffs = (b[..., 1:] - b[..., :-1]) % 251
    assert torch.all(diffs == 1)                 # consecutive bytes of the text
    assert torch.equal(b, lm_batches(data.astype(np.uint8), 3, 16, seed=1, steps=5))
    assert not torch.equal(b, lm_batches(data.astype(np.uint8), 3, 16, seed=2, steps=5))
    with pytest.raises(ValueError, match="shorter"):
        lm_batches(data[:10].astype(np.uint8), 1, 16, seed=0, steps=1)


@pytest.fixture
def corpus(tmp_path: Path):
    from toy_models.data.text import load_text
    root = tmp_path / "lib"
    root.mkdir()
    rng = np.random.default_rng(0)
    words = [b"def ", b"return ", b"self", b"(x)", b":\n    ", b" = ", b"import os\n"]
    for i in range(20):
        (root / f"m{i:02d}.py").write_bytes(b"".join(words[j] for j in rng.integers(0, 7, 400)))
    return load_text("python-source", root)


def test_pretraining_learns_and_is_cached(tmp_path: Path, corpus) -> None:
    from toy_models.transformer_pretrain import load_or_pretrain
    m1, info = load_or_pretrain(TINY, corpus=corpus, root=tmp_path / "ck")
    assert not info["cached"] and info["val_loss"] < info["init_val_loss"] - 1.0
    assert info["rates"]["hidden"] == pytest.approx(TINY.base_lr / 2)   # n/n₀ = 2, c = −1
    m2, info2 = load_or_pretrain(TINY, corpus=corpus, root=tmp_path / "ck")
    assert info2["cached"] and info2["path"] == info["path"]
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert m2.transformer.h[0].attn.scaling == pytest.approx(2 / 8)     # √d₀ / d_head
    other = replace(TINY, base_lr=TINY.base_lr / 2)
    from toy_models.transformer_pretrain import checkpoint_path
    assert checkpoint_path(other, corpus.fingerprint) != checkpoint_path(TINY, corpus.fingerprint)
    assert checkpoint_path(TINY, "0" * 16) != checkpoint_path(TINY, corpus.fingerprint)


def test_lora_model_wraps_every_projection(tmp_path: Path, monkeypatch, corpus) -> None:
    pytest.importorskip("peft")
    from peft.tuners.lora import LoraLayer

    import toy_models.transformer_pretrain as tp
    from toy_models.transformer import lora_model
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path / "ck"))
    monkeypatch.setattr("toy_models.data.text.load_text", lambda name: corpus)
    model = lora_model(32, cfg=TINY, r=4, alpha=8)
    base, _ = tp.load_or_pretrain(TINY, corpus=corpus)          # the cached one
    layers = {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    kinds = sorted({n.split(".", 5)[-1] for n in layers})
    assert len(layers) == 4 * TINY.layers
    assert kinds == ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
    assert all(m.fan_in_fan_out and m.scaling["default"] == 2.0 for m in layers.values())
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    ids = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():                     # peft's default init: B = 0, the base function
        torch.testing.assert_close(model(input_ids=ids).logits, base(input_ids=ids).logits)


def test_finetune_batch_is_hf_style_windows_of_the_docs_corpus(corpus) -> None:
    from toy_models.transformer import finetune_batch
    root = corpus.root                         # has no pydoc_data: a one-line DataError
    from toy_models.data import DataError
    with pytest.raises(DataError, match="topics.py"):
        finetune_batch(0, root=root)
    x, y = finetune_batch(0, batch=3, context=20)
    assert y is None and set(x) == {"input_ids", "labels"} and x["input_ids"] is x["labels"]
    assert x["input_ids"].shape == (3, 20) and x["input_ids"].dtype == torch.int64
    from toy_models.data.text import load_text
    text = load_text("python-docs").train.tobytes()
    assert all(bytes(row.tolist()) in text for row in x["input_ids"])     # real windows
    assert torch.equal(finetune_batch(0, batch=3, context=20)[0]["input_ids"], x["input_ids"])
    assert not torch.equal(finetune_batch(1, batch=3, context=20)[0]["input_ids"],
                           x["input_ids"])
