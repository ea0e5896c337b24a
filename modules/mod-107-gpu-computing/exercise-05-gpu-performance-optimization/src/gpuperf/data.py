"""A dataset with a realistic decode cost: JPEG bytes decoded, resized and augmented per sample.

Real image pipelines spend their time in ``__getitem__``: decode a compressed file, resize,
augment, convert. This dataset does the same with Pillow, on images generated once from a seed
(no downloads): each is a 192x192 JPEG of a class-specific colour and pattern plus noise,
decoded and resized to ``image_size`` and randomly flipped and shifted.

The augmentation is seeded by the sample index (and the epoch), not by a global generator, so
every DataLoader configuration (0, 1 or more workers) yields exactly the same tensors: that is
what lets :mod:`gpuperf.optimize` check that a faster loader changed nothing but the speed.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

CLASSES = 10
STORED_SIZE = 192
MEAN, STD = 0.5, 0.25


def _encode(pixels: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class JpegImages(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """``samples`` JPEG images of ``CLASSES`` classes, decoded on access.

    Args:
        samples: Number of images.
        image_size: Side of the square tensors returned (the JPEGs are 192x192).
        seed: Seed of the images, the labels and the augmentation.
    """

    def __init__(self, samples: int, image_size: int = 32, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.image_size = image_size
        self.seed = seed
        self.epoch = 0
        self.labels = rng.integers(0, CLASSES, size=samples).astype(np.int64)
        style = np.random.default_rng(99)
        colors = style.random((CLASSES, 1, 1, 3))
        coarse = style.random((CLASSES, 8, 8, 3))
        patterns = 0.6 * colors + 0.4 * np.kron(
            coarse, np.ones((STORED_SIZE // 8, STORED_SIZE // 8, 1))
        )
        self.files: list[bytes] = []
        for label in self.labels:
            noise = rng.normal(0, 0.15, (STORED_SIZE, STORED_SIZE, 3))
            pixels = np.clip((0.7 * patterns[label] + 0.15 + noise) * 255, 0, 255)
            self.files.append(_encode(pixels.astype(np.uint8)))

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation for a new epoch (the same for every loader config)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = Image.open(io.BytesIO(self.files[index])).convert("RGB")
        pad = self.image_size // 8
        image = image.resize((self.image_size + 2 * pad,) * 2, Image.Resampling.BILINEAR)
        rng = np.random.default_rng((self.seed, self.epoch, index))
        dx, dy = rng.integers(0, 2 * pad + 1, size=2)
        image = image.crop((dx, dy, dx + self.image_size, dy + self.image_size))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        array = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
        x = torch.from_numpy(array.transpose(2, 0, 1).copy())
        return x, torch.tensor(self.labels[index])
