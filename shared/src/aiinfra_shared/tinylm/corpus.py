"""The text the tiny model learns: sentences about running ML infrastructure, and chats.

Generated from templates with a fixed seed, so every build sees the same bytes (and a model
built twice is the same model). Two kinds of lines:

- plain sentences ("The scheduler places the training job on a GPU node."), which a
  ``/v1/completions`` prompt continues;
- short chats in the model's chat format (``<|user|>question<|end|><|assistant|>answer<|end|>``),
  so ``/v1/chat/completions`` gets an answer in the same style.

Any other UTF-8 text works too (``llmserve build-model --corpus FILE``).
"""

from __future__ import annotations

import random

SUBJECTS = (
    "the scheduler",
    "the autoscaler",
    "the inference server",
    "the feature store",
    "the training job",
    "the model registry",
    "the load balancer",
    "the batch worker",
    "the data pipeline",
    "the monitoring agent",
    "the gateway",
    "the vector database",
)
VERBS = (
    "places",
    "scales",
    "serves",
    "caches",
    "retries",
    "streams",
    "checkpoints",
    "evicts",
    "routes",
    "watches",
    "compresses",
    "replicates",
)
OBJECTS = (
    "the request",
    "the model weights",
    "the GPU node",
    "the token stream",
    "the queue",
    "the embeddings",
    "the metrics",
    "the replica",
    "the batch",
    "the checkpoint",
    "the prompt",
    "the cache",
)
WHERE = (
    "on a GPU node",
    "before the deadline",
    "when the queue grows",
    "every minute",
    "behind the gateway",
    "across two regions",
    "after a failure",
    "during the rollout",
    "with low latency",
    "in the background",
)
FACTS = (
    ("What does the scheduler do?", "The scheduler places jobs on GPU nodes."),
    ("What does the autoscaler do?", "The autoscaler adds replicas when the queue grows."),
    ("What is continuous batching?", "New requests join the batch between decode steps."),
    ("Why stream tokens?", "The client sees the first token before the answer is done."),
    ("What is a KV cache?", "It keeps the keys and values of past tokens for the next step."),
    ("What is time to first token?", "It is the wait before the first token arrives."),
    ("Why return 429?", "The queue is full, so the client should retry later."),
    ("What does the gateway do?", "The gateway routes each request to a model replica."),
    ("Why checkpoint a training job?", "A restarted job resumes from the last checkpoint."),
    ("What does the model registry keep?", "It keeps versions of the model weights."),
)


def sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` template sentences, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - text templates, not secrets
    out = []
    for _ in range(count):
        subject, verb, obj = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)
        text = f"{subject} {verb} {obj} {rng.choice(WHERE)}."
        out.append(text[0].upper() + text[1:])
    return out


def chats(count: int, seed: int = 1) -> list[str]:
    """``count`` one-turn chats in the tiny model's chat format."""
    rng = random.Random(seed)  # noqa: S311 - text templates, not secrets
    return [
        f"<|user|>{question}<|end|><|assistant|>{answer}<|end|>"
        for question, answer in (rng.choice(FACTS) for _ in range(count))
    ]


def corpus_text(sentence_count: int = 3000, chat_count: int = 600) -> str:
    """The default training text: sentences and chats, one per line, interleaved."""
    lines = sentences(sentence_count) + chats(chat_count)
    random.Random(2).shuffle(lines)  # noqa: S311 - text templates, not secrets
    return "\n".join(lines) + "\n"
