"""serialake's exceptions: one class per error code, all under serialake.Error.

The C++ library throws serialake::error(errc, message); the extension raises the
class registered here for that errc, with the same message and .code.
"""

import builtins


class Error(Exception):
    """Any serialake error. `.code` is the library's stable code name
    ("locked", "schema_mismatch", ...), `.message` what exactly was wrong."""

    code = "internal"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return f"{self.code}: {self.message}"

    def __reduce__(self):  # picklable across DataLoader workers
        return (type(self), (self.message, self.code))


class NotFoundError(Error):
    """No such dataset, tensor, index or version."""
    code = "not_found"


class AlreadyExistsError(Error):
    """Create of something that exists."""
    code = "already_exists"


class InvalidArgumentError(Error, ValueError):
    """Malformed input: bad name, bad shape, bad option."""
    code = "invalid_argument"


class SchemaError(Error, TypeError):
    """Input does not match the tensor's dtype or fixed shape."""
    code = "schema_mismatch"


class CorruptError(Error):
    """Stored bytes fail their checksum or do not parse."""
    code = "corrupt"


class IoError(Error, OSError):
    """The operating system refused a read, write or sync."""
    code = "io"


class ReadOnlyError(Error):
    """A write on a dataset opened read-only."""
    code = "read_only"


class LockedError(Error):
    """Another writer (or a maintenance lock) holds the dataset lock."""
    code = "locked"


class LockLostError(Error):
    """Our lock was broken or taken over; nothing more is committed."""
    code = "lock_lost"


class TimeoutError(Error, builtins.TimeoutError):
    """A bounded wait ran out."""
    code = "timeout"


class ClosedError(Error):
    """The dataset was closed, its writer failed, or it was opened in the
    parent of this forked process."""
    code = "closed"


class UnavailableError(Error):
    """A service (lock service, server) cannot be reached."""
    code = "unavailable"


class InternalError(Error):
    """A bug: an invariant did not hold."""
    code = "internal"


#: errc name -> class; the extension looks codes up here.
BY_CODE = {c.code: c for c in (
    NotFoundError, AlreadyExistsError, InvalidArgumentError, SchemaError, CorruptError,
    IoError, ReadOnlyError, LockedError, LockLostError, TimeoutError, ClosedError,
    UnavailableError, InternalError)}
