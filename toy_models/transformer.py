"""A small GPT-2-style byte-level language model in μP, and its LoRA fine-tuning wrapper
(docs/theory.md §7.3, §8.6).

Architecture: Hugging Face ``GPT2LMHeadModel`` built from a local ``GPT2Config`` (nothing is
downloaded): ``layers`` = 2 pre-LayerNorm blocks, width n = ``d_model`` (64 … 1024+), MLP 4n,
GELU, context 64, byte vocabulary 256, no dropout, untied input embedding and readout (μP
treats them as different roles).

Heads: the number of heads is **fixed** (4) and the head size d_head = n/4 grows with width.
That is the setting of Tensor Programs V's own Transformer experiments (Yang et al., "Tensor
Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer", 2022,
arXiv 2203.03466, §7 and its `mup` examples): every head's q·k is then a width-n inner product,
which is exactly where μP's 1/d_head attention scale (instead of 1/√d_head) is needed — with a
fixed head size the two differ by a width-independent constant and the rule would go untested.

μP (Adam), per role, from gamma_calc's ``solve_mlp("adam")`` (``gamma-solve mlp --optimizer
adam``), relative to the base width n₀ = ``base_width`` (= 64, where μP equals the standard
1/fan_in init and one global rate, as in the ``mup`` package's base shapes):

==========  =====================================================  =================  ========
role        parameters                                             init variance      Adam rate
==========  =====================================================  =================  ========
input       wte, wpe, every bias, LayerNorm gains and biases       σ_in² (n/n₀)^0     η₀ (n/n₀)^0
hidden      c_attn, attn.c_proj, c_fc, mlp.c_proj (Conv1D)         1/fan_in ∝ n^−1    η₀ (n/n₀)^−1
output      lm_head                                                n₀/n² ∝ n^−2       η₀ (n/n₀)^−1
==========  =====================================================  =================  ========

"Input" is Tensor Programs V's "input weights & all biases" (Table 3): vector-like parameters
with one width dimension; biases start at 0, LayerNorm gains at 1.  Attention logits are
q·k · √d_head(n₀)/d_head (the 1/d_head rule, equal to 1/√d_head at n₀), and the query third of
``c_attn`` starts at zero (Tensor Programs V's recommendation: logits are exactly 0 at init at
every width).  Pretraining and its cache: ``toy_models.transformer_pretrain``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "ROLES",
    "TARGETS",
    "TransformerConfig",
    "build",
    "finetune_batch",
    "lm_batches",
    "lora_model",
    "mup_exponents",
    "param_groups",
    "role_of",
    "set_attention_scale",
]

ROLES = ("input", "hidden", "output")
HIDDEN = ("c_attn.weight", "c_proj.weight", "c_fc.weight")
TARGETS = ("c_attn", "c_proj", "c_fc")     # the LoRA target modules (GPT-2 Conv1D)


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture, μP base and pretraining schedule (all of it keys the checkpoint)."""

    width: int = 256
    layers: int = 2
    heads: int = 4               # fixed; d_head = width / heads grows
    context: int = 64
    vocab: int = 256             # bytes
    base_width: int = 64         # n₀: μP = standard 1/fan_in init at this width
    base_lr: float = 1e-2        # η₀: the Adam rate of every role at n₀ (scan: docs/toy_models.md)
    embed_std: float = 1.0       # σ_in of wte and wpe
    zero_query: bool = True
    steps: int = 300
    batch: int = 8               # sequences of `context` bytes per step
    warmup: int = 30             # linear warmup, then cosine to 10 % of the rate
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    seed: int = 0
    corpus: str = "python-source"

    def __post_init__(self) -> None:
        if self.width % self.heads or self.base_width % self.heads:
            raise ValueError(f"width {self.width} and base_width {self.base_width} must be "
                             f"multiples of heads = {self.heads}")

    @property
    def d_head(self) -> int:
        return self.width // self.heads

    @property
    def ratio(self) -> float:
        """n / n₀."""
        return self.width / self.base_width


@functools.lru_cache(maxsize=4)
def mup_exponents(optimizer: str = "adam") -> dict[str, tuple[Fraction, Fraction]]:
    """(init-variance exponent v, rate exponent c) per role, derived by gamma_calc's MLP solver
    (the maximal-update point with the largest variances; docs/theory.md §7)."""
    from gamma_calc.mlp import solve_mlp
    mup = solve_mlp(optimizer, hidden_layers=2).mup
    return {role: (Fraction(mup[role]["init_var_exponent"]), Fraction(mup[role]["lr_exponent"]))
            for role in ROLES}


def role_of(name: str, param: Tensor) -> str:
    """μP role of a ``GPT2LMHeadModel`` parameter (peft's ``base_layer.`` prefix ignored)."""
    name = name.replace(".base_layer.", ".")
    if name.startswith("lm_head.") or ".lm_head." in name:
        return "output"
    if param.ndim == 2 and name.endswith(HIDDEN):
        return "hidden"
    return "input"


def _config(cfg: TransformerConfig):
    from transformers import GPT2Config
    c = GPT2Config(vocab_size=cfg.vocab, n_positions=cfg.context, n_embd=cfg.width,
                   n_layer=cfg.layers, n_head=cfg.heads, n_inner=4 * cfg.width,
                   resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                   tie_word_embeddings=False, bos_token_id=None, eos_token_id=None)
    c.loss_type = "ForCausalLM"
    c._attn_implementation = "eager"   # plain matmuls: torch.func.vmap batches them
    return c


