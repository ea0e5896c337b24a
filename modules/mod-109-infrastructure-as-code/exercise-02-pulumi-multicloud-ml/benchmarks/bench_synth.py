"""What a policy check costs: the first build (it loads the provider SDK's modules), later
builds of each stack under mocks, and the policies.

    uv run aiinfra exec 109-02 -- python \
        modules/mod-109-infrastructure-as-code/exercise-02-pulumi-multicloud-ml/benchmarks/bench_synth.py

Prints a markdown table: the first build, then the median of --repeat more.
"""

from __future__ import annotations

import argparse
import statistics
import time

from pulumiml.graph import synthesize
from pulumiml.policies import evaluate
from pulumiml.spec import Cloud, load_stack


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| cloud | stack | resources | first build (s) | build (s) | policies (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    for cloud in Cloud:
        for stack in ("dev", "prod"):
            spec = load_stack(stack, cloud=cloud)
            synth_times, policy_times = [], []
            for _ in range(args.repeat + 1):
                t0 = time.perf_counter()
                graph = synthesize(spec, stack=stack)
                t1 = time.perf_counter()
                evaluate(graph, spec.environment)
                policy_times.append(time.perf_counter() - t1)
                synth_times.append(t1 - t0)
            print(
                f"| {cloud.value} | {stack} | {len(graph)} | {synth_times[0]:.2f} | "
                f"{statistics.median(synth_times[1:]):.2f} | "
                f"{statistics.median(policy_times) * 1e3:.1f} |"
            )


if __name__ == "__main__":
    main()
