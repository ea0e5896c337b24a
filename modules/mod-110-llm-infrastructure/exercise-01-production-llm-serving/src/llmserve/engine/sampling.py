"""Picking the next token from a row of logits: greedy, temperature and nucleus (top-p)."""

from __future__ import annotations

import torch

from llmserve.engine import SamplingParams


def make_generator(params: SamplingParams) -> torch.Generator | None:
    """A private random stream for one request when it asks for a seed (repeatable output)."""
    if params.seed is None:
        return None
    return torch.Generator().manual_seed(params.seed)


def sample(
    logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None = None
) -> int:
    """One token id from a 1-D tensor of logits.

    ``temperature == 0`` takes the arg-max. Otherwise logits are divided by the temperature,
    and with ``top_p < 1`` only the smallest set of tokens whose probabilities add up to
    ``top_p`` stays in the draw (Holtzman et al., 2020).

    The largest logit is subtracted before dividing, so a tiny temperature (1e-38 is a valid
    JSON number) gives ``-inf`` for the others and a one-hot draw, never ``inf - inf = NaN``.
    """
    if params.temperature <= 0:
        return int(torch.argmax(logits))
    scaled = (logits.float() - logits.float().max()) / params.temperature
    probs = torch.softmax(scaled, dim=-1)
    if params.top_p < 1.0:
        ordered, order = torch.sort(probs, descending=True)
        outside = torch.cumsum(ordered, dim=-1) - ordered > params.top_p  # keep the first past p
        ordered[outside] = 0.0
        probs = torch.zeros_like(probs).scatter_(-1, order, ordered)
    return int(torch.multinomial(probs, 1, generator=generator))
