"""`toy-model`: pretrain Beyond Zero Init's toy on MNIST, fine-tune it on Fashion-MNIST with any
scheme.

    toy-model pretrain [--width N] [--parametrization sp|mup] [--pretrain-lr η]
                       [--pretrain-steps T] [--force]
    toy-model finetune --scheme A --lr 1e-3 --steps 100 [--width N] [--init-scale β] [--seed S]
    toy-model schemes

Every command takes `--format text|json` and `--device cpu|cuda|auto`.  Error contract
(gamma_calc.errors): bad input — an option out of range, a width whose frozen weights cannot fit
in memory, a device that is not there, a missing or damaged data or checkpoint file — is one line
on stderr naming the option, file and value, exit code 2; a bug is one line with exit code 1
(`--debug` shows the traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict

from gamma_calc.errors import UsageParser, UserError, run_cli

from .data import DataError
from .inits import DISPLAY_NAMES, UnknownSchemeError, get_init, scheme_names
from .mup import MUP_BASE_LR, MUP_STEPS, PARAMETRIZATIONS
from .resources import available_ram, gib
from .toy import PRETRAIN_LR, ToyModel, load_data, load_or_pretrain
from .train import TrainConfig, train_reference

PROG = "toy-model"
_UsageError = UserError
_Parser = UsageParser
MNIST_BYTES = 2 * 70_000 * 784 * 5      # MNIST + Fashion-MNIST as float32, plus the uint8 cache


def _number(kind, lo: float, strict: bool = True):
    """argparse type: a finite `kind` > lo (>= lo unless `strict`)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        ok = math.isfinite(value) and (value > lo if strict else value >= lo)
        if not ok:
            raise argparse.ArgumentTypeError(
                f"{text} is not a finite number {'>' if strict else '>='} {lo:g}")
        return value
    return parse


def _positive(kind):
    return _number(kind, 0)


def _nonnegative(kind):
    return _number(kind, 0, strict=False)


def _parser() -> _Parser:
    p = _Parser(prog=PROG,
                description="Beyond Zero Init's toy: MNIST pretraining → Fashion-MNIST LoRA")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--device", default="auto", help="cpu, cuda[:k] or auto")
    common.add_argument("--width", type=_positive(int), default=4096, help="hidden width n")
    common.add_argument("--parametrization", choices=PARAMETRIZATIONS, default="sp",
                        help="sp (the paper's toy) or mup (the testbed of width checks)")
    common.add_argument("--pretrain-lr", type=_positive(float), default=None,
                        help=f"(base) rate; default {PRETRAIN_LR:g} (sp), 2^-9 (mup)")
    common.add_argument("--pretrain-steps", type=_positive(int), default=None,
                        help=f"default 2000 (sp), {MUP_STEPS} (mup)")
    common.add_argument("--pretrain-seed", type=_nonnegative(int), default=0)
    pre = sub.add_parser("pretrain", parents=[common], help="pretrain (or load) the toy")
    pre.add_argument("--force", action="store_true", help="retrain even if cached")
    ft = sub.add_parser("finetune", parents=[common], help="LoRA fine-tune on Fashion-MNIST")
    ft.add_argument("--scheme", required=True)
    ft.add_argument("--lr", type=_positive(float), default=1e-3, help="η_A (AdamW)")
    ft.add_argument("--lr-ratio", type=_positive(float), default=1.0, help="η_B/η_A (LoRA+)")
    ft.add_argument("--steps", type=_positive(int), default=100)
    ft.add_argument("--rank", type=_positive(int), default=32)
    ft.add_argument("--alpha", type=_positive(float), default=None,
                    help="LoRA α (default: s = 1)")
    ft.add_argument("--rslora", action="store_true", help="scale α/√r")
    ft.add_argument("--init-scale", type=_nonnegative(float), default=1.0,
                    help="variance multiplier β")
    ft.add_argument("--seed", type=_nonnegative(int), default=0, help="LoRA init seed")
    ft.add_argument("--data-seed", type=_nonnegative(int), default=0, help="batch order seed")
    ft.add_argument("--batch-size", type=_positive(int), default=64)
    ft.add_argument("--optimizer", choices=("adamw", "adam", "sgd"), default="adamw")
    ft.add_argument("--log-every", type=_positive(int), default=25)
    sc = sub.add_parser("schemes", help="list the init schemes")
    sc.add_argument("--format", choices=("text", "json"), default="text")
    return p


def _device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not (name == "cpu" or name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise UserError(f"option '--device': {name!r} is not cpu, cuda[:k] or auto")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"option '--device': {name!r} requested but CUDA is not available here")
    return name


def _fits(a: argparse.Namespace, steps: int = 0, batch: int = 0) -> None:
    """Refuse, before allocating, a width whose pretraining (weights, gradients and AdamW's two
    moments in float32: 16 bytes per weight) or a fine-tuning schedule cannot fit in RAM."""
    n = a.width
    need = 16.0 * (n * 784 + n * n + 10 * n) + MNIST_BYTES + 8.0 * steps * batch + 400.0 * steps
    have = available_ram()
    if need > 0.9 * have:
        what = ("option '--steps'" if 8.0 * steps * batch + 400.0 * steps > need / 2
                else "option '--width'")
        raise UserError(f"{what}: --width {n} --steps {steps or a.pretrain_steps} needs about "
                        f"{gib(need)} of memory but {gib(have)} of RAM is available")


