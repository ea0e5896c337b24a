"""The ``obsstack`` command.

Exit codes: 0 done, 1 bad input or a stack that is not there (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from obsstack.config import Settings
from obsstack.errors import ObsstackError

app = package_app(
    "108-01: Observability stack: Prometheus, Alertmanager, Pushgateway, node exporter, an OTLP "
    "collector and a trace/log store, wired on loopback, with burn-rate alerts end to end."
)
PACKAGE_ROOT = Path(__file__).resolve().parent
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="The stack's folder (default $OBSSTACK_DATA_DIR or ~/.cache)."),
]


def _settings(data_dir: Path | None = None, scale: int | None = None) -> Settings:
    return settings_from(Settings, ObsstackError, data_dir=data_dir, scale=scale)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
    error_rate: Annotated[
        float, typer.Option(min=0.05, max=1.0, help="Share of /predict to fail.")
    ] = 0.3,
) -> None:
    """Start the stack, inject errors, watch the page arrive and resolve (about a minute)."""
    from obsstack.demo import run

    run(workdir, error_rate=error_rate)


@app.command()
def up(
    data_dir: DataDir = None,
    scale: Annotated[
        int | None, typer.Option(help="Rule time compression (1 = production windows).")
    ] = None,
    timeout: Annotated[float, typer.Option(min=5, max=600, help="Seconds to wait.")] = 120,
) -> None:
    """Start the stack in the background; its state stays in the data dir across restarts."""
    from obsstack import rules as rule_defs
    from obsstack.stack import read_state

    settings = _settings(data_dir, scale)
    rule_defs.build(settings.scale)  # a scale that breaks a window is refused here, not later
    root = settings.data_dir.expanduser()
    state = read_state(root)
    if state is not None and _pid_alive(int(state["pid"])):
        raise ObsstackError(
            f"a stack already runs under {root} (pid {state['pid']}); `obsstack down` first"
        )
    (root / "state.json").unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    log = (root / "supervisor.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "obsstack",
            "supervise",
            "--data-dir",
            str(root),
            "--scale",
            str(settings.scale),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    with console.status("starting the stack"):
        while (state := read_state(root)) is None:
            if process.poll() is not None:
                tail = (root / "supervisor.log").read_text(errors="replace").strip()
                last = tail.splitlines()[-1] if tail else "no output"
                raise ObsstackError(f"the stack did not start: {last} (see {root}/supervisor.log)")
            if time.monotonic() > deadline:
                process.terminate()
                raise ObsstackError(f"the stack was not up within {timeout:.0f} s")
            time.sleep(0.2)
    _print_urls(state["urls"], f"stack up (pid {state['pid']}, data in {root})")


def _print_urls(urls: dict[str, str], title: str) -> None:
    table = Table("component", "url", title=title)
    for name, url in urls.items():
        table.add_row(name, url)
    console.print(table)


@app.command()
def down(
    data_dir: DataDir = None,
    timeout: Annotated[float, typer.Option(min=1, max=300, help="Seconds to wait.")] = 60,
) -> None:
    """Stop the stack ``up`` started (its data stays)."""
    from obsstack.stack import read_state

    root = _settings(data_dir).data_dir.expanduser()
    state = read_state(root)
    if state is None or not _pid_alive(int(state["pid"])):
        (root / "state.json").unlink(missing_ok=True)
        console.print(f"no stack is running under {root}")
        return
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    with console.status("stopping the stack"):
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    if _pid_alive(pid):
        raise ObsstackError(f"the stack (pid {pid}) did not stop within {timeout:.0f} s")
    console.print(f"stack stopped; data kept in {root}")


@app.command(hidden=True)
def supervise(
    data_dir: Annotated[Path, typer.Option("--data-dir")],
    scale: Annotated[int, typer.Option(min=1, max=360)] = 60,
) -> None:
    """Run the stack in the foreground until SIGTERM (what ``up`` starts)."""
    from obsstack.stack import STATE_FILE, running_stack

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with running_stack(data_dir, scale=scale, fast=True) as urls:
        state = {"pid": os.getpid(), "scale": scale, "urls": urls.as_dict()}
        tmp = data_dir / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(data_dir / STATE_FILE)
        try:
            stop.wait()
        finally:
            (data_dir / STATE_FILE).unlink(missing_ok=True)


HEALTH_PATHS = {
    "prometheus": "/-/healthy",
    "alertmanager": "/-/healthy",
    "pushgateway": "/-/healthy",
    "node_exporter": "/metrics",
    "store": "/healthz",
    "service": "/healthz",
}


@app.command()
def status(data_dir: DataDir = None) -> None:
    """The running stack's URLs and whether each part answers (exit 1 if one does not)."""
    import httpx

    from aiinfra_shared.services.base import tcp_open
    from obsstack.client import urls

    found = urls(_settings(data_dir).data_dir.expanduser())
    table = Table("component", "url", "health")
    healthy = True
    for name, url in found.items():
        if name in HEALTH_PATHS:
            try:
                code = httpx.get(url + HEALTH_PATHS[name], timeout=3).status_code
                answer = "ok" if code == 200 else f"HTTP {code}"
            except httpx.HTTPError as exc:
                answer = f"down ({type(exc).__name__})"
        else:  # the collector's OTLP port has no health route: is it listening?
            host, port = url.split("://", 1)[-1].split(":")
            answer = "ok" if tcp_open(host, int(port)) else "down"
        healthy &= answer == "ok"
        table.add_row(name, url, answer)
    console.print(table)
    if not healthy:
        raise ObsstackError("part of the stack does not answer (table above)")


