"""Reading one version record back: the one check, shared by the index and fsck, that a
`versions/<n>.json` file is a modelyard record and is the version its name says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelyard.store.disk.owners import MTIME_KEY, OWNER_KEY, read_owned
from modelyard.store.errors import StoreCorrupt

RECORD_SCHEMA = "modelyard.version/1"
REQUIRED = ("created_at", "files")


def read_record(path: Path, model: str, number: int) -> dict[str, Any]:
    """The record at `path`, or StoreCorrupt saying what is wrong with it."""
    try:
        body, uid, mtime_ms = read_owned(path)
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StoreCorrupt(f"record is damaged: {path} is not valid JSON") from None
    except OSError as exc:
        raise StoreCorrupt(f"record cannot be read: {exc.strerror}") from None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        raise StoreCorrupt(f"record is damaged: {path} is not a modelyard version record")
    if record.get("model") != model or record.get("version") != number:
        raise StoreCorrupt(f"record is damaged: {path} claims to be "
                           f"{record.get('model')!r}:{record.get('version')!r}")
    for key in REQUIRED:
        if key not in record:
            raise StoreCorrupt(f"record is damaged: {path} lacks the field {key!r}")
    record[OWNER_KEY] = uid  # always set here: a record cannot claim its own owner
    record[MTIME_KEY] = mtime_ms
    return record
