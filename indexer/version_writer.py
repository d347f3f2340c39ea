"""Writing the files of an index version, each one hashed on its way to disk.

A million-clause index holds gigabytes of files. Reading each back whole to hash it held the largest of them in
memory at once; here every byte is hashed as it is written, an array can be written a piece at a time (its .npy
header comes first, from the dtype and length known in advance), and each file is fsynced as it is closed. What
the manifest needs (size and SHA-256 of every file, dtype and shape of every array) is recorded on the way.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class HashedFile:
    """A file being written, with its size and SHA-256 kept up to date."""

    def __init__(self, path: Path):
        self._file = open(path, "wb")  # noqa: SIM115 — closed by close(), which also fsyncs
        self._sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> None:
        view = memoryview(data).cast("B")
        self._file.write(view)
        self._sha256.update(view)
        self.size += view.nbytes

    def close(self) -> dict:
        """Flush, fsync and close; the manifest's entry for the file."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
        return {"size": self.size, "sha256": self._sha256.hexdigest()}

    def abandon(self) -> None:
        self._file.close()


class ArrayFile:
    """A one-dimensional .npy file written a piece at a time: np.save's bytes, header first."""

    def __init__(self, file: HashedFile, dtype, length: int):
        self.dtype, self.length, self.written = np.dtype(dtype), int(length), 0
        self._file = file
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.length,)}
        np.lib.format.write_array_header_1_0(file, header)

    def write(self, piece: np.ndarray) -> None:
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        if piece.ndim != 1 or self.written + len(piece) > self.length:
            raise ValueError(f"array pieces exceed the announced length {self.length}")
        self._file.write(piece.data)
        self.written += len(piece)


class VersionWriter:
    """Writes the files of one version into `directory` and records what the manifest says of them."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.files: dict[str, dict] = {}  # name → {"size", "sha256"}
        self.arrays: dict[str, dict] = {}  # array name (file name without .npy) → {"dtype", "shape"}

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[HashedFile]:
        file = HashedFile(self.directory / name)
        try:
            yield file
        except BaseException:
            file.abandon()
            raise
        self.files[name] = file.close()

    def write_bytes(self, name: str, data: bytes) -> None:
        with self.open(name) as f:
            f.write(data)

    @contextlib.contextmanager
    def open_array(self, name: str, dtype, length: int) -> Iterator[ArrayFile]:
        with self.open(f"{name}.npy") as f:
            array = ArrayFile(f, dtype, length)
            yield array
            if array.written != array.length:
                raise ValueError(f"{name}: {array.written} values written of {array.length}")
        self.arrays[name] = {"dtype": array.dtype.str, "shape": [array.length]}

    def write_array(self, name: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values)
        with self.open_array(name, values.dtype, len(values)) as array:
            array.write(values)
