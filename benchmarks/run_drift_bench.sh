#!/usr/bin/env bash
# Set up the peers' virtual environments (once) and run the drift benchmark.
#
#   benchmarks/run_drift_bench.sh                      # 100k, 1M and 5M rows, all tools, 900 s bound
#   benchmarks/run_drift_bench.sh --rows 100000        # extra arguments go to drift_bench.py
#
# Environment: PYTHON (interpreter used to create the peers' venvs, default python3.11),
# PROJECT_PYTHON (driftline's environment, default .venv/bin/python at the repository root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
PROJECT_PYTHON="${PROJECT_PYTHON:-$ROOT/.venv/bin/python}"
VENVS="$HERE/.venvs"

for peer in evidently whylogs nannyml; do
    venv="$VENVS/$peer"
    req="$HERE/requirements-$peer.txt"
    stamp="$venv/.requirements-installed"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "creating $venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
    fi
    if [[ ! -f "$stamp" ]] || ! cmp -s "$req" "$stamp"; then
        echo "installing $req into $venv"
        "$venv/bin/python" -m pip install --quiet -r "$req"
        cp "$req" "$stamp"
    fi
done

cd "$ROOT"
if [[ $# -eq 0 ]]; then
    set -- --rows 100000 1000000 5000000 --tools driftline evidently whylogs nannyml numpy \
        --timeout 900 --out benchmarks/results/drift.json
fi
"$PROJECT_PYTHON" benchmarks/drift_bench.py "$@"

# the chart needs matplotlib, which the NannyML environment has
out="benchmarks/results/drift.json"
prev=""
for arg in "$@"; do
    if [[ "$prev" == "--out" ]]; then out="$arg"; fi
    prev="$arg"
done
"$VENVS/nannyml/bin/python" benchmarks/drift_chart.py "$out" docs/img/drift-bench.png
