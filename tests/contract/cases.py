"""The bad-input table of `width-sweep`, `toy-data` and `toy-model`: one row per hostile input,
with the exit code and a fragment of the one-line message the error contract promises
(gamma_calc/errors.py: user error → exit 2, one line naming the file, field and value).

Importable on its own (no pytest): `count.py` runs the same table against any checkout and
prints how many rows are clean, exit with the wrong code, show a traceback or are silently
accepted.  Each row runs in-process (`main(argv)`), in a fresh temporary directory.
"""
from __future__ import annotations

import sys
from typing import Any

try:
    from .harness import (
        Case,
        Ctx,
        chain,
        damage,
        data_root,
        disk_full,
        edit_spec_json,
        env,
        finished_sweep,
        foreign_shards,
        live_lock,
        readonly,
        regular_file,
        run_case,
        skip_reason,
        spec,
    )
except ImportError:                                   # run as a script (count.py)
    from harness import (  # type: ignore
        Case,
        Ctx,
        chain,
        damage,
        data_root,
        disk_full,
        edit_spec_json,
        env,
        finished_sweep,
        foreign_shards,
        live_lock,
        readonly,
        regular_file,
        run_case,
        skip_reason,
        spec,
    )

__all__ = ["Case", "all_cases", "run_case", "skip_reason"]


# ---- the table ----------------------------------------------------------------------------

