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


class RecordMissing(StoreCorrupt):
    """The record file is not there (deleted, or not yet visible on this host)."""


def read_record(path: Path, model: str, number: int, *, file_facts: bool = True
                ) -> dict[str, Any]:
    """The record at `path`, or StoreCorrupt saying what is wrong with it (RecordMissing
    when the file is gone, so a reader can say so). With `file_facts` the
    record also carries its file's owner and mtime (OWNER_KEY, MTIME_KEY) for the index."""
    try:
        body, uid, mtime_ms = read_owned(path)
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StoreCorrupt(f"record is damaged: {path} is not valid JSON") from None
    except FileNotFoundError as exc:
        raise RecordMissing(f"record cannot be read: {exc.strerror}") from None
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
    record.pop(OWNER_KEY, None)  # never from the file: a record cannot claim its own owner
    record.pop(MTIME_KEY, None)
    if file_facts:
        record[OWNER_KEY] = uid
        record[MTIME_KEY] = mtime_ms
    return record
