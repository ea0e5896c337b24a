from __future__ import annotations

import torch
from trainplat.workload import make_data, mlp, split


def test_same_seed_same_rows() -> None:
    a = make_data(50, features=4, classes=3, noise=1.0, seed=1)
    b = make_data(50, features=4, classes=3, noise=1.0, seed=1)
    c = make_data(50, features=4, classes=3, noise=1.0, seed=2)
    assert torch.equal(a.tensors[0], b.tensors[0])
    assert not torch.equal(a.tensors[0], c.tensors[0])


def test_split_sizes_and_label_range() -> None:
    train, val = split(100, 40, features=8, classes=5, noise=1.0, seed=0)
    assert train.tensors[0].shape == (100, 8)
    assert val.tensors[0].shape == (40, 8)
    assert int(train.tensors[1].max()) < 5


def test_mlp_depth_and_output() -> None:
    model = mlp(8, 3, hidden=16, layers=3)
    assert sum(isinstance(m, torch.nn.Linear) for m in model) == 4
    assert model(torch.zeros(2, 8)).shape == (2, 3)
