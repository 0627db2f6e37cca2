"""modelyard's store: immutable content-addressed blobs, write-once records and events on a
shared filesystem, and a per-host SQLite index rebuilt from them. No UI imports here."""

from modelyard.store.api import ModelInfo, Store, default_store_path
from modelyard.store.disk.events import Event
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

__all__ = [
    "BlobCorrupt", "BlobMissing", "DiskFull", "DropRejected", "Event", "InvalidManifest",
    "InvalidName", "InvalidRef", "ModelInfo", "ModelNotFound", "ModelyardError", "NotAStore",
    "QueryError", "ReadOnlyStore", "StorageError", "Store", "StoreCorrupt", "StoreExists",
    "Version", "VersionNotFound", "default_store_path",
]
