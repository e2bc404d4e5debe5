# Vector search from Python (Dataset.search, Snapshot.search, create_index)
# against NumPy's brute force on the same data.
import threading

import numpy as np
import pytest

import serialake

N, D = 1500, 24


def clustered(n, d, seed, centroids=40):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centroids, d)) / np.sqrt(d)
    x = c[rng.integers(0, centroids, n)] + 0.3 * rng.standard_normal((n, d)) / np.sqrt(d)
    return x.astype(np.float32)


def brute_force(x, q, metric):
    """Every row's score for each query, in float64 (lower is better for l2)."""
    x, q = x.astype(np.float64), q.astype(np.float64)
    if metric == "ip":
        return q @ x.T
    if metric == "cos":
        return (q @ x.T) / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(x, axis=1)[None, :]
    return ((q[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)


def top_k(scores, k, metric):
    order = np.argsort(scores if metric == "l2" else -scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.fixture
def emb(ds):
    x = clustered(N, D, 1)
    ds.create_tensor("emb", dtype="float32", htype="embedding", shape=(D,))
    ds.create_tensor("label", dtype="int64", shape=())
    ds.extend({"emb": list(x), "label": list(np.arange(N) % 7)})
    ds.flush()
    return ds, x


@pytest.mark.parametrize("metric", ["cos", "l2", "ip"])
def test_top_k_equals_numpy_brute_force(emb, metric):
    # Kills: a wrong score formula, a wrong row index, results not best-first,
    # a batch whose queries get each other's results.
    ds, x = emb
    q = clustered(9, D, 2)
    idx, score = ds.search("emb", q, k=10, metric=metric, exact=True)
    assert idx.dtype == np.int64 and score.dtype == np.float32
    assert idx.shape == (9, 10) and score.shape == (9, 10)
    want_idx, want_score = top_k(brute_force(x, q, metric), 10, metric)
    for i in range(9):
        assert set(idx[i]) == set(want_idx[i])
    np.testing.assert_allclose(score, want_score, atol=1e-5, rtol=1e-5)
    assert (np.diff(score, axis=1) >= 0).all() if metric == "l2" else (np.diff(score, axis=1) <= 0).all()
    one_idx, one_score = ds.search("emb", q[3], k=10, metric=metric, exact=True)
    assert one_idx.shape == (10,)
    np.testing.assert_array_equal(one_idx, idx[3])


def test_filters_and_a_snapshot_see_only_their_rows(emb):
    # Kills: a filter ignored or applied to the wrong rows, and a snapshot that
    # sees rows appended after it was taken.
    ds, x = emb
    q = clustered(4, D, 3)
    s = brute_force(x, q, "ip")
    keep = np.zeros(N, dtype=bool)
    keep[100:900] = True
    keep &= np.isin(np.arange(N) % 7, [2, 5])
    s[:, ~keep] = -np.inf
    want_idx, _ = top_k(s, 5, "ip")
    idx, _ = ds.search("emb", q, k=5, metric="ip", rows=(100, 900), where={"label": [2, 5]})
    for i in range(4):
        assert set(idx[i]) == set(want_idx[i])
    snap = ds.snapshot()
    ds.extend({"emb": [q[0] * 100], "label": [0]})  # the best match for q[0] under ip, after the snapshot
    ds.flush()
    assert snap.search("emb", q[0], k=1, metric="ip")[0][0] != N
    assert ds.search("emb", q[0], k=1, metric="ip")[0][0] == N


def test_fewer_rows_than_k_gives_fewer_columns(emb):
    # Kills: padding to k with made-up rows, or a row range ignored.
    ds, _ = emb
    idx, score = ds.search("emb", np.ones(D), k=50, rows=(0, 3))
    assert idx.shape == (3,) and sorted(idx) == [0, 1, 2]


def test_an_index_answers_like_the_exact_search(emb):
    # Kills: create_index not building a usable index (recall far below), and
    # index scores that differ from the exact ones.
    ds, x = emb
    info = ds.create_index("emb", metric="l2")
    assert info["rows"] == N and info["metric"] == "l2"
    q = clustered(20, D, 4)
    ann_idx, ann_score = ds.search("emb", q, k=10, metric="l2")
    ex_idx, ex_score = ds.search("emb", q, k=10, metric="l2", exact=True)
    found = sum(len(set(a) & set(e)) for a, e in zip(ann_idx, ex_idx))
    assert found / ex_idx.size >= 0.9
    ds.extend({"emb": [x[0]], "label": [0]})
    ds.flush()
    assert ds.update_index("emb")["rows"] == N + 1


def test_bad_queries_raise_the_library_errors(emb):
    # Kills: a bad query crashing or searching anyway, and errors that lose
    # their code on the way to Python.
    ds, _ = emb
    with pytest.raises(serialake.InvalidArgumentError):
        ds.search("emb", np.ones(D + 1))  # wrong dimension
    with pytest.raises(serialake.InvalidArgumentError):
        ds.search("emb", np.full(D, np.nan))
    with pytest.raises(serialake.InvalidArgumentError):
        ds.search("emb", np.ones(D), k=0)
    with pytest.raises(serialake.InvalidArgumentError):
        ds.search("emb", np.ones(D), metric="hamming")
    with pytest.raises(serialake.SchemaError):
        ds.search("label", np.ones(1))  # not an embedding
    with pytest.raises(serialake.NotFoundError):
        ds.search("nope", np.ones(D))
    with pytest.raises(serialake.NotFoundError):
        ds.update_index("emb")  # it has no index


def test_threads_search_while_another_appends(emb):
    # Kills: a search holding state another thread's search or append changes
    # (answers would differ from the single-threaded ones, or raise).
    ds, x = emb
    q = clustered(3, D, 5)
    snap = ds.snapshot()
    want = snap.search("emb", q, k=10, exact=True)[0]
    errors, stop = [], threading.Event()

    def searcher():
        try:
            for _ in range(20):
                got = snap.search("emb", q, k=10, exact=True)[0]
                np.testing.assert_array_equal(got, want)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def writer():
        i = 0
        while not stop.is_set():
            ds["emb"].append(x[i % N])
            ds["label"].append(np.int64(0))
            i += 1

    w = threading.Thread(target=writer)
    w.start()
    ts = [threading.Thread(target=searcher) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    stop.set()
    w.join(60)
    assert not errors
