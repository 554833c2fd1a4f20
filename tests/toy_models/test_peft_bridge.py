"""Registry schemes on a Hugging Face peft LoRA model (skipped without peft)."""
import pytest
import torch

peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from toy_models.inits import scheme_names
from toy_models.peft_bridge import apply_scheme, tiny_causal_lm

STARTS_AT_W = ["A", "B", "AB", "AB-practical", "ortho-qr-match", "pissa", "olora", "loram",
               "zero"]


def _model(r=4, alpha=8):
    base = tiny_causal_lm()
    cfg = peft.LoraConfig(r=r, lora_alpha=alpha, target_modules=["q_proj", "v_proj"])
    return peft.get_peft_model(base, cfg)


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.fixture(scope="module")
def ids():
    return torch.randint(0, 96, (2, 10), generator=torch.Generator().manual_seed(0))


def test_schemes_start_from_the_pretrained_function(ids):
    for name in STARTS_AT_W:
        model = _model()
        with model.disable_adapter():
            ref = _logits(model, ids)
        report = apply_scheme(model, name, seed=1)
        assert len(report) == 4 and all(v["scale"] == 2.0 for v in report.values())
        torch.testing.assert_close(_logits(model, ids), ref, rtol=1e-4, atol=1e-4)


def test_factors_land_in_the_peft_modules_and_ab_plus_moves_the_output(ids):
    model = _model()
    with model.disable_adapter():
        ref = _logits(model, ids)
    apply_scheme(model, "AB+", seed=0)
    q = model.base_model.model.model.layers[0].self_attn.q_proj
    assert q.lora_A["default"].weight.shape == (4, 32)
    assert q.lora_B["default"].weight.abs().sum() > 0  # peft's own default would zero B
    assert (_logits(model, ids) - ref).abs().max() > 1e-3  # AB+ keeps W: noise left in


def test_every_scheme_applies_and_trains_one_step(ids):
    for name in scheme_names():
        model = _model()
        apply_scheme(model, name, seed=0)
        params = [p for p in model.parameters() if p.requires_grad]
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        assert torch.isfinite(loss) and all(p.grad is not None for p in params)


def test_no_lora_layer_is_an_error():
    with pytest.raises(ValueError, match="no peft LoRA layer"):
        apply_scheme(tiny_causal_lm(), "A")


@pytest.mark.parametrize("scheme", ["AB", "pissa"])
def test_fan_in_fan_out_layers(ids, scheme):
    """GPT-2's Conv1D stores W as in × out: the bridge transposes it both ways."""
    from transformers import GPT2Config, GPT2LMHeadModel
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        base = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=4, vocab_size=96,
                                          n_positions=32, bos_token_id=0,
                                          eos_token_id=0)).eval()
    model = peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=8,
                                                      target_modules=["c_attn"],
                                                      fan_in_fan_out=True))
    with model.disable_adapter():
        ref = _logits(model, ids)
    report = apply_scheme(model, scheme)
    assert next(iter(report.values()))["out"] == 96  # W seen as out × in
    torch.testing.assert_close(_logits(model, ids), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scheme", ["AB", "pissa", "A"])
def test_save_reload_onto_original_base(tmp_path, ids, scheme):
    """A subtracting scheme leaves W − s·B₀A₀ in the base: peft's plain save + reload onto the
    original base gives other logits; `save_for_original_base` reproduces the trained model."""
    from peft import PeftModel

    from toy_models.peft_bridge import save_for_original_base
    model = _model()
    apply_scheme(model, scheme, seed=3)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):                                  # train: B, A move away from B₀, A₀
        opt.zero_grad()
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
    trained = _logits(model, ids)
    model.save_pretrained(tmp_path / "plain")
    save_for_original_base(model, tmp_path / "fixed")
    plain = _logits(PeftModel.from_pretrained(tiny_causal_lm(), tmp_path / "plain"), ids)
    fixed = PeftModel.from_pretrained(tiny_causal_lm(), tmp_path / "fixed")
    assert fixed.peft_config["default"].r == 8
    torch.testing.assert_close(_logits(fixed, ids), trained, rtol=1e-4, atol=1e-4)
    if scheme == "A":                                   # W kept: the plain save is right too
        torch.testing.assert_close(plain, trained, rtol=1e-4, atol=1e-4)
    else:
        assert (plain - trained).abs().max() > 1e-2


@pytest.mark.parametrize("scheme", ["AB", "olora"])
def test_disable_adapter_runs_the_residual_and_original_base_the_pretrained(ids, scheme):
    from toy_models.peft_bridge import original_base
    pretrained = _logits(tiny_causal_lm(), ids)
    model = _model()
    apply_scheme(model, scheme, seed=1)
    with model.disable_adapter():
        residual = _logits(model, ids)
    assert (residual - pretrained).abs().max() > 1e-3   # peft's switch: W − s·B₀A₀ alone
    with original_base(model):
        torch.testing.assert_close(_logits(model, ids), pretrained, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(_logits(model, ids), pretrained, rtol=1e-4, atol=1e-4)