def _spec_cases() -> list[Case]:
    """`width-sweep run SPEC`: every field out of range, overflowing or mistyped."""
    rows: list[tuple[str, dict[str, Any], str]] = [
        ("model-unknown", {"model": '"nope"'}, "'model'"),
        ("model-number", {"model": "3"}, "'model'"),
        ("model-missing-module", {"model": '"no_such_pkg.mod:factory"'}, "no_such_pkg"),
        ("model-missing-attr", {"model": '"width_sweeps.adapters:nope"'}, "nope"),
        ("widths-zero", {"widths": "[0]"}, "'widths'"),
        ("widths-negative", {"widths": "[-8]"}, "'widths'"),
        ("widths-float", {"widths": "[8.5]"}, "'widths'"),
        ("widths-empty", {"widths": "[]"}, "'widths'"),
        ("widths-duplicate", {"widths": "[8, 8]"}, "'widths'"),
        ("widths-string", {"widths": '"abc"'}, "'widths'"),
        ("widths-bool", {"widths": "[true]"}, "'widths'"),
        ("widths-huge", {"widths": "[134217728]"}, "memory"),
        ("schemes-unknown", {"schemes": '["Q"]'}, "'schemes'"),
        ("schemes-empty", {"schemes": "[]"}, "'schemes'"),
        ("init-scales-negative", {"init_scales": "[-1.0]"}, "'init_scales'"),
        ("init-scales-inf", {"init_scales": "[inf]"}, "'init_scales'"),
        ("init-scales-nan", {"init_scales": "[nan]"}, "'init_scales'"),
        ("init-scales-string", {"init_scales": '["x"]'}, "'init_scales'"),
        ("optimizer-unknown", {"optimizer": '"rmsprop"'}, "'optimizer'"),
        ("eta0-zero", {"eta0": "[0.0]"}, "'eta0'"),
        ("eta0-negative", {"eta0": "[-1.0]"}, "'eta0'"),
        ("eta0-inf", {"eta0": "[inf]"}, "'eta0'"),
        ("eta0-nan", {"eta0": "[nan]"}, "'eta0'"),
        ("eta0-string", {"eta0": '["x"]'}, "'eta0'"),
        ("eta0-bool", {"eta0": "[true]"}, "'eta0'"),
        ("eta0-grid-bad", {"eta0": "{from = -1, to = 1}"}, "'eta0.from'"),
        ("eta0-grid-huge", {"eta0": "{from = 1e-300, to = 1e300, per_octave = 1000000}"},
         "'eta0'"),
        ("eta0-grid-inf", {"eta0": "{from = 1.0, to = inf}"}, "'eta0.to'"),
        ("rate-overflow", {"eta0": "[1e300]", "lr_exponents": '["100"]'}, "rate"),
        ("n0-zero", {"n0": "0"}, "'n0'"),
        ("n0-float", {"n0": "1.5"}, "'n0'"),
        ("n0-inf", {"n0": "inf"}, "'n0'"),
        ("lr-exponents-junk", {"lr_exponents": '["x"]'}, "'lr_exponents'"),
        ("lr-exponents-overflow-1000", {"lr_exponents": '["1000"]'}, "'lr_exponents'"),
        ("lr-exponents-overflow-1e999", {"lr_exponents": '["1e999"]'}, "'lr_exponents'"),
        ("lr-exponents-three", {"lr_exponents": '["1,2,3"]'}, "'lr_exponents'"),
        ("lr-exponents-div0", {"lr_exponents": '["1/0"]'}, "'lr_exponents'"),
        ("lr-ratio-zero", {"lr_ratio": "0.0"}, "'lr_ratio'"),
        ("lr-ratio-inf", {"lr_ratio": "inf"}, "'lr_ratio'"),
        ("lr-ratio-nan", {"lr_ratio": "nan"}, "'lr_ratio'"),
        ("lr-ratio-string", {"lr_ratio": '"x"'}, "'lr_ratio'"),
        ("eps-junk", {"eps": '["x"]'}, "'eps'"),
        ("eps-overflow", {"eps": '["1e999"]'}, "'eps'"),
        ("seeds-negative", {"seeds": "[-1]"}, "'seeds'"),
        ("seeds-float", {"seeds": "[1.5]"}, "'seeds'"),
        ("seeds-zero-count", {"seeds": "0"}, "'seeds'"),
        ("seeds-negative-count", {"seeds": "-3"}, "'seeds'"),
        ("seeds-huge-count", {"seeds": "1000000000"}, "'seeds'"),
        ("seeds-duplicate", {"seeds": "[1, 1]"}, "'seeds'"),
        ("steps-zero", {"steps": "0"}, "'steps'"),
        ("steps-float", {"steps": "1.5"}, "'steps'"),
        ("steps-bool", {"steps": "true"}, "'steps'"),
        ("steps-huge", {"steps": "1000000000000"}, "memory"),
        ("batch-size-zero", {"batch_size": "0"}, "'batch_size'"),
        ("batch-size-float", {"batch_size": "1e9"}, "'batch_size'"),
        ("batch-size-huge", {"batch_size": "1000000000"}, "memory"),
        ("probe-batch-zero", {"probe_batch": "0"}, "'probe_batch'"),
        ("rank-zero", {"rank": "0"}, "'rank'"),
        ("rank-above-width", {"rank": "64"}, "'rank'"),
        ("dtype-half", {"dtype": '"float16"'}, "'dtype'"),
        ("device-tpu", {"device": '"tpu"'}, "'device'"),
        ("betas-one", {"betas": "[0.9]"}, "'betas'"),
        ("betas-range", {"betas": "[1.0, 0.5]"}, "'betas'"),
        ("betas-nan", {"betas": "[nan, 0.9]"}, "'betas'"),
        ("betas-string", {"betas": '"x"'}, "'betas'"),
        ("adam-eps-negative", {"adam_eps": "-1.0"}, "'adam_eps'"),
        ("adam-eps-nan", {"adam_eps": "nan"}, "'adam_eps'"),
        ("adam-eps-inf", {"adam_eps": "inf"}, "'adam_eps'"),
        ("diverge-factor-one", {"diverge_factor": "1.0"}, "'diverge_factor'"),
        ("diverge-factor-nan", {"diverge_factor": "nan"}, "'diverge_factor'"),
        ("diverge-factor-string", {"diverge_factor": '"x"'}, "'diverge_factor'"),
        ("alpha-zero", {"alpha": "0.0"}, "'alpha'"),
        ("alpha-inf", {"alpha": "inf"}, "'alpha'"),
        ("alpha-nan", {"alpha": "nan"}, "'alpha'"),
        ("runs-per-shard-zero", {"runs_per_shard": "0"}, "'runs_per_shard'"),
        ("frozen-seed-negative", {"frozen_seed": "-1"}, "'frozen_seed'"),
        ("data-seed-float", {"data_seed": "1.5"}, "'data_seed'"),
        ("test-eval-string", {"test_eval": '"yes"'}, "'test_eval'"),
        ("compile-string", {"compile": '"yes"'}, "'compile'"),
        ("fused-int", {"fused": "1"}, "'fused'"),
        ("probe-every-negative", {"probe_every": "-1"}, "'probe_every'"),
        ("block-runs-negative", {"block_runs": "-1"}, "'block_runs'"),
        ("workers-negative", {"workers": "-1"}, "'workers'"),
        ("name-number", {"name": "3"}, "'name'"),
        ("unknown-field", {"bogus": "1"}, "'bogus'"),
        ("model-options-unknown", {"model_options": {"bogus": "1"}}, "model_options.bogus"),
        ("model-options-w-init", {"model_options": {"w_init": '"bogus"'}}, "w_init"),
        ("model-options-dense-max", {"model_options": {"dense_max_width": "-1"}},
         "dense_max_width"),
        ("model-options-not-table", {"model_options": '"x"'}, "'model_options'"),
        ("fit-unknown-key", {"fit": {"bogus": "1"}}, "fit.bogus"),
        ("fit-n-boot-negative", {"fit": {"n_boot": "-1"}}, "fit.n_boot"),
        ("fit-n-boot-zero", {"fit": {"n_boot": "0"}}, "fit.n_boot"),
        ("fit-level-zero", {"fit": {"level": "0.0"}}, "fit.level"),
        ("fit-level-above-one", {"fit": {"level": "1.5"}}, "fit.level"),
        ("fit-tolerance-negative", {"fit": {"tolerance": "-1.0"}}, "fit.tolerance"),
        ("fit-tolerance-nan", {"fit": {"tolerance": "nan"}}, "fit.tolerance"),
        ("fit-local-widths", {"fit": {"local_widths": "1"}}, "fit.local_widths"),
        ("fit-tau-negative", {"fit": {"tau": "-1.0"}}, "fit.tau"),
        ("fit-maxlr-string", {"fit": {"maxlr": '"yes"'}}, "fit.maxlr"),
        ("fit-not-table", {"fit": "3"}, "'fit'"),
    ]
    out = [Case(f"run-spec-{i}", "width-sweep", ["run", "{spec}", "--out", "{out}",
                                                  "--no-progress"], frag, setup=spec(over))
           for i, over, frag in rows]
    raw = [
        ("missing-model", spec(drop=("model",)), "'model'"),
        ("missing-widths", spec(drop=("widths",)), "'widths'"),
        ("toml-syntax", spec(text="model = [\n"), "s.toml"),
        ("yaml-syntax", spec(text="model: [\n", name="s.yaml"), "s.yaml"),
        ("yaml-list", spec(text="- 1\n- 2\n", name="s.yaml"), "s.yaml"),
        ("yaml-python-tag", spec(text="model: !!python/object/apply:os.system ['true']\n",
                                 name="s.yaml"), "s.yaml"),
        ("yaml-bool-steps", spec(text="model: theory-layer\nwidths: [8]\nschemes: [A]\n"
                                      "steps: yes\n", name="s.yaml"), "'steps'"),
        ("json-suffix", spec(text="{}", name="s.json"), "s.json"),
        ("empty-file", spec(text=""), "'model'"),
        ("binary-garbage", lambda c: _binary(c), "s.toml"),
        ("spec-missing", lambda c: c.subs.update(spec=str(c.tmp / "none.toml")), "none.toml"),
        ("spec-is-dir", lambda c: c.subs.update(spec=str(c.tmp)), "spec"),
    ]
    out += [Case(f"run-{i}", "width-sweep", ["run", "{spec}", "--out", "{out}", "--no-progress"],
                 frag, setup=s) for i, s, frag in raw]
    return out


