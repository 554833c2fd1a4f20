"""`width-sweep run / fit / report` on a plain `factory(width) -> nn.Module` model.

A spec whose `model = "pkg.module:factory"` names a function of the width alone (one required
argument) is trained through the adapter-probing path (width_sweeps.coord_train): every LoRA
adapter of the model is probed, and the tables carry a `module` column.  The spec's
`data = "pkg.module:batch"` names the data: a pair `(inputs, targets)`, a function of no
argument returning one (used at every step), or a function `batch(step)` (step 0: the probe
batch; step t ≥ 1: the training batch of step t).  Modules are imported with the current
directory on the import path (as `python -m` does), so a factory file next to the spec works.

Fits, predictions, premises and verdicts are those of `coord_check` (width_sweeps.coord_fit),
with each adapter's geometry read at run time (`shards/modules-w<width>.json`).  Such a spec
takes one `eta0`, `eps = ["0"]`, `init_scales = [1.0]` and `lr_ratio = 1` (rates through
`lr_exponents`, "c" or "c_A,c_B").
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import results
from .spec import RunConfig, SpecError, SweepSpec


def import_attr(target: str, field_name: str) -> Any:
    """`pkg.module:attr`, the current directory importable; a SpecError naming the field."""
    mod_name, _, attr = target.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"spec field '{field_name}': cannot import {target} ({exc})") from None


def _required(fn: Any) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


def is_factory_model(spec: SweepSpec) -> bool:
    """True when `spec.model` names a plain `factory(width)` (not a built-in, not a
    `(width, spec, device, dtype)` SweepModel factory)."""
    from .models import BUILTIN
    if spec.model in BUILTIN or ":" not in spec.model:
        return False
    return _required(import_attr(spec.model, "model")) == 1


def load_data(spec: SweepSpec) -> Any:
    """The spec's data: a pair, or a function of the step (module doc)."""
    if spec.data is None:
        raise SpecError("spec field 'data': missing (a factory model needs \"pkg.module:batch\")")
    obj = import_attr(spec.data, "data")
    if callable(obj):
        k = _required(obj)
        if k == 0:
            obj = obj()
        elif k != 1:
            raise SpecError(f"spec field 'data': {spec.data} must take no argument or the step")
    if not callable(obj) and not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise SpecError(f"spec field 'data': {spec.data} is not an (inputs, targets) pair")
    return obj


def check_spec(spec: SweepSpec) -> None:
    """Fields a factory model does not sweep (module doc)."""
    for name, ok in (("eta0", len(spec.eta0) == 1), ("eps", spec.eps == ["0"]),
                     ("init_scales", spec.init_scales == [1.0]), ("lr_ratio", spec.lr_ratio == 1)):
        if not ok:
            raise SpecError(f"spec field '{name}': a factory(width) model takes one eta0, "
                            "eps [\"0\"], init_scales [1.0] and lr_ratio 1")
    if len(spec.widths) < 2:
        raise SpecError(f"spec field 'widths': {spec.widths} — a width exponent needs at least 2")


def _runs(cfgs: list[RunConfig]) -> list[Any]:
    from gamma_calc.schemes import canonical_scheme

    from .coord_train import Run
    return [Run(c.scheme, canonical_scheme(c.scheme),
                c.lr_exponent if c.lr_exponent == c.lr_exponent_b
                else f"{c.lr_exponent},{c.lr_exponent_b}",
                c.lr_exponent, c.lr_exponent_b, c.seed, c.lr_a, c.lr_b) for c in cfgs]


