"""The SQLite index: a per-host cache of the store's records, rebuildable at any time."""