def _binary(c: Ctx) -> None:
    p = c.tmp / "s.toml"
    p.write_bytes(b"\xff\xfe\x00garbage\x80")
    c.subs["spec"] = str(p)


def _run_cases() -> list[Case]:
    """`width-sweep run`: options, output directories, resources, concurrency."""
    run = ["run", "{spec}", "--out", "{out}", "--no-progress"]
    ok = spec()
    return [
        Case("run-device-tpu", "width-sweep", run + ["--device", "tpu"], "tpu", setup=ok),
        Case("run-device-cuda", "width-sweep", run + ["--device", "cuda"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("run-device-cuda7", "width-sweep", run + ["--device", "cuda:7"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("run-spec-device-cuda", "width-sweep", run, "cuda",
             setup=spec({"device": '"cuda"'}), needs="no-cuda"),
        Case("run-device-empty", "width-sweep", run + ["--device", ""], "device", setup=ok),
        Case("run-executor", "width-sweep", run + ["--executor", "bogus"], "executor", setup=ok),
        Case("run-cluster-bogus", "width-sweep", run + ["--executor", "submitit", "--cluster",
             "bogus"], "--cluster", setup=ok),
        Case("run-timeout-negative", "width-sweep", run + ["--timeout-min", "-1"], "timeout",
             setup=ok),
        Case("run-gpus-negative", "width-sweep", run + ["--gpus", "-1"], "gpus", setup=ok),
        Case("run-out-is-file", "width-sweep", run, "a-file", setup=chain(ok, regular_file("out"))),
        Case("run-out-under-file", "width-sweep",
             ["run", "{spec}", "--out", "{out}/sub", "--no-progress"], "a-file",
             setup=chain(ok, regular_file("out"))),
        Case("run-out-readonly", "width-sweep", run, "ro", setup=chain(ok, readonly("ro"),
             lambda c: c.subs.update(out=c.subs["ro"] + "/out"))),
        Case("run-resume-readonly", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "sweep", setup=chain(finished_sweep, spec({"seeds": "3"}),
                                                    damage("shards/*c0000.runs.parquet", "delete"),
                                                    readonly("sweep"))),
        Case("run-disk-full", "width-sweep", run, "out", setup=chain(ok, disk_full)),
        Case("run-spec-differs", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "differs", setup=chain(finished_sweep, spec({"seeds": "4"}))),
        Case("run-foreign-shards", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "another spec", setup=chain(finished_sweep, foreign_shards,
                                                          spec({"seeds": "2"}))),
        Case("run-corrupted-shard", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "runs.parquet", setup=chain(
                 finished_sweep, spec({"seeds": "3"}),
                 damage("shards/*c0000.runs.parquet", "garbage"))),
        Case("run-truncated-shard", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "steps.parquet", setup=chain(
                 finished_sweep, spec({"seeds": "3"}),
                 damage("shards/*c0000.steps.parquet", "truncate"))),
        Case("run-spec-json-garbage", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "spec.json", setup=chain(finished_sweep, spec({"seeds": "3"}),
                                                        damage("spec.json", "garbage"))),
        Case("run-locked", "width-sweep", run, "pid 1", setup=chain(ok, live_lock)),
        Case("run-toy-empty-data", "width-sweep", run, "{data}",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("empty"))),
        Case("run-toy-truncated-gz", "width-sweep", run, "train-images",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("truncated"))),
        Case("run-toy-crc", "width-sweep", run, "train-images",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("crc"))),
    ]


def _fit_cases() -> list[Case]:
    fin = finished_sweep
    fit = ["fit", "{sweep}"]
    rows = [
        ("fit-missing-dir", ["fit", "{tmp}/none"], "none", None),
        ("fit-dir-is-file", ["fit", "{out}"], "a-file", regular_file("out")),
        ("fit-no-spec", fit, "spec.json", chain(fin, damage("spec.json", "delete"))),
        ("fit-spec-garbage", fit, "spec.json", chain(fin, damage("spec.json", "garbage"))),
        ("fit-not-merged", fit, "steps.parquet", chain(fin, damage("steps.parquet", "delete"))),
        ("fit-steps-garbage", fit, "steps.parquet", chain(fin, damage("steps.parquet",
                                                                      "garbage"))),
        ("fit-steps-truncated", fit, "steps.parquet", chain(fin, damage("steps.parquet",
                                                                        "truncate"))),
        ("fit-runs-empty", fit, "runs.parquet", chain(fin, damage("runs.parquet", "empty"))),
        ("fit-boot-zero", fit + ["--boot", "0"], "--boot", fin),
        ("fit-boot-negative", fit + ["--boot", "-1"], "--boot", fin),
        ("fit-level-zero", fit + ["--level", "0"], "--level", fin),
        ("fit-level-one", fit + ["--level", "1"], "--level", fin),
        ("fit-level-nan", fit + ["--level", "nan"], "--level", fin),
        ("fit-tolerance-nan", fit + ["--tolerance", "nan"], "--tolerance", fin),
        ("fit-tolerance-negative", fit + ["--tolerance", "-1"], "--tolerance", fin),
        ("fit-tolerance-inf", fit + ["--tolerance", "inf"], "--tolerance", fin),
        ("fit-quantity-bogus", fit + ["--quantity", "bogus"], "Z_A", fin),
        ("fit-step-999", fit + ["--step", "999"], "--step", fin),
        ("fit-step-negative", fit + ["--step", "-1"], "--step", fin),
        ("fit-format", fit + ["--format", "xml"], "--format", fin),
        ("fit-predictions-missing", fit + ["--predictions", "{tmp}/p.json"], "p.json", fin),
        ("fit-predictions-garbage", fit + ["--predictions", "{spec}"], "s.json",
         chain(fin, spec(text="[{", name="s.json"))),
        ("fit-predictions-schema", fit + ["--predictions", "{spec}"], "s.json",
         chain(fin, spec(text="[1, 2]", name="s.json"))),
        ("fit-spec-n-boot", fit, "n_boot", chain(fin, edit_spec_json(fit={"n_boot": -1}))),
        ("fit-spec-unknown", fit, "bogus", chain(fin, edit_spec_json(fit={"bogus": 1}))),
        ("fit-readonly", fit, "sweep", chain(fin, readonly("sweep"))),
        ("fit-disk-full", fit, "fits.parquet", chain(fin, disk_full)),
        ("report-missing-dir", ["report", "{tmp}/none"], "none", None),
        ("report-readonly", ["report", "{sweep}"], "sweep", chain(fin, readonly("sweep"))),
        ("report-steps-garbage", ["report", "{sweep}"], "steps.parquet",
         chain(fin, damage("steps.parquet", "garbage"))),
        ("report-predictions-missing", ["report", "{sweep}", "--predictions", "{tmp}/p.json"],
         "p.json", fin),
    ]
    return [Case(i, "width-sweep", argv, frag, setup=s) for i, argv, frag, s in rows]


def _bench_cases() -> list[Case]:
    b = ["bench", "--spec", "{spec}", "--no-flops"]
    ok = spec()
    return [
        Case("bench-batched-shards-negative", "width-sweep", b + ["--batched-shards", "-1"],
             "--batched-shards", setup=ok),
        Case("bench-reference-runs-negative", "width-sweep", b + ["--reference-runs", "-1"],
             "--reference-runs", setup=ok),
        Case("bench-reference-runs-zero", "width-sweep", b + ["--reference-runs", "0"],
             "--reference-runs", setup=ok),
        Case("bench-spec-missing", "width-sweep", ["bench", "--spec", "{tmp}/none.toml"],
             "none.toml"),
        Case("bench-spec-bad", "width-sweep", b, "'eta0'", setup=spec({"eta0": "[inf]"})),
        Case("bench-device-tpu", "width-sweep", b + ["--device", "tpu"], "tpu", setup=ok),
        Case("bench-device-cuda", "width-sweep", b + ["--device", "cuda"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("cli-no-command", "width-sweep", [], "usage"),
        Case("cli-unknown-command", "width-sweep", ["frobnicate"], "frobnicate"),
        Case("cli-run-no-out", "width-sweep", ["run", "{spec}"], "--out", setup=ok),
    ]


def _toy_data_cases() -> list[Case]:
    rows = [
        ("data-no-command", [], "usage", None),
        ("data-unknown-command", ["frobnicate"], "frobnicate", None),
        ("data-dataset", ["fetch", "--dataset", "cifar"], "cifar", None),
        ("data-format", ["info", "--format", "yaml"], "yaml", None),
        ("data-bogus-option", ["info", "--bogus"], "--bogus", None),
        ("data-root-under-file", ["fetch", "--root", "{out}/root"], "a-file",
         regular_file("out")),
        ("data-info-root-is-file", ["info", "--root", "{out}"], "a-file", regular_file("out")),
        ("data-fetch-root-is-file", ["fetch", "--root", "{out}"], "a-file",
         regular_file("out")),
        ("data-fetch-readonly", ["fetch", "--root", "{ro}"], "ro", readonly("ro")),
        ("data-fetch-nothing", ["fetch", "--root", "{tmp}/r"], "not found", None),
        ("data-info-empty", ["info", "--root", "{tmp}/empty"], "missing", None),
        ("data-info-truncated", ["info", "--root", "{data}"], "train-images",
         data_root("truncated")),
        ("data-info-crc", ["info", "--root", "{data}"], "train-images", data_root("crc")),
        ("data-info-manifest-garbage", ["info", "--root", "{data}"], "missing",
         chain(data_root("empty"), lambda c: (c.tmp / "data" / "manifest.json")
               .write_text("{not json"))),
    ]
    return [Case(i, "toy-data", argv, frag, setup=s) for i, argv, frag, s in rows]


def _toy_model_cases() -> list[Case]:
    small = ["--width", "16", "--pretrain-steps", "2"]
    ft = ["finetune", "--scheme", "A", "--steps", "2", "--rank", "2"] + small
    rows: list[tuple[str, list[str], str, Any, str]] = [
        ("model-no-command", [], "usage", None, ""),
        ("model-unknown-command", ["frobnicate"], "frobnicate", None, ""),
        ("model-pretrain-width-2^40", ["pretrain", "--width", "1099511627776"], "--width", None,
         ""),
        ("model-finetune-width-2^40", ["finetune", "--scheme", "A", "--width", "1099511627776"],
         "--width", None, ""),
        ("model-width-zero", ["pretrain", "--width", "0"], "--width", None, ""),
        ("model-width-text", ["pretrain", "--width", "x"], "--width", None, ""),
        ("model-width-float", ["pretrain", "--width", "1e9"], "--width", None, ""),
        ("model-pretrain-lr-inf", ["pretrain", "--pretrain-lr", "inf"] + small, "--pretrain-lr",
         None, ""),
        ("model-pretrain-lr-nan", ["pretrain", "--pretrain-lr", "nan"] + small, "--pretrain-lr",
         None, ""),
        ("model-pretrain-steps-zero", ["pretrain", "--pretrain-steps", "0"], "--pretrain-steps",
         None, ""),
        ("model-pretrain-seed-negative", ["pretrain", "--pretrain-seed", "-1"] + small,
         "--pretrain-seed", None, ""),
        ("model-lr-inf", ft + ["--lr", "inf"], "--lr", None, ""),
        ("model-lr-nan", ft + ["--lr", "nan"], "--lr", None, ""),
        ("model-lr-zero", ft + ["--lr", "0"], "--lr", None, ""),
        ("model-lr-ratio-inf", ft + ["--lr-ratio", "inf"], "--lr-ratio", None, ""),
        ("model-alpha-zero", ft + ["--alpha", "0"], "--alpha", None, ""),
        ("model-alpha-negative", ft + ["--alpha", "-1"], "--alpha", None, ""),
        ("model-alpha-inf", ft + ["--alpha", "inf"], "--alpha", None, ""),
        ("model-alpha-nan", ft + ["--alpha", "nan"], "--alpha", None, ""),
        ("model-init-scale-negative", ft + ["--init-scale", "-1"], "--init-scale", None, ""),
        ("model-init-scale-inf", ft + ["--init-scale", "inf"], "--init-scale", None, ""),
        ("model-init-scale-nan", ft + ["--init-scale", "nan"], "--init-scale", None, ""),
        ("model-batch-size-float", ft + ["--batch-size", "1e9"], "--batch-size", None, ""),
        ("model-batch-size-huge", ft + ["--batch-size", "1000000000"], "--batch-size", None,
         "real-data"),
        ("model-steps-zero", ft + ["--steps", "0"], "--steps", None, ""),
        ("model-steps-huge", ft + ["--steps", "1000000000000"], "--steps", None, "real-data"),
        ("model-rank-zero", ft + ["--rank", "0"], "--rank", None, ""),
        ("model-rank-above-width", ft + ["--rank", "64"], "--rank", None, ""),
        ("model-rank-odd", ["finetune", "--scheme", "ortho-qr-const", "--rank", "3"] + small,
         "--rank", None, ""),
        ("model-scheme-unknown", ["finetune", "--scheme", "bogus"] + small, "bogus", None, ""),
        ("model-seed-negative", ft + ["--seed", "-1"], "--seed", None, ""),
        ("model-data-seed-negative", ft + ["--data-seed", "-1"], "--data-seed", None, ""),
        ("model-log-every-negative", ft + ["--log-every", "-1"], "--log-every", None, ""),
        ("model-optimizer", ft + ["--optimizer", "lion"], "lion", None, ""),
        ("model-device-tpu", ["pretrain", "--device", "tpu"] + small, "tpu", None, ""),
        ("model-device-cuda", ["pretrain", "--device", "cuda"] + small, "cuda", None, "no-cuda"),
        ("model-format", ["schemes", "--format", "xml"], "xml", None, ""),
        ("model-empty-data", ["pretrain"] + small, "{data}", data_root("empty"), ""),
        ("model-truncated-gz", ["pretrain"] + small, "train-images", data_root("truncated"), ""),
        ("model-crc", ["pretrain"] + small, "train-images", data_root("crc"), ""),
        ("model-corrupted-checkpoint", ["pretrain"] + small, ".pt", _bad_checkpoint,
         "real-data"),
        ("model-cache-under-file", ["pretrain"] + small, "a-file",
         chain(regular_file("out"), env(GAMMAKIT_CACHE="{tmp}/a-file/ckpt")), "real-data"),
    ]
    return [Case(i, "toy-model", argv, frag, setup=s, needs=n) for i, argv, frag, s, n in rows]


def _bad_checkpoint(c: Ctx) -> None:
    """A checkpoint cache whose entry for the requested toy is garbage."""
    from toy_models.toy import ToyModel, checkpoint_path, data_fingerprint, load_data
    cache = c.tmp / "ckpt"
    c.env["GAMMAKIT_CACHE"] = str(cache)
    model = ToyModel(width=16, pretrain_steps=2)
    train = load_data(model.pretrain_data, "train")
    path = checkpoint_path(model, data_fingerprint(*train), cache)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch checkpoint")


def all_cases() -> list[Case]:
    cases = (_spec_cases() + _run_cases() + _fit_cases() + _bench_cases() + _toy_data_cases()
             + _toy_model_cases())
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


if __name__ == "__main__":
    print(len(all_cases()), "cases", file=sys.stderr)
