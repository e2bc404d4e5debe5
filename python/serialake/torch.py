"""serialake.torch.Dataset: a map-style PyTorch dataset over one committed
version of a serialake dataset.

    from torch.utils.data import DataLoader
    ds = serialake.torch.Dataset("photos.serialake", tensors=["image", "label"])
    for batch in DataLoader(ds, batch_size=64, num_workers=2):
        ...

It pickles as (path, version, tensors, transform): every DataLoader worker, forked
or spawned, opens its own read-only reader of that same version on first use, so
all workers read the same bytes however the dataset moves on.
"""

import os

import torch.utils.data

from . import open as _open


class Dataset(torch.utils.data.Dataset):
    """Sample i is {tensor: value} (ndarrays for numeric tensors), passed
    through `transform` if given. `version`: the version to read (the latest
    committed one by default, fixed when the Dataset is made)."""

    def __init__(self, path, tensors=None, transform=None, version=None):
        self.path = os.fspath(path)
        self.transform = transform
        reader = _open(self.path, read_only=True, version=version)
        snap = reader.snapshot()
        self.version = snap.version
        self.tensors = list(tensors) if tensors is not None else list(snap.tensors)
        self._length = min((len(snap[t]) for t in self.tensors), default=0)
        self._reader = (os.getpid(), reader, snap)

    def _snapshot(self):
        pid, _, snap = self._reader or (None, None, None)
        if pid != os.getpid():  # a worker: unpickled (spawn) or forked
            reader = _open(self.path, read_only=True, version=self.version)
            snap = reader.snapshot()
            self._reader = (os.getpid(), reader, snap)
        return snap

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if not -self._length <= index < self._length:
            raise IndexError(f"index {index} out of range ({self._length} samples)")
        index %= self._length
        snap = self._snapshot()
        item = {t: snap[t][index].numpy() for t in self.tensors}
        return self.transform(item) if self.transform is not None else item

    def __getstate__(self):
        return {"path": self.path, "version": self.version, "tensors": self.tensors,
                "transform": self.transform, "_length": self._length}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reader = None
