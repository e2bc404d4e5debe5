# Round trips through the binding: every dtype, fixed and ragged shapes, blobs,
# rows, extend's all-or-nothing, the log and snapshots.
import numpy as np
import pytest

import serialake

NUMERIC = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
           "float32", "float64"]


def sample_of(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is not None:  # the extremes included: a truncating copy would lose them
        a = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        if a.size >= 2:
            a.flat[0], a.flat[1] = info.min, info.max
        return a
    return rng.standard_normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", NUMERIC)
def test_every_dtype_and_shape_round_trips(ds, dtype):
    # Kills: a wrong dtype mapping, a dropped dimension, a byte-order or stride
    # mistake in the copy, reading the wrong sample.
    ds.create_tensor("x", dtype=dtype)
    shapes = [(), (1,), (7,), (3, 4), (2, 3, 4), (0,), (2, 0, 3), (1, 1, 1, 1, 5)]
    written = [sample_of(dtype, s, i) for i, s in enumerate(shapes)]
    for a in written:
        ds["x"].append(a)
    # A non-contiguous view goes in as its logical contents.
    strided = sample_of(dtype, (6, 8), 99)[::2, 1::3]
    ds["x"].append(strided)
    written.append(strided)
    ds.flush()
    assert len(ds["x"]) == len(written)
    for i, a in enumerate(written):
        got = ds["x"][i].numpy()
        assert got.dtype == np.dtype(dtype) and got.shape == a.shape
        assert np.array_equal(got, a)
    ragged = ds["x"][1:4].numpy()  # ragged: a list of arrays
    assert [r.shape for r in ragged] == [(1,), (7,), (3, 4)]


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float64", "bool"])
def test_fixed_shape_ranges_read_into_one_array(ds, dtype):
    # Kills: a range read at the wrong offset or with the wrong sample size.
    t = ds.create_tensor("img", dtype=dtype, shape=(4, 5))
    assert t.sample_shape == (4, 5)
    data = [sample_of(dtype, (4, 5), i) for i in range(50)]
    t.extend(data)
    assert len(t) == 50
    block = ds["img"][10:37].numpy()
    assert block.shape == (27, 4, 5) and block.dtype == np.dtype(dtype)
    assert np.array_equal(block, np.stack(data[10:37]))
    assert np.array_equal(ds["img"][-1].numpy(), data[-1])
    assert np.array_equal(np.asarray(ds["img"]), np.stack(data))
    assert ds["img"][5:5].numpy().shape == (0, 4, 5)


def test_python_scalars_and_lists_are_cast_to_the_tensor_dtype(ds):
    ds.create_tensor("label", dtype="int16", htype="class_label", shape=())
    ds.create_tensor("vec", dtype=np.float32)
    ds.append({"label": 3, "vec": [1.5, 2.5]})
    ds["label"].append(np.int16(-7))
    assert ds["label"].numpy().tolist() == [3, -7]
    assert ds["vec"][0].numpy().dtype == np.float32
    assert ds["vec"][0].numpy().tolist() == [1.5, 2.5]


def test_blobs_round_trip(ds):
    # Kills: text/json/bytes confused, non-ASCII text mangled, JSON re-encoded wrong.
    ds.create_tensor("raw", dtype="bytes")
    ds.create_tensor("caption", htype="text")
    ds.create_tensor("meta", htype="json")
    rows = [(b"\x00\xffabc", "héllo wörld ✓", {"a": [1, 2.5, None], "b": {"c": "ü"}}),
            (b"", "", [1, "two", True]),
            (bytearray(b"xyz"), "x" * 10000, {})]
    for raw, cap, meta in rows:
        ds.append({"raw": raw, "caption": cap, "meta": meta})
    assert ds["raw"][0].numpy() == b"\x00\xffabc"
    assert ds["raw"][2].numpy() == b"xyz"
    assert [c.numpy() for c in ds["caption"]] == [r[1] for r in rows]
    assert ds["meta"][:].numpy() == [r[2] for r in rows]
    assert ds.caption[1].numpy() == ""  # attribute access, as in Deep Lake
    assert ds["raw"].dtype == "bytes" and ds["meta"].htype == "json"


def test_extend_is_all_or_nothing(ds):
    # Kills: a partial extend (rows before the bad one applied).
    ds.create_tensor("a", dtype="int32", shape=(2,))
    ds.create_tensor("b", htype="text")
    ds.extend({"a": [np.array([1, 2], np.int32), np.array([3, 4], np.int32)], "b": ["x", "y"]})
    with pytest.raises(serialake.SchemaError):
        ds.extend({"a": [np.array([5, 6], np.int32), np.array([7, 8, 9], np.int32)], "b": ["z", "w"]})
    with pytest.raises(serialake.InvalidArgumentError):
        ds.extend({"a": [np.array([5, 6], np.int32)], "b": ["z", "w"]})
    with pytest.raises(serialake.SchemaError):  # the last sample is no str: none lands
        ds["b"].extend(["fine", "also fine", 3])
    assert len(ds["a"]) == 2 and len(ds["b"]) == 2
    assert ds["b"].numpy() == ["x", "y"]


def test_commit_log_snapshot_and_reopen(path):
    with serialake.open(path, create=True, durable=True) as ds:
        ds.create_tensor("v", dtype="float32", shape=(3,))
        ds["v"].append(np.ones(3, np.float32))
        c = ds.commit("first")
        assert c["message"] == "first" and c["version"] >= 1
        snap = ds.snapshot()
        ds["v"].append(np.full(3, 2, np.float32))
        bound = ds["v"][0]
        ds.flush()
        # A snapshot keeps its version however the dataset moves on.
        assert len(snap["v"]) == 1 and len(ds["v"]) == 2 and snap.version < ds.version
        assert snap.verify() == []
        assert [e["message"] for e in ds.log()] == ["first"]
        assert np.array_equal(bound.numpy(), np.ones(3, np.float32))
    with serialake.open(path, read_only=True) as ro:
        assert ro.read_only and len(ro) == 2
        assert np.array_equal(ro["v"][1].numpy(), np.full(3, 2, np.float32))
        with pytest.raises(serialake.ReadOnlyError):
            ro["v"].append(np.ones(3, np.float32))
    old = serialake.open(path, version=c["version"])
    assert len(old["v"]) == 1


def test_reads_see_the_writers_own_appends(ds):
    # Kills: reads from a stale cached snapshot after appends (Deep Lake's
    # len() counts what was just appended).
    ds.create_tensor("n", dtype="int64", shape=())
    for i in range(5):
        ds["n"].append(i)
        assert len(ds["n"]) == i + 1
        assert ds["n"][i].numpy() == i
    with pytest.raises(IndexError):
        ds["n"][5]
    assert [int(s.numpy()) for s in ds["n"]] == list(range(5))


def test_refresh_picks_up_another_writer(path):
    with serialake.open(path, create=True) as w:
        w.create_tensor("t", dtype="uint8")
        w.flush()
        r = serialake.open(path, read_only=True)
        assert len(r) == 0
        w["t"].append(np.zeros(4, np.uint8))
        w.flush()
        assert len(r["t"]) == 0
        assert r.refresh()
        assert len(r["t"]) == 1
