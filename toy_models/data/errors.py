"""The one exception the data package raises for any problem with a data file or root."""
from __future__ import annotations

from os import PathLike


class DataError(Exception):
    """A data file is missing, truncated, corrupted or fails its checksum.

    The message is always ONE line that starts with the file (or directory) concerned:
    ``"/path/to/train-images-idx3-ubyte.gz: truncated: 1024 of 47040016 payload bytes"``.
    ``path`` and ``problem`` are kept as attributes for callers that want them apart.
    """

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # collapse newlines: one line, always
        super().__init__(f"{self.path}: {self.problem}")
