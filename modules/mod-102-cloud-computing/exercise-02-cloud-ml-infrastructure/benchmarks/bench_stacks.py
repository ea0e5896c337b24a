"""Where the time of a check of the three stacks goes.

    uv run aiinfra exec 102-02 -- python \
        modules/mod-102-cloud-computing/exercise-02-cloud-ml-infrastructure/benchmarks/bench_stacks.py

Prints a markdown table: the median of --repeat runs per step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from cloudinfra.cli import gate
from cloudinfra.paths import CLOUDS, scratch_tree, stack_dir, terraform_dir
from cloudinfra.stacks import check_tfvars, stack_gpu

from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.terraform import Terraform


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tf = Terraform.find()

    def catalog_test() -> object:
        with scratch_tree() as tree:
            return tf.test(tree / "modules" / "gpu-catalog")

    steps: dict[str, Callable[[], object]] = {
        "interfaces + tfvars (python-hcl2)": lambda: (check_tree(terraform_dir()), check_tfvars()),
        "terraform test gpu-catalog (5 runs)": catalog_test,
        "GPU catalog of one stack (terraform apply)": lambda: stack_gpu("aws", "prod", tf),
    }
    for cloud in CLOUDS:
        steps[f"checkov, {cloud} stack (follows its module calls)"] = lambda c=cloud: gate(
            stack_dir(c)
        )
    steps["checkov, whole tree (3 stacks, 4 modules)"] = lambda: gate(terraform_dir())
    print(f"| step (terraform {tf.version()}) | median (s) |")
    print("|---|---:|")
    for name, fn in steps.items():
        print(f"| {name} | {_median(fn, args.repeat):.2f} |")


if __name__ == "__main__":
    main()
