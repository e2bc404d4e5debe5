"""The Python figures of docs/benchmarks.md, from one run:

  ingest: 16 Python threads appending 4 KiB NumPy arrays (buffered, one flush at
          the end); compare with `serialake-bench --store serialake --threads 16
          --size 4096` run right before or after on the same machine.
  read:   a DataLoader with 2 workers reading N samples of 4 KiB through
          serialake.torch.Dataset, against the same DataLoader over a NumPy memmap
          of the same bytes in one .npy.

  PYTHONPATH=build/python /usr/bin/python3 python/bench/bench.py [--samples N] [--reps R] [--dir D]
"""

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time

import numpy as np

import serialake

SIZE = 4096


def ingest(path, total, threads):
    with serialake.open(path, create=True) as ds:
        t = ds.create_tensor("x", dtype="uint8", shape=(SIZE,))
        per = total // threads
        start = threading.Barrier(threads + 1)

        def run(k):
            a = np.full(SIZE, k, np.uint8)
            start.wait()
            for _ in range(per):
                t.append(a)

        ths = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
        for th in ths:
            th.start()
        start.wait()
        t0 = time.perf_counter()
        for th in ths:
            th.join()
        ds.flush()
        return per * threads / (time.perf_counter() - t0)


def loader_rate(dataset, samples):
    import torch.utils.data
    loader = torch.utils.data.DataLoader(dataset, batch_size=256, num_workers=2,
                                         multiprocessing_context="fork")
    t0 = time.perf_counter()
    n = sum(len(b) if isinstance(b, torch.Tensor) else len(b["x"]) for b in loader)
    assert n == samples
    return samples / (time.perf_counter() - t0)


class Memmap:
    """The peer: sample i of one .npy, mapped."""

    def __init__(self, path):
        self.path = path
        self.a = None

    def __len__(self):
        return np.load(self.path, mmap_mode="r").shape[0]

    def __getitem__(self, i):
        if self.a is None:
            self.a = np.load(self.path, mmap_mode="r")
        return np.array(self.a[i])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--ingest", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    work = tempfile.mkdtemp(dir=a.dir, prefix="serialake-pybench-")
    try:
        rates = []
        for r in range(a.reps):
            p = os.path.join(work, f"ingest{r}")
            rates.append(ingest(p, a.ingest, 16))
            shutil.rmtree(p)
        print(f"ingest 16 threads x 4 KiB: median {statistics.median(rates):,.0f} samples/s "
              f"({statistics.median(rates) * SIZE / 2**20:,.0f} MiB/s), runs {[round(x) for x in rates]}")

        import serialake.torch
        p = os.path.join(work, "read")
        with serialake.open(p, create=True) as ds:
            t = ds.create_tensor("x", dtype="uint8", shape=(SIZE,))
            data = np.random.default_rng(1).integers(0, 256, (a.samples, SIZE), dtype=np.uint8)
            for i in range(0, a.samples, 1000):
                t.extend(data[i:i + 1000])
        npy = os.path.join(work, "same.npy")
        np.save(npy, data)
        del data
        ours = [loader_rate(serialake.torch.Dataset(p, tensors=["x"]), a.samples) for _ in range(a.reps)]
        peer = [loader_rate(Memmap(npy), a.samples) for _ in range(a.reps)]
        mo, mp = statistics.median(ours), statistics.median(peer)
        print(f"DataLoader 2 workers, {a.samples} x 4 KiB: serialake.torch {mo:,.0f} samples/s, "
              f"NumPy memmap {mp:,.0f} samples/s, ratio {mo / mp:.2f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
