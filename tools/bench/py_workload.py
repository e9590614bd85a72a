"""`make bench` Python workload: TTA-like async workflows of 15 primitive spans each
(a sequential of six steps: a compute step, a gather of three, a retry whose step
fails once around asyncio.sleep(0), a fallback, a router, a cache), the 7 compute
steps each making HELPERS plain helper calls (the others make none). Waits for
the file in BENCH_GATE (if set), runs WORKFLOWS workflows, prints the wall time of
the run after the gate in ns. BENCH_ALL_CALLS=1 arms PY_START|PY_RETURN globally (for
every Python call) with tool id 2: the alternative of a probe on every call."""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "fixtures", "python"))
from ttaflow import Cache, Fallback, Parallel, Retry, Router, Sequential, Step  # noqa: E402

HELPERS = int(os.environ.get("HELPERS", "50"))


def helper(x):
    return x + 1


class Compute(Step):
    async def execute(self, data, context):
        for _ in range(HELPERS):
            data = helper(data)
        return data


class Once(Step):
    def __init__(self):
        self.calls = 0

    async def execute(self, data, context):
        self.calls += 1
        if self.calls % 2:
            await asyncio.sleep(0)
            raise ValueError("again")
        return data


def build():
    return Sequential(
        Compute(),
        Parallel(Compute(), Compute(), Compute()),
        Retry(Once(), attempts=2, delay=0),
        Fallback(Compute(), Compute()),
        Router({"a": Compute()}),
        Cache(Compute()),
    )


async def main(n):
    wf = build()
    for i in range(n):
        wf.steps[5].memo.clear()
        await wf.execute(i, {"route": "a"})


if __name__ == "__main__":
    n = int(os.environ.get("WORKFLOWS", "1000"))
    if os.environ.get("BENCH_ALL_CALLS"):
        m = sys.monitoring
        m.use_tool_id(2, "bench-all")
        m.set_events(2, m.events.PY_START | m.events.PY_RETURN)
    gate = os.environ.get("BENCH_GATE")
    if gate:
        while not os.path.exists(gate):
            time.sleep(0.005)
    t = time.perf_counter_ns()
    asyncio.run(main(n))
    print(time.perf_counter_ns() - t)
