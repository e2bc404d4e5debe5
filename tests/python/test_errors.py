# Errors reach Python as serialake.Error subclasses with the library's code.
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import serialake


def test_a_maintenance_lock_taken_by_the_cli_refuses_writers(path, cli):
    # Kills: the lock not checked on open, the wrong errc mapped.
    serialake.open(path, create=True).close()
    subprocess.run([cli, "lock", path], check=True, capture_output=True, timeout=60)
    with pytest.raises(serialake.LockedError) as e:
        serialake.open(path)
    assert e.value.code == "locked" and isinstance(e.value, serialake.Error)
    assert "maintenance" in e.value.message  # names the holder
    serialake.open(path, read_only=True).close()  # readers never take the lock
    serialake.unlock(path)
    serialake.open(path).close()


def test_a_writer_in_another_process_holds_the_lock(path):
    serialake.open(path, create=True).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, serialake
        ds = serialake.open({path!r})
        print("open", flush=True)
        sys.stdin.readline()
        ds.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(serialake.LockedError) as e:
            serialake.open(path)
        assert "writer pid %d" % holder.pid in str(e.value)
        # Python's lock helpers refuse a live writer's lock too.
        with pytest.raises(serialake.LockedError):
            serialake.lock(path)
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    serialake.open(path, lock_timeout=5).close()


def test_wrong_dtype_and_shape_raise_at_append(ds):
    # Kills: an array of another dtype reinterpreted, a fixed shape unchecked.
    t = ds.create_tensor("img", dtype="uint8", shape=(2, 2))
    with pytest.raises(serialake.SchemaError) as e:
        t.append(np.zeros((2, 2), np.float32))
    assert e.value.code == "schema_mismatch" and "img" in e.value.message
    with pytest.raises(serialake.SchemaError) as e:
        t.append(np.zeros((3, 2), np.uint8))
    assert "[3, 2]" in e.value.message
    with pytest.raises(serialake.SchemaError):
        t.append(np.zeros((2, 2), ">u2"))
    ds.create_tensor("caption", dtype="text")
    with pytest.raises(serialake.SchemaError):
        ds["caption"].append(b"bytes, not str")
    ds.create_tensor("meta", dtype="json")
    with pytest.raises(serialake.SchemaError):
        ds["meta"].append({"x": float("nan")})
    ds.flush()
    assert len(t) == 0 and len(ds["caption"]) == 0


@pytest.mark.parametrize("durable", [False, True])
def test_an_error_found_by_the_writer_is_raised_by_the_next_flush(path, durable):
    # Kills: a failed append nobody waited for going unreported (or reported
    # after the flush returned). A bool array holding a 2 passes the
    # conversion; only the writer's check refuses it.
    ds = serialake.open(path, create=True, durable=durable)
    t = ds.create_tensor("flag", dtype="bool")
    t.append(np.array([2], np.uint8).view(np.bool_))
    raised = []
    try:  # raised here if the writer refused the first already (then this one is not queued)
        t.append(np.array([True]))
    except serialake.SchemaError as e:
        raised.append(("append", e))
    try:  # else the flush raises it: it returns after the writer checked everything before it
        ds.flush()
    except serialake.SchemaError as e:
        raised.append(("flush", e))
    assert len(raised) == 1 and "flag" in raised[0][1].message
    ds.flush()  # reported once
    assert len(t) == (1 if raised[0][0] == "flush" else 0)
    ds.close()


def test_codes_of_other_errors(ds, path):
    with pytest.raises(serialake.NotFoundError):
        ds["missing"]
    with pytest.raises(AttributeError):
        ds.missing
    with pytest.raises(serialake.InvalidArgumentError):
        ds.create_tensor("bad/name", dtype="uint8")
    with pytest.raises(serialake.InvalidArgumentError):
        ds.create_tensor("x", dtype="complex64")
    with pytest.raises(serialake.NotFoundError):
        serialake.open(path + "-nowhere")
    ds.close()
    with pytest.raises(serialake.ClosedError) as e:
        ds.flush()
    assert e.value.code == "closed"


def test_bad_input_raises_and_never_crashes(ds, path):
    # Kills: a crash (or a silent store) on malformed calls from Python.
    t = ds.create_tensor("v", dtype="int32")
    ds.create_tensor("b", dtype="bytes")
    for bad in (object(), "text", {"a": 1}, [[1, 2], [3]]):
        with pytest.raises((serialake.SchemaError, TypeError, ValueError)):
            t.append(bad)
    with pytest.raises(serialake.SchemaError):
        ds["b"].append(3)
    with pytest.raises(TypeError):
        ds.extend({"v": 5})
    with pytest.raises(serialake.NotFoundError):
        ds.append({"nope": 1})
    t.append(np.arange(3, dtype=np.int32))
    with pytest.raises((TypeError, RuntimeError)):
        t[1.5]
    with pytest.raises(serialake.InvalidArgumentError):
        t[0:3:2]
    with pytest.raises(serialake.InvalidArgumentError):
        t[0][0]
    with pytest.raises(serialake.InvalidArgumentError):
        serialake.open(path, lock="nope://127.0.0.1:1")
    with pytest.raises(serialake.InvalidArgumentError):
        serialake.open(path, lock_timeout=-1)
    ds.flush()
    assert len(t) == 1
