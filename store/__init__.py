"""modelyard's store: immutable content-addressed blobs, write-once records and events on a
shared filesystem, and a per-host SQLite index rebuilt from them. No UI imports here."""

# The names below are imported when first used (PEP 562), so that importing a small module
# of the store (names, errors, disk/) does not import all of it: a CLI command such as
# `modelyard init` starts in a few tens of milliseconds.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.store.api import ModelInfo, Store
    from modelyard.store.disk.events import Event
    from modelyard.store.disk.layout import default_store_path
    from modelyard.store.errors import (
        BlobCorrupt,
        BlobMissing,
        DiskFull,
        DropRejected,
        InvalidManifest,
        InvalidName,
        InvalidRef,
        ModelNotFound,
        ModelyardError,
        NotAStore,
        QueryError,
        ReadOnlyStore,
        StorageError,
        StoreCorrupt,
        StoreExists,
        VersionNotFound,
    )
    from modelyard.store.versions.version import Version

_ERRORS = ("BlobCorrupt", "BlobMissing", "DiskFull", "DropRejected", "InvalidManifest",
           "InvalidName", "InvalidRef", "ModelNotFound", "ModelyardError", "NotAStore",
           "QueryError", "ReadOnlyStore", "StorageError", "StoreCorrupt", "StoreExists",
           "VersionNotFound")
_HOME = {
    **{name: "modelyard.store.errors" for name in _ERRORS},
    "ModelInfo": "modelyard.store.api", "Store": "modelyard.store.api",
    "default_store_path": "modelyard.store.disk.layout", "Event": "modelyard.store.disk.events",
    "Version": "modelyard.store.versions.version",
}
__all__ = [
    "BlobCorrupt", "BlobMissing", "DiskFull", "DropRejected", "Event", "InvalidManifest",
    "InvalidName", "InvalidRef", "ModelInfo", "ModelNotFound", "ModelyardError", "NotAStore",
    "QueryError", "ReadOnlyStore", "StorageError", "Store", "StoreCorrupt", "StoreExists",
    "Version", "VersionNotFound", "default_store_path",
]
assert sorted(__all__) == sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
