#!/usr/bin/env bash
# Pipeline configs through the command line on the reference evaluator's own split:
# evaluate.py --dump-split -> train.csv; items.csv (item_id,title,categories) from ml-100k.item;
# prismrec fit + recommend --all-users -> recs.csv per config, scored by evaluate.py and paired
# against a baseline (plain EASE λ=250, or --baseline CONFIG).
# Usage (from the project root, after `make install`):
#   bash benchmarks/best_config_check.sh                                   # configs/ml-100k-best.toml vs EASE
#   bash benchmarks/best_config_check.sh --baseline configs/ml-100k-best.toml \
#        configs/ml-100k-diverse.toml configs/ml-100k-diverse5.toml         # diverse configs vs the best
set -euo pipefail
export PRISMREC_DATA_HOME="${PRISMREC_DATA_HOME:-$(cd ../shared/data && pwd)}"
export OPENBLAS_NUM_THREADS=1
configs=()
baseline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) baseline="$2"; shift 2 ;;
    *) configs+=("$1"); shift ;;
  esac
done
[ ${#configs[@]} -eq 0 ] && configs=(configs/ml-100k-best.toml)
reference=../shared/tools/evaluate.py
data="$PRISMREC_DATA_HOME/ml-100k"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python "$reference" --data "$data" --dump-split "$work/split" 2>/dev/null
.venv/bin/python - "$data/ml-100k.item" "$work/items.csv" <<'PY'
import sys, pandas as pd
items = pd.read_csv(sys.argv[1], sep="\t", dtype=str, keep_default_na=False)
items.columns = [c.split(":")[0] for c in items.columns]
pd.DataFrame({"item_id": items.item_id, "title": items.movie_title + " (" + items.release_year + ")",
              "categories": items["class"].str.split().str.join("|")}).to_csv(sys.argv[2], index=False)
PY
fit_and_recommend() {  # name, then the model options of `prismrec fit`
  local name=$1; shift
  .venv/bin/prismrec fit --interactions "$work/split/train.csv" --items "$work/items.csv" "$@" --out "$work/$name"
  .venv/bin/prismrec recommend --model "$work/$name" --all-users -k 10 --out "$work/$name.csv"
}
if [ -n "$baseline" ]; then
  fit_and_recommend baseline --config "$baseline"
  label="$baseline"
  echo "## evaluate.py on $baseline recommendations"
  .venv/bin/python "$reference" --data "$data" --recs "$work/baseline.csv" 2>/dev/null
else
  fit_and_recommend baseline --model ease --param lambda=250
  label="plain EASE λ=250"
fi
for config in "${configs[@]}"; do
  name=$(basename "$config" .toml)
  fit_and_recommend "$name" --config "$config"
  echo "## evaluate.py on $config recommendations (baseline: $label)"
  .venv/bin/python "$reference" --data "$data" --recs "$work/$name.csv" --baseline "$work/baseline.csv" 2>/dev/null
done
