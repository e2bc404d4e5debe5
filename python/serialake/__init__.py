"""serialake: a chunked tensor dataset store with one in-process write
coordinator per dataset, in Deep Lake's habits.

    import numpy as np, serialake
    with serialake.open("photos.serialake", create=True) as ds:
        ds.create_tensor("image", dtype="uint8", htype="image")
        ds.create_tensor("label", dtype="int64", shape=())
        ds.append({"image": np.zeros((32, 32, 3), np.uint8), "label": 3})
        ds["label"].append(np.int64(4))   # queued; returns at once
        ds.flush()                        # committed and durable
        ds["image"][0].numpy()            # an ndarray

Appends release the GIL while they queue, so Python threads ingest in parallel.
Errors are serialake.Error subclasses carrying the library's `.code`.
"""

import atexit as _atexit

from . import _serialake
from ._serialake import Dataset, Snapshot, Tensor, lock, open, unlock
from .errors import (AlreadyExistsError, ClosedError, CorruptError, Error, InternalError,
                     InvalidArgumentError, IoError, LockedError, LockLostError, NotFoundError,
                     ReadOnlyError, SchemaError, TimeoutError, UnavailableError)

#: The dtype names create_tensor takes.
DTYPES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "float32", "float64", "bytes", "text", "json")

# Datasets still open at exit are committed and closed, before the interpreter
# (and the objects holding them) goes away.
_atexit.register(_serialake._shutdown)

__all__ = ["open", "lock", "unlock", "Dataset", "Snapshot", "Tensor", "DTYPES", "Error",
           "AlreadyExistsError", "ClosedError", "CorruptError", "InternalError",
           "InvalidArgumentError", "IoError", "LockedError", "LockLostError", "NotFoundError",
           "ReadOnlyError", "SchemaError", "TimeoutError", "UnavailableError"]
