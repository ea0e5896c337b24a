"""Train-and-save, shared by ``mlapi train`` and the demo."""

from __future__ import annotations

from pathlib import Path

from mlapi import model as model_lib
from mlapi.config import MlapiSettings
from mlapi.data import load_dataset, split


def train_and_save(
    settings: MlapiSettings, data_path: Path | None = None
) -> model_lib.TrainedModel:
    """Load the dataset, split it, train, save to ``settings.model_dir``.

    Returns:
        The trained model (already saved).
    """
    train_set, test_set = split(load_dataset(data_path), seed=settings.seed)
    trained = model_lib.train(
        train_set,
        test_set,
        epochs=settings.epochs,
        hidden=settings.hidden,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
    )
    model_lib.save(trained, settings.model_dir)
    return trained