def _model(a: argparse.Namespace, **kw) -> ToyModel:
    return ToyModel(width=a.width, pretrain_lr=a.pretrain_lr, pretrain_steps=a.pretrain_steps,
                    pretrain_seed=a.pretrain_seed, parametrization=a.parametrization, **kw)


def _pretrain(a: argparse.Namespace) -> dict:
    _fits(a)
    model = _model(a)
    _, info = load_or_pretrain(model, device=_device(a.device), force=a.force,
                               log_every=500 if a.format == "text" else 0)
    return {"command": "pretrain", "width": a.width, "parametrization": a.parametrization,
            "mnist_test_acc": info["test_acc"],
            "mnist_test_loss": info["test_loss"], "pretrain_wall_s": info["pretrain_wall_s"],
            "cached": info["cached"], "checkpoint": info["path"]}


def _finetune(a: argparse.Namespace) -> dict:
    scheme = get_init(a.scheme)  # UnknownSchemeError → exit 2
    if scheme.even_rank and a.rank % 2:
        raise _UsageError(f"scheme {scheme.name} needs an even --rank, got {a.rank}")
    if a.rank > a.width:
        raise _UsageError(f"--rank {a.rank} exceeds --width {a.width}")
    _fits(a)
    device = _device(a.device)
    model = _model(a, r=a.rank, alpha=a.alpha, rslora=a.rslora)
    train, test = load_data("fashion-mnist", "train"), load_data("fashion-mnist", "test")
    if a.batch_size > len(train[1]):
        raise UserError(f"option '--batch-size': {a.batch_size} exceeds the {len(train[1])} "
                        "Fashion-MNIST training examples")
    _fits(a, a.steps, a.batch_size)
    frozen, info = load_or_pretrain(model, device=device)
    cfg = TrainConfig(scheme=scheme.name, optimizer=a.optimizer, lr=a.lr, lr_ratio=a.lr_ratio,
                      steps=a.steps, batch_size=a.batch_size, seed=a.seed,
                      data_seed=a.data_seed, init_scale=a.init_scale)
    t0 = time.perf_counter()
    res = train_reference(model, frozen, train, cfg, eval_data=test)
    wall = time.perf_counter() - t0
    loss = res.history["loss"]
    every = a.log_every
    return {"command": "finetune", "scheme": scheme.name, "display": scheme.display,
            "width": a.width, "parametrization": a.parametrization, "rank": a.rank,
            "scale": model.scale, "config": asdict(cfg),
            "status": res.status, "mnist_test_acc": info["test_acc"],
            "fashion_test_loss": res.final.get("test_loss"),
            "fashion_test_acc": res.final.get("test_acc"), "wall_s": wall, "device": device,
            "probe_loss": {t: loss[t] for t in range(0, len(loss), every)}}


def _schemes() -> dict:
    rows = []
    for name in scheme_names():
        s, asym = get_init(name), get_init(name).asymptotics()
        rows.append({"name": name, "display": DISPLAY_NAMES[name], "summary": s.summary,
                     "A": list(asym["A"]), "B": list(asym["B"]), "subtract": s.subtract})
    return {"command": "schemes", "schemes": rows}


def _text(out: dict) -> str:
    if out["command"] == "schemes":
        rows = out["schemes"]
        wn, wd = (max(len(r[k]) for r in rows) for k in ("name", "display"))
        return "\n".join(f"{r['name']:{wn}s}  {r['display']:{wd}s}  A {r['A'][0]:>5s} "
                         f"{r['A'][1]:8s} B {r['B'][0]:>5s} {r['B'][1]:8s} {r['summary']}"
                         for r in rows)
    par = "" if out["parametrization"] == "sp" else ", μP"
    head = (f"pretrained toy (n={out['width']}{par}): MNIST test accuracy "
            f"{out['mnist_test_acc']:.4f}")
    if out["command"] == "pretrain":
        how = "cached" if out["cached"] else f"trained in {out['pretrain_wall_s']:.0f} s"
        return f"{head} ({how}; {out['checkpoint']})"
    c = out["config"]
    lines = [head, (f"fine-tune {out['scheme']} ({out['display']}): r={out['rank']}, "
             f"s={out['scale']:g}, {c['optimizer']} lr={c['lr']:g} (ratio {c['lr_ratio']:g}), "
             f"{c['steps']} steps, init_scale={c['init_scale']:g}, seed={c['seed']}")]
    lines += [f"  step {t:4d}  probe loss {v:.4f}" for t, v in out["probe_loss"].items()]
    if out["status"] != "ok":
        lines.append(f"  diverged ({out['status']})")
    else:
        lines.append(f"Fashion-MNIST test: loss {out['fashion_test_loss']:.4f}, accuracy "
                     f"{out['fashion_test_acc']:.4f}  ({out['wall_s']:.1f} s on {out['device']})")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.cmd != "schemes":          # the parametrisation's own defaults (toy_models.mup)
        mup = a.parametrization == "mup"
        a.pretrain_lr = a.pretrain_lr or (MUP_BASE_LR if mup else PRETRAIN_LR)
        a.pretrain_steps = a.pretrain_steps or (MUP_STEPS if mup else 2000)
    out = {"pretrain": _pretrain, "finetune": _finetune}.get(a.cmd, lambda _: _schemes())(a)
    print(json.dumps(out, indent=2) if a.format == "json" else _text(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(PROG, _main, argv, user_errors=(UnknownSchemeError, DataError))


if __name__ == "__main__":
    sys.exit(main())
