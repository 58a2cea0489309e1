#!/usr/bin/env bash
# Before/after benchmarks for issue 10, interleaved. Same flags as the committed runs.
set -u
B=/work/wt-before/.build/release/vecdb
A=/work/.build-after/release/vecdb
run() { # label dir bin args...
  local label=$1 dir=$2 bin=$3; shift 3
  echo "=== $label $(date +%T)" 
  (cd "$dir" && "$bin" "$@" > /tmp/bench/$label.log 2>&1); echo "rc=$? $(date +%T)"
}
for ds in fashion-mnist-784; do
  run before-hnsw-$ds /work/wt-before $B bench hnsw --dataset $ds --threads 1 --output /tmp/bench/before-hnsw.jsonl --peers --max-queries 1000 --ef-sweep 10,16,24,32,48,64,96,112,128,192,256
  run after-hnsw-$ds  /work/main      $A bench hnsw --dataset $ds --threads 1 --output /tmp/bench/after-hnsw.jsonl --peers --max-queries 1000 --ef-sweep 10,16,24,32,48,64,96,112,128,192,256
done
for ds in fashion-mnist-784 glove-50-angular; do
  m=16; [ $ds = glove-50-angular ] && m=10
  run before-ivf-$ds /work/wt-before $B bench ivf --dataset $ds --threads 1 --output /tmp/bench/before-ivf.jsonl --peers --max-queries 1000 --nlist 1024 --pq-m $m
  run after-ivf-$ds  /work/main      $A bench ivf --dataset $ds --threads 1 --output /tmp/bench/after-ivf.jsonl --peers --max-queries 1000 --nlist 1024 --pq-m $m
done
echo ALLDONE
