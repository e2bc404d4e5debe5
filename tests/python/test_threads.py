# 16 Python threads appending at once: every sample lands exactly once.
import threading

import numpy as np

import serialake

THREADS = 16
PER_THREAD = 500


def test_sixteen_threads_append_exactly_once(path):
    # Kills: a lost or doubled append under concurrency (the GIL released
    # while queuing), a sample torn between threads (each carries its own id
    # in every element), an error swallowed (flush raises it).
    with serialake.open(path, create=True) as ds:
        t = ds.create_tensor("x", dtype="uint32", shape=(1024,))  # 4 KiB samples
        start = threading.Barrier(THREADS)

        def ingest(k):
            start.wait(timeout=30)
            for i in range(PER_THREAD):
                t.append(np.full(1024, k * PER_THREAD + i, np.uint32))

        threads = [threading.Thread(target=ingest, args=(k,)) for k in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
            assert not th.is_alive()
        ds.flush()
        got = ds["x"].numpy()
    assert got.shape == (THREADS * PER_THREAD, 1024)
    assert (got == got[:, :1]).all()  # no sample mixes two appends
    assert sorted(got[:, 0].tolist()) == list(range(THREADS * PER_THREAD))
    # Each thread's appends keep their order (one thread's queue is FIFO).
    for k in range(THREADS):
        mine = got[(got[:, 0] // PER_THREAD) == k, 0]
        assert (np.diff(mine.astype(np.int64)) > 0).all()
