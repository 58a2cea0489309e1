#!/usr/bin/env bash
set -u
B=/work/wt-before/.build/release/vecdb
A=/work/.build-after/release/vecdb
S="--ef-sweep 10,16,24,32,48,64,96,112,128,192,256"
run() { local label=$1 dir=$2 bin=$3; shift 3; echo "=== $label $(date +%T)"; (cd "$dir" && "$bin" "$@" > /tmp/bench/$label.log 2>&1); echo "rc=$? $(date +%T)"; }
run after2-hnsw  /work/main      $A bench hnsw --dataset fashion-mnist-784 --threads 1 --output /tmp/bench/after2-hnsw.jsonl --peers --max-queries 1000 $S
run before2-hnsw /work/wt-before $B bench hnsw --dataset fashion-mnist-784 --threads 1 --output /tmp/bench/before2-hnsw.jsonl --peers --max-queries 1000 $S
echo ALLDONE