def set_attention_scale(model: nn.Module, cfg: TransformerConfig) -> None:
    """Logit scale √d_head(n₀)/d_head on every block (μP's 1/d_head; 1/√d_head at n₀)."""
    scale = (cfg.base_width // cfg.heads) ** 0.5 / cfg.d_head
    for m in model.modules():
        if hasattr(m, "scaling") and hasattr(m, "c_attn"):
            m.scaling = scale


def build(cfg: TransformerConfig, *, init: bool = True) -> nn.Module:
    """The model in μP (init drawn from the "pretrain" stream of ``cfg.seed``); ``init=False``
    skips the draw (a checkpoint is loaded next)."""
    from transformers import GPT2LMHeadModel
    with torch.random.fork_rng(devices=[]):   # HF's own init draws from the global RNG
        torch.manual_seed(cfg.seed)
        model = GPT2LMHeadModel(_config(cfg))
    set_attention_scale(model, cfg)
    if init:
        _mup_init(model, cfg)
    return model.eval()


@torch.no_grad()
def _mup_init(model: nn.Module, cfg: TransformerConfig) -> None:
    from .base import seeded
    g = seeded("pretrain", cfg.seed)
    exps = mup_exponents("adam")
    for name, p in model.named_parameters():
        role = role_of(name, p)
        v = float(exps[role][0])
        if role == "hidden":       # Conv1D weight: (in, out); 1/fan_in at n₀, × (n/n₀)^v
            var = cfg.ratio / p.shape[0] * cfg.ratio ** v
        elif role == "output":     # (vocab, n): 1/n₀ at n₀
            var = cfg.ratio ** v / cfg.base_width
        elif p.ndim == 2:          # embeddings
            var = cfg.embed_std ** 2 * cfg.ratio ** v
        else:                      # biases, LayerNorm
            p.fill_(1.0 if ".ln_" in name and name.endswith("weight") else 0.0)
            continue
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * var ** 0.5)
        if cfg.zero_query and name.endswith("c_attn.weight"):
            p[:, : cfg.width] = 0.0


def param_groups(model: nn.Module, cfg: TransformerConfig) -> list[dict]:
    """AdamW parameter groups, one per role, rate η₀ (n/n₀)^c (c from ``mup_exponents``);
    frozen parameters are left out."""
    exps = mup_exponents("adam")
    groups: dict[str, list[Tensor]] = {r: [] for r in ROLES}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups[role_of(name, p)].append(p)
    return [{"params": ps, "lr": cfg.base_lr * cfg.ratio ** float(exps[r][1]), "role": r}
            for r, ps in groups.items() if ps]


def lm_batches(data: np.ndarray, batch: int, context: int, seed: int,
               steps: int) -> Tensor:
    """(steps, batch, context + 1) int64 windows at uniformly random starts (generator: the
    "batches" stream of ``seed``); inputs are ``w[..., :-1]``, targets ``w[..., 1:]``."""
    from .base import seeded
    if len(data) <= context + 1:
        raise ValueError(f"text of {len(data)} bytes is shorter than a window ({context + 1})")
    starts = torch.randint(0, len(data) - context - 1, (steps, batch),
                           generator=seeded("batches", seed))
    offs = torch.arange(context + 1)
    return torch.as_tensor(data)[starts[..., None] + offs].long()


def lora_model(width: int, *, cfg: TransformerConfig | None = None, r: int = 8,
               alpha: int = 8, targets: tuple[str, ...] = TARGETS, pretrained: bool = True,
               device: str = "cpu") -> nn.Module:
    """The pretrained model at ``width`` (cached; pretrained on a miss) wrapped with peft LoRA
    on ``targets`` (GPT-2's Conv1D, ``fan_in_fan_out``), scale s = α/r; peft's default init —
    a coordinate check re-initialises the factors with its scheme.  Only A, B are trainable.
    ``pretrained=False``: the model at its μP init instead (a control, nothing trained)."""
    from dataclasses import replace

    from peft import LoraConfig, get_peft_model

    from .transformer_pretrain import load_or_pretrain
    cfg = replace(cfg or TransformerConfig(), width=width)
    base = load_or_pretrain(cfg, device=device)[0] if pretrained else build(cfg).to(device)
    lcfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0,
                      fan_in_fan_out=True, bias="none")
    return get_peft_model(base, lcfg)


def finetune_batch(step: int = 0, *, batch: int = 8, context: int = 64, seed: int = 0,
                   corpus: str = "python-docs", root: str | None = None
                   ) -> tuple[dict[str, Tensor], None]:
    """Batch ``step`` (0: the probe batch) of fine-tuning windows, Hugging Face style:
    ``({"input_ids": x, "labels": x}, None)`` — the model returns its own next-byte loss (it
    shifts the labels).  Windows of the corpus's train split from the "batches" stream of
    ``seed + step``: a fixed batch is ``finetune_batch(0)`` at every step."""
    from .data.text import load_text
    text = load_text(corpus, root).train
    x = lm_batches(text, batch, context - 1, seed + step, 1)[0]
    return {"input_ids": x, "labels": x}, None
