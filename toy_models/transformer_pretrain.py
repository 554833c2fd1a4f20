"""μP pretraining of the byte-level GPT (``toy_models.transformer``) and its checkpoint cache.

AdamW (β = ``cfg.betas``, ε = ``cfg.eps``, no weight decay, no clipping — a global-norm clip
would couple the roles' rates to width), one parameter group per μP role with rate
η₀ (n/n₀)^c, linear warmup then cosine decay to 10 %; batches of ``cfg.batch`` random windows
of the corpus's train split (``lm_batches``).  The checkpoint is cached on disk under
``$GAMMAKIT_CACHE`` (default ~/.cache/gammakit/checkpoints), keyed by a hash of the full config
plus the corpus fingerprint (the stdlib differs between Python versions); ``info`` records the
wall time, the loss curve and the final train / validation losses.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .toy import cache_dir
from .transformer import TransformerConfig, build, lm_batches, param_groups

__all__ = ["checkpoint_path", "evaluate", "load_or_pretrain", "pretrain"]

VERSION = 1
EVAL_WINDOWS = 64
LOG_EVERY = 25


def _schedule(cfg: TransformerConfig, step: int) -> float:
    """Rate multiplier at 1-based ``step``: linear warmup, cosine from 1 to 0.1."""
    if step <= cfg.warmup:
        return step / max(cfg.warmup, 1)
    frac = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))


def lm_loss(model: nn.Module, windows: torch.Tensor) -> torch.Tensor:
    """Mean next-byte cross-entropy (nats) of (batch, context + 1) windows."""
    logits = model(input_ids=windows[:, :-1]).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                           windows[:, 1:].reshape(-1))


@torch.no_grad()
def evaluate(model: nn.Module, data: np.ndarray, context: int,
             windows: int = EVAL_WINDOWS) -> float:
    """Loss on ``windows`` evenly spaced, fixed windows of ``data`` (deterministic)."""
    starts = np.linspace(0, len(data) - context - 2, windows).astype(np.int64)
    idx = torch.as_tensor(starts)[:, None] + torch.arange(context + 1)
    dev = next(model.parameters()).device
    return float(lm_loss(model, torch.as_tensor(data)[idx].long().to(dev)))


def pretrain(cfg: TransformerConfig, corpus, *, device: str = "cpu",
             log_every: int = 0) -> tuple[nn.Module, dict]:
    """Train every parameter of a fresh μP model; returns (model, info)."""
    model = build(cfg).to(device).train()
    groups = param_groups(model, cfg)
    opt = torch.optim.AdamW(groups, betas=cfg.betas, eps=cfg.eps, weight_decay=0.0)
    base = [g["lr"] for g in opt.param_groups]
    batches = lm_batches(corpus.train, cfg.batch, cfg.context, cfg.seed, cfg.steps)
    curve, recent = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for t in range(1, cfg.steps + 1):
        for g, lr in zip(opt.param_groups, base):
            g["lr"] = lr * _schedule(cfg, t)
        loss = lm_loss(model, batches[t - 1].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent.append(float(loss.detach()))
        if not math.isfinite(recent[-1]):
            break
        if t % LOG_EVERY == 0 or t == cfg.steps:
            curve.append((t, float(np.mean(recent))))
            recent = []
            if log_every and t % log_every == 0:
                print(f"n={cfg.width} step {t}: train loss {curve[-1][1]:.4f}", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    info = {"pretrain_wall_s": wall, "s_per_step": wall / cfg.steps,
            "cpu_s_per_step": cpu / cfg.steps,
            "threads": torch.get_num_threads(), "device": str(device), "curve": curve,
            "train_loss": curve[-1][1] if curve else float("nan"),
            "val_loss": evaluate(model, corpus.val, cfg.context),
            "init_val_loss": evaluate(build(cfg).to(device), corpus.val, cfg.context),
            "rates": {g["role"]: lr for g, lr in zip(groups, base)}}
    return model, info


def checkpoint_path(cfg: TransformerConfig, fingerprint: str, root: Path | None = None) -> Path:
    key = json.dumps({**asdict(cfg), "data": fingerprint, "optimizer": "adamw",
                      "version": VERSION}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return (root or cache_dir()) / f"gpt-n{cfg.width}-{digest}.pt"


def load_or_pretrain(cfg: TransformerConfig, *, corpus=None, device: str = "cpu",
                     root: Path | None = None, force: bool = False,
                     log_every: int = 0) -> tuple[nn.Module, dict]:
    """The cached pretrained model (pretrained on a miss; always in float32)."""
    if corpus is None:
        from .data.text import load_text
        corpus = load_text(cfg.corpus)
    path = checkpoint_path(cfg, corpus.fingerprint, root)
    if path.exists() and not force:
        ck = torch.load(path, map_location=device, weights_only=True)
        model = build(cfg, init=False).to(device)
        model.load_state_dict(ck["state"])
        return model, {**ck["info"], "cached": True, "path": str(path)}
    model, info = pretrain(cfg, corpus, device=device, log_every=log_every)
    info["key"] = {**asdict(cfg), "data": corpus.fingerprint}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state": {k: v.cpu() for k, v in model.state_dict().items()}, "info": info}, tmp)
    tmp.replace(path)
    return model, {**info, "cached": False, "path": str(path)}
