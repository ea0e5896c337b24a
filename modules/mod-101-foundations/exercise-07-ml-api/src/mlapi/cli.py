"""The ``mlapi`` command: train, serve, predict, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from mlapi.config import MlapiSettings
from mlapi.errors import MlapiError

app = package_app("101-07: serve a torch Iris classifier over FastAPI.")

ModelDir = Annotated[
    Path | None, typer.Option("--model-dir", help="Model folder (default: $MLAPI_MODEL_DIR).")
]


def _settings(model_dir: Path | None, **overrides: object) -> MlapiSettings:
    return settings_from(MlapiSettings, MlapiError, model_dir=model_dir, **overrides)


@app.command()
def train(
    model_dir: ModelDir = None,
    data: Annotated[
        Path | None, typer.Option(help="CSV to train on (default: shipped Iris).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """Train the classifier and save it (atomically) to the model folder."""
    from mlapi.training import train_and_save

    settings = _settings(model_dir, epochs=epochs, seed=seed)
    with console.status("Training ..."):
        trained = train_and_save(settings, data)
    meta = trained.metadata
    table = Table(title=f"model {meta.version} → {settings.model_dir}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (
        ("train accuracy", meta.train_accuracy),
        ("test accuracy", meta.test_accuracy),
        ("epochs", meta.epochs),
        ("seed", meta.seed),
    ):
        table.add_row(name, str(value))
    console.print(table)


@app.command()
def rollback(model_dir: ModelDir = None) -> None:
    """Put back the model the last `mlapi train` replaced (then POST /v1/model/reload)."""
    from mlapi import model as model_lib

    settings = _settings(model_dir)
    was, now = model_lib.rollback(settings.model_dir)
    console.print(f"rolled back {settings.model_dir}: {was} -> {now}")


@app.command()
def serve(
    model_dir: ModelDir = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    train_if_missing: Annotated[
        bool, typer.Option("--train-if-missing", help="Train a model first if there is none.")
    ] = False,
) -> None:
    """Serve the API with uvicorn (Ctrl+C stops it)."""
    import uvicorn

    from mlapi import model as model_lib
    from mlapi.app import create_app
    from mlapi.errors import ModelNotFoundError
    from mlapi.training import train_and_save

    settings = _settings(model_dir, host=host, port=port)
    if train_if_missing:
        try:
            model_lib.load(settings.model_dir)
        except ModelNotFoundError:
            console.print(f"No model in {settings.model_dir}: training one first")
            train_and_save(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def predict(
    sepal_length: float,
    sepal_width: float,
    petal_length: float,
    petal_width: float,
    model_dir: ModelDir = None,
) -> None:
    """Predict one flower locally, without a server (measurements in cm)."""
    from mlapi import model as model_lib
    from mlapi.schemas import Flower

    try:
        flower = Flower(
            sepal_length_cm=sepal_length,
            sepal_width_cm=sepal_width,
            petal_length_cm=petal_length,
            petal_width_cm=petal_width,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None
    import numpy as np

    predictor = model_lib.Predictor(model_lib.load(_settings(model_dir).model_dir))
    version, probs = predictor.predict_proba(np.asarray([flower.as_row()], dtype=np.float32))
    best = int(probs[0].argmax())
    classes = predictor.model.metadata.classes
    console.print(f"[bold]{classes[best]}[/] (p={probs[0][best]:.3f}, model {version})")


@app.command()
def demo(
    model_dir: ModelDir = None,
    requests: Annotated[int, typer.Option(help="Requests per latency run.", min=10)] = 200,
) -> None:
    """Train if needed, start the server, call every route, print results and latencies."""
    from mlapi.demo import run_demo

    run_demo(_settings(model_dir), requests=requests, console=console)


main = run_typer(app)
