"""Figures logged as run artifacts: confusion matrix and feature importance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    # The object API (no pyplot): no global state, no GUI backend, safe in threads.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def confusion_matrix_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str) -> Figure:
    """A 2x2 confusion matrix with counts in the cells."""
    matrix = np.zeros((2, 2), dtype=int)
    for t, p in zip(y_true.astype(int), y_pred.astype(int), strict=True):
        matrix[t, p] += 1
    fig = _figure(4, 3.6)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=14)
    ax.set_xticks([0, 1], labels=["0", "1"])
    ax.set_yticks([0, 1], labels=["0", "1"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def importance_figure(importances: dict[str, float], title: str, top: int = 15) -> Figure:
    """Horizontal bars of the ``top`` most important features."""
    ranked = sorted(importances.items(), key=lambda kv: kv[1], reverse=True)[:top]
    names = [k for k, _ in ranked][::-1]
    values = [v for _, v in ranked][::-1]
    fig = _figure(6, 0.3 * len(names) + 1.2)
    ax = fig.add_subplot()
    ax.barh(names, values, color="#4c72b0")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig
