"""How long real DAG runs take here: DAG-folder parse time and training runs by size.

    uv run aiinfra exec 105-04 -- python \
        modules/mod-105-data-pipelines/exercise-04-workflow-orchestration-airflow/benchmarks/bench_runs.py

Prints a markdown table (and writes it as JSON with ``--json PATH``). Every run is a real
``dag.test()`` run in a temporary Airflow home; the first run of the process pays for starting
the in-process execution API and is reported apart ("warm-up").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID_1 = [{"kind": "logreg", "C": 1.0}]
GRID_4 = [
    {"kind": "logreg", "C": 0.1},
    {"kind": "logreg", "C": 1.0},
    {"kind": "gbm", "max_depth": 2, "learning_rate": 0.1},
    {"kind": "gbm", "max_depth": 3, "learning_rate": 0.05},
]


def parse_seconds(repeats: int) -> list[float]:
    """Wall time of parsing the DAG folder in a fresh interpreter (imports included)."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "from airflowml.home import DAGS_FOLDER\n"
        "bag = DagBag(dag_folder=str(DAGS_FOLDER)); assert not bag.import_errors\n"
        "print(time.perf_counter() - t)\n"
    )
    times = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="airflowml-bench-") as tmp:
        from airflowml.config import AirflowmlSettings
        from airflowml.home import activate, init

        settings = AirflowmlSettings(home=Path(tmp))
        activate(settings)
        start = time.perf_counter()
        init(settings)
        migrate_s = time.perf_counter() - start

        from airflowml.runner import run_dag

        log = Path(tmp) / "bench.log"
        rows: list[dict[str, object]] = []
        warm = run_dag(
            "ml_training_pipeline", {"model_name": "warmup", "grid": GRID_1}, log_path=log
        )
        rows.append(
            {
                "case": "warm-up (first run of the process)",
                "runs": 1,
                "median_s": round(warm.wall_s, 2),
                "tasks": len(warm.tasks),
            }
        )
        cases = [
            ("training, 2k rows, 1 candidate", {"n_rows": 2000, "grid": GRID_1}),
            ("training, 2k rows, 4 candidates", {"n_rows": 2000, "grid": GRID_4}),
            ("training, 20k rows, 4 candidates", {"n_rows": 20000, "grid": GRID_4}),
        ]
        for name, conf in cases:
            walls, tasks = [], 0
            for i in range(args.repeats):
                result = run_dag(
                    "ml_training_pipeline", {"model_name": f"bench-{i}", **conf}, log_path=log
                )
                assert result.ok, result.states()
                walls.append(result.wall_s)
                tasks = len(result.tasks)
            rows.append(
                {
                    "case": name,
                    "runs": args.repeats,
                    "median_s": round(statistics.median(walls), 2),
                    "tasks": tasks,
                }
            )
        parse = parse_seconds(args.repeats)
        rows.append(
            {
                "case": "parse dags/ in a fresh interpreter",
                "runs": args.repeats,
                "median_s": round(statistics.median(parse), 2),
                "tasks": "-",
            }
        )
        rows.append(
            {
                "case": "airflow db migrate (SQLite)",
                "runs": 1,
                "median_s": round(migrate_s, 2),
                "tasks": "-",
            }
        )

    print("| case | runs | median s | task instances |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['case']} | {row['runs']} | {row['median_s']} | {row['tasks']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