@app.command()
def traffic(
    seconds: Annotated[float, typer.Option(help="How long.")] = 10.0,
    rps: Annotated[float, typer.Option(help="Requests per second.")] = 20.0,
    data_dir: DataDir = None,
) -> None:
    """Send /predict traffic to the running stack's service."""
    from obsstack.client import send_traffic, urls

    found = urls(_settings(data_dir).data_dir.expanduser())
    with console.status(f"sending {rps:g} req/s for {seconds:g} s"):
        stats = send_traffic(found["service"], seconds=seconds, rps=rps)
    console.print(f"{stats.sent} requests: {stats.ok} ok, {stats.failed} failed")


@app.command()
def faults(
    error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of /predict to fail.")
    ] = 0.0,
    latency_ms: Annotated[int, typer.Option(min=0, max=5000, help="Extra latency.")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Inject failures into the service (no options: stop injecting)."""
    from obsstack.client import call, urls

    found = urls(_settings(data_dir).data_dir.expanduser())
    now = call(
        "PUT",
        f"{found['service']}/admin/faults",
        json={"error_rate": error_rate, "latency_ms": latency_ms},
    )
    console.print(f"faults now: {now}")


@app.command()
def logs(
    query: Annotated[
        str, typer.Argument(help='LogQL-style, e.g. \'{service="ml-api"} |= "error"\'')
    ],
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 50,
    data_dir: DataDir = None,
) -> None:
    """Query the logs (label matchers, then |= != |~ !~ line filters), newest first."""
    from obsstack.client import call, urls
    from obsstack.logql import parse

    parse(query)  # a bad query is refused here, with the parser's message
    found = urls(_settings(data_dir).data_dir.expanduser())
    rows = call("GET", f"{found['store']}/api/logs", params={"query": query, "limit": limit})
    for row in rows:
        stamp = time.strftime("%H:%M:%S", time.localtime(row["ts_ns"] / 1e9))
        console.print(
            f"{stamp} {row['service']} {row['level']:7} {row['body']}"
            f"  [dim]trace={row['trace_id'] or '-'}[/dim]",
            highlight=False,
        )
    console.print(f"[dim]{len(rows)} lines[/dim]")


@app.command()
def trace(trace_id: str, data_dir: DataDir = None) -> None:
    """One trace: its spans as a tree, and the logs written inside it."""
    from obsstack.client import call, urls

    found = urls(_settings(data_dir).data_dir.expanduser())
    data = call("GET", f"{found['store']}/api/traces/{trace_id}")
    children: dict[str, list[dict[str, object]]] = {}
    for span in data["spans"]:
        children.setdefault(str(span["parent_id"]), []).append(span)

    def show(parent: str, depth: int) -> None:
        for span in children.get(parent, []):
            console.print(
                f"{'  ' * depth}{span['name']}  {span['duration_ms']:.2f} ms  "
                f"[{span['status']}] ({span['service']})",
                highlight=False,
            )
            show(str(span["span_id"]), depth + 1)

    show("", 0)
    for line in data["logs"]:
        console.print(f"  log {line['level']}: {line['body']}", highlight=False)


@app.command()
def alerts(
    receiver: Annotated[str | None, typer.Option(help="Only this receiver.")] = None,
    data_dir: DataDir = None,
) -> None:
    """What each Alertmanager receiver was sent (firing and resolved)."""
    from obsstack.client import call, urls

    found = urls(_settings(data_dir).data_dir.expanduser())
    params = {"receiver": receiver} if receiver else {}
    rows = call("GET", f"{found['store']}/api/notifications", params=params)
    table = Table("time", "receiver", "status", "alert", "labels")
    for row in rows:
        labels = {k: v for k, v in row["labels"].items() if k != "alertname"}
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(row["received_at"])),
            row["receiver"],
            row["status"],
            row["alertname"],
            json.dumps(labels),
        )
    console.print(table)


@app.command()
def rules(
    out: Annotated[Path, typer.Option(help="Where to write the rules.")] = Path(
        "obsstack-rules.yml"
    ),
    scale: Annotated[int, typer.Option(help="Time compression (1 = production).")] = 1,
) -> None:
    """Write the recording and alerting rules (generated from obsstack/rules.py)."""
    from obsstack import rules as rule_defs

    path = rule_defs.write(out, scale)
    console.print(f"wrote {path} ({len(rule_defs.alert_names(scale))} alerts)")


@app.command()
def check() -> None:
    """promtool check rules + test rules, promtool check config, amtool check-config."""
    import tempfile

    from aiinfra_shared.services.base import find_binary
    from aiinfra_shared.services.prometheus import INSTALL_HINT, run_promtool
    from obsstack import routing
    from obsstack import rules as rule_defs
    from obsstack.stack import prometheus_config

    rules_dir = _rules_dir()
    results: list[tuple[str, bool, str]] = []
    shipped = rules_dir / "obsstack-rules.yml"
    fresh = rule_defs.render(1)
    results.append(
        (
            "shipped rules == generated",
            shipped.read_text() == fresh,
            "" if shipped.read_text() == fresh else "run `obsstack rules --out` again",
        )
    )
    done = run_promtool("check", "rules", str(shipped))
    results.append(("promtool check rules", done.ok, done.output.splitlines()[-1]))
    done = run_promtool("test", "rules", "obsstack-rules.test.yml", cwd=rules_dir / "tests")
    results.append(("promtool test rules", done.ok, done.output.splitlines()[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "prometheus.yml"
        targets = dict.fromkeys(("service", "node", "pushgateway", "alertmanager"), "127.0.0.1:1")
        cfg.write_text(
            json.dumps(prometheus_config(9090, targets, shipped, "http://127.0.0.1:9093", "15s"))
        )
        done = run_promtool("check", "config", str(cfg))
        results.append(("promtool check config", done.ok, done.output.splitlines()[-1]))
        am = Path(tmp) / "alertmanager.yml"
        am.write_text(json.dumps(routing.build("http://127.0.0.1:1/webhooks")))
        amtool = find_binary("amtool", INSTALL_HINT)
        ran = subprocess.run(
            [amtool, "check-config", str(am)], capture_output=True, text=True, check=False
        )
        results.append(
            (
                "amtool check-config",
                ran.returncode == 0,
                (ran.stdout + ran.stderr).strip().splitlines()[-1],
            )
        )
    table = Table("check", "ok", "detail")
    for name, ok, detail in results:
        table.add_row(name, "yes" if ok else "[red]NO[/red]", detail)
    console.print(table)
    if not all(ok for _, ok, _ in results):
        raise ObsstackError("some checks failed (table above)")


def _rules_dir() -> Path:
    """The rules folder: inside the wheel (obsstack/rules) or the source checkout."""
    for candidate in (PACKAGE_ROOT / "rules", PACKAGE_ROOT.parents[1] / "rules"):
        if (candidate / "obsstack-rules.yml").is_file():
            return candidate
    raise ObsstackError("the rules folder is missing from this install")


@app.command()
def dashboard(
    out: Annotated[Path, typer.Option(help="Grafana dashboard JSON.")] = Path(
        "obsstack-dashboard.json"
    ),
    png: Annotated[Path | None, typer.Option(help="Also render the panels to this PNG.")] = None,
    minutes: Annotated[float, typer.Option(help="Time range of the PNG.")] = 5.0,
    data_dir: DataDir = None,
) -> None:
    """Write the Grafana dashboard JSON (and a PNG of its panels from the running stack)."""
    import math

    from obsstack import dashboards

    if png is not None and not (math.isfinite(minutes) and 0 < minutes <= 24 * 60):
        raise ObsstackError(f"--minutes must be in (0, 1440], not {minutes}")
    path = dashboards.write_json(out)
    problems = dashboards.validate(json.loads(path.read_text()))
    if problems:
        raise ObsstackError("; ".join(problems))
    console.print(f"wrote {path}")
    if png is not None:
        from obsstack.client import urls

        found = urls(_settings(data_dir).data_dir.expanduser())
        console.print(f"wrote {dashboards.render_png(found['prometheus'], png, minutes=minutes)}")


@app.command("serve-store", hidden=True)
def serve_store(db: Annotated[Path, typer.Option()], port: Annotated[int, typer.Option()]) -> None:
    """Run the trace/log store and webhook inbox (the stack starts it)."""
    import uvicorn

    from obsstack.store import create_app

    uvicorn.run(create_app(db), host="127.0.0.1", port=port, log_level="warning")


@app.command("serve-service", hidden=True)
def serve_service(port: Annotated[int, typer.Option()]) -> None:
    """Run the demo ML service (the stack starts it)."""
    import uvicorn

    from obsstack.service import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


main = run_typer(app)
