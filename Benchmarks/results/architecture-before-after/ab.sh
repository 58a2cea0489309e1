B=/work/wt-before/.build/release/vecdb; A=/work/.build-after/release/vecdb
for i in 1 2; do
 for t in A B; do bin=$A; d=/work/main; [ $t = B ] && bin=$B && d=/work/wt-before
  (cd $d && $bin bench hnsw --dataset fashion-mnist-784 --threads 1 --output /tmp/bench/ab-$t$i.jsonl --max-queries 1000 --ef-sweep 16,32,64,128 > /tmp/bench/ab-$t$i.log 2>&1)
  echo "$t$i $(date +%T)"
 done
done
echo ALLDONE
