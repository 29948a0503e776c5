#!/usr/bin/env bash
# End-to-end agreement: the reference evaluator's own train split -> `prismrec fit` + `prismrec recommend`
# -> scored by the reference evaluator, next to `prismrec evaluate` on the same protocol.
# Usage: bash benchmarks/cli_crosscheck.sh   (from the project root, after `make install`)
set -euo pipefail
export PRISMREC_DATA_HOME="${PRISMREC_DATA_HOME:-$(cd ../shared/data && pwd)}"
export OPENBLAS_NUM_THREADS=1
reference=../shared/tools/evaluate.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python "$reference" --data "$PRISMREC_DATA_HOME/ml-100k" --dump-split "$work/split" 2>/dev/null
.venv/bin/prismrec fit --interactions "$work/split/train.csv" --model ease --param lambda=250 --out "$work/model"
.venv/bin/prismrec recommend --model "$work/model" --all-users -k 10 --out "$work/recs.csv"
echo "## reference evaluator on prismrec's recs.csv"
.venv/bin/python "$reference" --data "$PRISMREC_DATA_HOME/ml-100k" --recs "$work/recs.csv" 2>/dev/null | head -10
echo "## prismrec evaluate --dataset ml-100k --protocol temporal --model ease --param lambda=250 --json"
.venv/bin/prismrec evaluate --dataset ml-100k --protocol temporal --model ease --param lambda=250 --json \
  | grep -E '"(ndcg|recall|precision|hr|mrr|coverage|gini|avgpop|ild_genre|novelty)@10"'
