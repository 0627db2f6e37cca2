"""Small named errors. Each message says what went wrong, where, and what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple


class ModelyardError(Exception):
    """Base of every error modelyard raises on purpose; the CLI prints it as one line."""

    exit_code = 1


class NotAStore(ModelyardError):
    """The path exists but holds no modelyard store."""


class StoreExists(ModelyardError):
    """`init` was asked to create a store where one already is."""


class ReadOnlyStore(ModelyardError):
    """A write was refused by the filesystem (read-only mount or missing permission)."""


class InvalidName(ModelyardError):
    """A model, alias or tag name that modelyard cannot store safely."""

    exit_code = 2


class InvalidRef(InvalidName):
    """A version reference that does not parse (`name`, `name:3`, `name@alias`)."""


class ModelNotFound(ModelyardError):
    """No model of that name in the store."""


class VersionNotFound(ModelyardError):
    """The model exists but not that version or alias."""


class QueryError(ModelyardError):
    """A malformed query; `position` is the 0-based column where it went wrong."""

    exit_code = 2

    def __init__(self, message: str, query: str = "", position: int = 0) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        super().__init__(self.render())

    def render(self) -> str:
        """One line, with the column: the CLI prints it, the app shows a caret under it."""
        if not self.query:
            return self.message
        return f"{self.message} (at column {self.position + 1})"

    def caret(self) -> str:
        """The query and a caret line pointing at the mistake, for multi-line displays."""
        return f"{self.query}\n{' ' * self.position}^"


class InvalidManifest(ModelyardError):
    """A version description (manifest or API call) is missing or has a bad field."""


class StoreCorrupt(ModelyardError):
    """A file in the store does not match what it claims to be."""


class BlobCorrupt(StoreCorrupt):
    """A blob's bytes do not hash to its name; never return them."""

    # set where it is raised (store/disk/blobs.py): the app marks the versions using it
    digest: str
    path: Path


class BlobMissing(StoreCorrupt):
    """A record names a blob that is not in the store."""

    digest: str  # set where it is raised, as for BlobCorrupt
    path: Path


class StorageError(ModelyardError):
    """The filesystem failed a read or write (EIO, a lost NFS server…): the storage is at
    fault, not the input, so a drop that meets it is given back rather than quarantined."""


class DiskFull(StorageError):
    """No space or quota left where the store writes; nothing was half-written."""


class DropRejected(ModelyardError):
    """A drop no honest training job makes: links, special files, hostile names, huge trees.

    `hint` says how to fix the drop; it goes into REJECTED.txt beside the quarantined drop.
    """

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.hint = hint


# What a check finds (fsck, the index check, a snapshot's verification): a finding, not an
# exception, kept here beside the errors so every layer can report one. A named tuple, not a
# dataclass: every command imports this module, and dataclasses costs 8 ms to import.
class Problem(NamedTuple):
    kind: str  # corrupt-blob, missing-blob, unreadable-blob, bad-record, bad-event, gap,
    # missing-record, index
    path: str
    message: str
    versions: Sequence[str] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "message": self.message,
                "versions": list(self.versions)}
