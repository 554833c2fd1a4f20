"""μP pretraining of the byte-level GPT: cost, loss and the base-rate scan per width.

    python benchmarks/transformer_pretrain.py [--widths 64 128 ...] [--scan 3e-3 1e-2 ...]
                                              [--scan-widths 64 256] [--steps S]

Per width: the cached (or freshly pretrained) model's wall time, seconds per step, train and
validation loss (nats/byte).  `--scan` pretrains at each base rate η₀ at `--scan-widths` and
prints the validation loss per (width, η₀): under μP the best η₀ should not move with width
(Tensor Programs V's μTransfer).  Every checkpoint is cached (keyed by the full config).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch

from toy_models.transformer import TransformerConfig
from toy_models.transformer_pretrain import load_or_pretrain


def one(cfg: TransformerConfig, force: bool = False) -> dict:
    _, info = load_or_pretrain(cfg, log_every=100, force=force)
    row = {"width": cfg.width, "base_lr": cfg.base_lr, "steps": cfg.steps,
           "wall_s": round(info["pretrain_wall_s"], 1), "s_per_step": round(info["s_per_step"], 3),
           "cpu_s_per_step": round(info.get("cpu_s_per_step", float("nan")), 3),
           "train_loss": round(info["train_loss"], 4), "val_loss": round(info["val_loss"], 4),
           "init_val_loss": round(info["init_val_loss"], 4), "cached": info["cached"],
           "threads": info["threads"], "load": os.getloadavg()[0]}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=int, nargs="*", default=[])
    ap.add_argument("--scan", type=float, nargs="*", default=[])
    ap.add_argument("--scan-widths", type=int, nargs="*", default=[64, 256])
    ap.add_argument("--steps", type=int, default=TransformerConfig.steps)
    ap.add_argument("--force", action="store_true", help="pretrain again (re-measure the cost)")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads (1: on a shared, loaded CPU two threads cost 4x the "
                         "CPU time for a slower step)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    base = replace(TransformerConfig(), steps=a.steps)
    for lr in a.scan:
        for w in a.scan_widths:
            one(replace(base, width=w, base_lr=lr), a.force)
    for w in a.widths:
        one(replace(base, width=w), a.force)


if __name__ == "__main__":
    main()
