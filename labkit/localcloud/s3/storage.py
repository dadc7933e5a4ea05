"""S3 object bodies kept in named files, so that the local cloud's query engines read them in place.

moto keeps each object body in a `SpooledTemporaryFile`: in memory up to 5 MB, then in an unnamed
file. Athena over ten million flow records would then hold gigabytes in the server process, and
DuckDB could only read a body after copying it out. Here every body lives in a file of its own
under one directory per local-cloud process, in LABKIT_HOME (removed when the process exits, or by the
next local cloud if it was killed), and `object_path`
gives DuckDB that path. moto's own code is unchanged: it reads, writes, hashes and closes the body
through the same file methods, so GetObject, ListObjectsV2, DeleteObjects and versioning behave as
before. A body's file is deleted when moto closes it (object deleted or overwritten) or when the
key object is garbage-collected.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from moto.s3.models import FakeKey

from ..home import process_directory

_directory: Path | None = None
_directory_lock = threading.Lock()


class ObjectFile(io.FileIO):
    """The body of one S3 object version: an unbuffered file (what moto writes, a reader by path
    sees at once) that removes itself when closed."""

    @classmethod
    def create(cls) -> ObjectFile:
        descriptor, path = tempfile.mkstemp(prefix="object-", dir=storage_directory())
        os.close(descriptor)
        return cls(path, "w+b")

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        written = 0
        while written < len(view):  # a raw write may be partial
            written += super().write(view[written:])
        return written

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        try:
            os.unlink(self.name)
        except FileNotFoundError:
            pass


def storage_directory() -> Path:
    """This process's directory of object bodies (in LABKIT_HOME, owner-only), created on first use and
    removed at exit."""
    global _directory
    with _directory_lock:
        if _directory is None:
            _directory = process_directory("s3-objects")
        return _directory


def object_path(key: Any) -> str:
    """The file holding a moto key's body (a body written before the patch is moved to one)."""
    if not isinstance(key._value_buffer, ObjectFile):
        key.value = key.value
    return key._value_buffer.name


def bodies_in_named_files(value: property) -> property:
    """FakeKey.value: a new key's body is written to a named file (moto made an in-memory buffer)."""
    write_body = value.fset

    def write_body_to_file(self: FakeKey, new_value: bytes) -> None:
        if not isinstance(self._value_buffer, ObjectFile):
            self._value_buffer.close()
            self._value_buffer = ObjectFile.create()
        write_body(self, new_value)

    return value.setter(write_body_to_file)