def _frames(cfgs: list[RunConfig], res: Any, model: str, shard: str,
            seconds: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = pd.DataFrame([{"run_id": c.run_id, "model": model, "width": c.width,
                          "scheme": c.scheme, "init_scale": c.init_scale,
                          "optimizer": c.optimizer, "lr_exponent": c.lr_exponent,
                          "lr_exponent_b": c.lr_exponent_b, "eta0": c.eta0, "eps": c.eps,
                          "seed": c.seed, "lr_a": c.lr_a, "lr_b": c.lr_b} for c in cfgs])
    parts = []
    for (t, module, q), v in res.values.items():
        d = keys[results.KEYS].copy()
        d["module"], d["step"], d["quantity"], d["value"] = module, t, q, np.asarray(v, float)
        parts.append(d)
    steps = pd.concat(parts, ignore_index=True)
    loss = np.stack([res.values[k] for k in sorted(res.values)
                     if k[1] == "(model)" and k[2] == "loss"])        # (T+1, R)
    bad = ~np.isfinite(loss)
    runs = keys.copy()
    runs["status"] = np.where(bad.any(0), "diverged", "ok")
    runs["diverged_step"] = np.where(bad.any(0), bad.argmax(0), -1).astype(np.int64)
    runs["final_loss"] = loss[-1]
    runs["shard"], runs["shard_seconds"] = shard, seconds
    return steps, runs


def run_job(spec: SweepSpec, out: str, job: Any, device: str,
            expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train and write every pending shard of one width (executor.run_job's torch branch)."""
    from .coord_train import train_width
    from .models import numerics, pick_device, pick_dtype
    check_spec(spec)
    factory, data = import_attr(spec.model, "model"), load_data(spec)
    dev, dtype = pick_device(device), pick_dtype(spec.dtype)
    num = numerics(spec, dev)
    if expect is not None and num != expect:
        raise SpecError(f"{out}: its shards were computed with other numerics ({expect}); "
                        f"here {num}")
    meta = {"fingerprint": spec.fingerprint(), "numerics": num, "spec": spec.name}
    chunks = spec.chunks(job.width)
    for c in job.chunks:
        t0 = time.perf_counter()
        runs = _runs(chunks[c])

        def train(batched: bool, runs: list = runs) -> Any:
            return train_width(factory(job.width), runs, data, steps=spec.steps,
                               optimizer=spec.optimizer, loss_fn=None, device=dev, dtype=dtype,
                               batched=batched)
        try:
            res = train(True)
        except (RuntimeError, NotImplementedError):     # vmap cannot batch it: one run at a time
            res = train(False)
        name = results.shard_name(job.width, c)
        geo = {a.name: [a.kind, a.in_features, a.out_features, a.r, a.scale]
               for a in res.adapters}
        p = Path(out) / "shards" / f"modules-w{job.width:07d}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(geo))
        steps, runs = _frames(chunks[c], res, spec.model, name, time.perf_counter() - t0)
        s_path, r_path = results.shard_paths(Path(out), name)
        results.write_atomic(steps, s_path, meta)
        results.write_atomic(runs, r_path, meta)
    return {"width": job.width, "data_sources": {"data": spec.data}, "device": str(dev),
            "numerics": num}


def geometry(out: Path) -> pd.DataFrame:
    """Each adapter's geometry from the per-width module files of a sweep."""
    from .coord_fit import dim_kind
    per: dict[str, dict[int, list]] = {}
    for p in sorted((Path(out) / "shards").glob("modules-w*.json")):
        n = int(p.stem.split("-w")[1])
        for name, g in json.loads(p.read_text()).items():
            per.setdefault(name, {})[n] = g
    rows = []
    for name, g in per.items():
        ws = sorted(g)
        rows.append({"module": name, "kind": g[ws[-1]][0], "r": g[ws[-1]][3],
                     "scale": g[ws[-1]][4], "in": [g[w][1] for w in ws],
                     "out": [g[w][2] for w in ws], "in_dim": dim_kind([g[w][1] for w in ws], ws),
                     "out_dim": dim_kind([g[w][2] for w in ws], ws)})
    return pd.DataFrame(rows)


def _table(d: pd.DataFrame) -> pd.DataFrame:
    """Sweep steps rows as a coord_check table (rates "c" or "c_A,c_B")."""
    lr = np.where(d.lr_exponent.astype(str) == d.lr_exponent_b.astype(str),
                  d.lr_exponent.astype(str),
                  d.lr_exponent.astype(str) + "," + d.lr_exponent_b.astype(str))
    table = pd.DataFrame({"width": d.width.to_numpy(), "seed": d.seed.to_numpy(),
                          "scheme": d.scheme.astype(str).to_numpy(), "lr_exponent": lr,
                          "step": d.step.to_numpy(), "module": d.module.astype(str).to_numpy(),
                          "quantity": d.quantity.astype(str).to_numpy(),
                          "value": d.value.to_numpy()})
    return table


def analyze(out: Path, steps: pd.DataFrame, runs: pd.DataFrame, spec: dict[str, Any],
            opts: Any) -> tuple[pd.DataFrame, list[str]]:
    """Fits with verdicts of a factory-model sweep (its runs that never diverged)."""
    from gamma_calc.schemes import canonical_scheme

    from .coord_fit import fit_check
    ok = runs.loc[runs.status == "ok", "run_id"]
    table = _table(steps[steps.run_id.isin(ok)])
    canon = {s: canonical_scheme(s) for s in table.scheme.unique()}
    return fit_check(table, geometry(out), canon, spec.get("optimizer", "adam"),
                     int(steps.step.max()), opts)


def report_extra(out: Path, steps: pd.DataFrame, fits: pd.DataFrame, plots: Path) -> list[str]:
    """Markdown for `width-sweep report`: the premise per adapter and the coordinate-check
    figure of each (scheme, rate) (written under `plots/`)."""
    from types import SimpleNamespace

    from .coord_fit import premise_table
    from .coord_plot import plot_check
    from .report import table
    md = ["## Premise (adapter input z = Θ(1): fitted γ[z] at t = 0)", "",
          table(premise_table(fits), ["module", "scheme", "lr_exponent", "fitted", "ci_low",
                                      "ci_high", "premise"], True), ""]
    tab = _table(steps)
    cc = SimpleNamespace(table=tab, fits=fits, geometry=geometry(out))
    for i, ((sch, lr), _) in enumerate(tab.groupby(["scheme", "lr_exponent"], sort=True)):
        fig = plot_check(cc, ("Z_A", "Z_B", "delta1", "delta2"), None, sch, lr, 6)
        fig.savefig(plots / f"coord_check_{i}.png", dpi=100)
        md += [f"![coordinate check, {sch}, c = {lr}](plots/coord_check_{i}.png)", ""]
    return md
