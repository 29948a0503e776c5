#!/usr/bin/env bash
# configs/ml-100k-best.toml through the command line on the reference evaluator's own split:
# evaluate.py --dump-split -> train.csv; items.csv (item_id,title,categories) from ml-100k.item;
# prismrec fit + recommend --all-users -> recs.csv, scored by evaluate.py (and paired against EASE λ=250).
# Usage: bash benchmarks/best_config_check.sh   (from the project root, after `make install`)
set -euo pipefail
export PRISMREC_DATA_HOME="${PRISMREC_DATA_HOME:-$(cd ../shared/data && pwd)}"
export OPENBLAS_NUM_THREADS=1
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
.venv/bin/prismrec fit --interactions "$work/split/train.csv" --items "$work/items.csv" \
  --config configs/ml-100k-best.toml --out "$work/best"
.venv/bin/prismrec recommend --model "$work/best" --all-users -k 10 --out "$work/best.csv"
.venv/bin/prismrec fit --interactions "$work/split/train.csv" --model ease --param lambda=250 --out "$work/ease"
.venv/bin/prismrec recommend --model "$work/ease" --all-users -k 10 --out "$work/ease.csv"
echo "## evaluate.py on configs/ml-100k-best.toml recommendations (baseline: plain EASE λ=250)"
.venv/bin/python "$reference" --data "$data" --recs "$work/best.csv" --baseline "$work/ease.csv" 2>/dev/null
