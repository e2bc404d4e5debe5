# serialake.torch.Dataset under DataLoader workers (fork and spawn) and pickle.
import pickle

import numpy as np
import pytest

import serialake

torch = pytest.importorskip("torch", reason="python3-torch is not installed (scripts/deps --test)")
import serialake.torch as sltorch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

N = 200


@pytest.fixture
def written(path):
    with serialake.open(path, create=True) as ds:
        ds.create_tensor("image", dtype="uint8", shape=(8, 8))
        ds.create_tensor("label", dtype="int64", shape=())
        ds.create_tensor("caption", dtype="text")
        for i in range(N):
            ds.append({"image": np.full((8, 8), i % 251, np.uint8), "label": i, "caption": f"c{i}"})
    return path


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_read_every_sample_once(written, context):
    # Kills: a worker reading through its parent's engine (fails after fork),
    # an unpicklable dataset (spawn), samples skipped, doubled or mismatched.
    data = sltorch.Dataset(written, tensors=["image", "label"])
    loader = DataLoader(data, batch_size=16, num_workers=2, multiprocessing_context=context)
    seen = []
    for batch in loader:
        labels = batch["label"].tolist()
        assert batch["image"].shape[1:] == (8, 8)
        for img, i in zip(batch["image"], labels):
            assert (img == i % 251).all()
        seen += labels
    assert sorted(seen) == list(range(N))


def test_pickles_as_path_and_version(written):
    # Kills: a pickle carrying the open reader, a version that floats.
    data = sltorch.Dataset(written, tensors=["label", "caption"], version=None)
    with serialake.open(written) as ds:  # the dataset moves on after
        ds.append({"image": np.zeros((8, 8), np.uint8), "label": -1, "caption": "later"})
    blob = pickle.dumps(data)
    assert len(blob) < 1000
    copy = pickle.loads(blob)
    assert copy.version == data.version and len(copy) == N
    assert copy[N - 1]["caption"] == f"c{N - 1}"
    assert int(copy[-1]["label"]) == N - 1
    with pytest.raises(IndexError):
        copy[N]
