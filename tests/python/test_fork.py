# A program that forks after opening: the child's inherited dataset fails at
# once with ClosedError, snapshots taken before the fork stay readable, and a
# new open in the child works (the module makes the child an engine of its own).
import os

import numpy as np

import serialake


def run_in_child(fn):
    """Runs fn() in a forked child; returns its exit code (0: fn passed)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException as e:  # reported to the parent through the exit code
            print("child failed:", repr(e), flush=True)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_fork_after_open(path):
    # Kills: an inherited handle that hangs or writes from the child, a
    # snapshot unreadable after fork, a child unable to open anew.
    ds = serialake.open(path, create=True)
    ds.create_tensor("x", dtype="int32", shape=(3,))
    ds["x"].append(np.arange(3, dtype=np.int32))
    snap = ds.snapshot()

    def child():
        try:
            ds["x"].append(np.arange(3, dtype=np.int32))
            ds.flush()
            raise AssertionError("the inherited dataset still works")
        except serialake.ClosedError as e:
            assert "forked" in e.message
        assert np.array_equal(snap["x"][0].numpy(), np.arange(3, dtype=np.int32))
        ro = serialake.open(path, read_only=True)
        assert len(ro["x"]) == 1

    assert run_in_child(child) == 0
    ds["x"].append(np.arange(3, dtype=np.int32))  # the parent is unaffected
    ds.close()
    assert len(serialake.open(path, read_only=True)["x"]) == 2
