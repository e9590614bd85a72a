"""`make bench` broad-glob workload (tools/bench/governor.sh): a plain Python loop
whose every iteration goes through many small C API functions (ints, a dict, a list,
str formatting), in CHUNKS chunks of ITERS iterations. Waits for the file in
BENCH_GATE (if set), then prints each chunk's wall time in ns, one per line."""
import os
import time

CHUNKS = int(os.environ.get("CHUNKS", "10"))
ITERS = int(os.environ.get("ITERS", "2000"))
gate = os.environ.get("BENCH_GATE")
while gate and not os.path.exists(gate):
    time.sleep(0.01)
d = {}
acc = 0
for c in range(CHUNKS):
    t0 = time.perf_counter_ns()
    for i in range(ITERS):
        k = i % 64
        d[k] = d.get(k, 0) + i
        lst = [k, i, acc & 0xFF]
        lst.sort()
        acc += len(str(lst[0])) + sum(lst)
    print(time.perf_counter_ns() - t0, flush=True)
