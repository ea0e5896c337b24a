from __future__ import annotations

import torch
from ddptrain.data import CLASSES, make_shapes, train_val
from ddptrain.model import ShapesCNN


def test_same_seed_same_images_other_seed_other_images() -> None:
    a, b, c = (make_shapes(64, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.tensors[0], b.tensors[0])
    assert torch.equal(a.tensors[1], b.tensors[1])
    assert not torch.equal(a.tensors[0], c.tensors[0])


def test_labels_are_balanced_and_images_have_the_stated_shape() -> None:
    images, labels = make_shapes(100, seed=0, size=16).tensors
    assert images.shape == (100, 1, 16, 16)
    assert images.dtype == torch.float32
    assert torch.bincount(labels).tolist() == [100 // len(CLASSES)] * len(CLASSES)


def test_validation_set_is_not_the_training_set() -> None:
    train, val = train_val(64, 64, seed=0, size=16)
    assert not torch.equal(train.tensors[0], val.tensors[0])


def test_classes_are_learnable_from_the_pixels() -> None:
    # Noise-free means of each class differ: the task is not label noise.
    images, labels = make_shapes(500, seed=3, noise=0.0).tensors
    means = torch.stack([images[labels == k].mean(0) for k in range(len(CLASSES))])
    distances = torch.cdist(means.flatten(1), means.flatten(1))
    assert distances[~torch.eye(len(CLASSES), dtype=torch.bool)].min() > 0.5


def test_model_maps_images_to_class_logits_and_lists_its_shard_units() -> None:
    model = ShapesCNN(width=4, image_size=16)
    assert model(torch.zeros(3, 1, 16, 16)).shape == (3, len(CLASSES))
    assert len(model.shard_units()) == 4  # two convolutions, two linear layers
