"""The one definition of how big a drop may be: files and folders, depth, bytes per file and
per drop. Counts and depth are fixed; the byte limits are store settings (`max_drop_bytes`,
`max_file_bytes` in modelyard.json), counted in apparent size (what `ls -l` shows), so a
sparse file of a terabyte is a terabyte: it would become a blob of that size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from modelyard.store.errors import DropRejected

MAX_FILES = 100_000  # files and folders in one drop (or one `add FOLDER`)
MAX_DEPTH = 32
DEFAULT_MAX_DROP_BYTES = 1 << 40  # 1 TiB
DEFAULT_MAX_FILE_BYTES = 512 << 30  # 512 GiB


class ByteLimits(NamedTuple):
    """The byte limits of one store. (A named tuple: see errors.Problem.)"""

    drop: int = DEFAULT_MAX_DROP_BYTES
    file: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> ByteLimits:
        """From the store settings; a missing or malformed value keeps the default."""
        settings = settings or {}
        return cls(_positive(settings.get("max_drop_bytes"), DEFAULT_MAX_DROP_BYTES),
                   _positive(settings.get("max_file_bytes"), DEFAULT_MAX_FILE_BYTES))

    def check_file(self, size: int, where: str) -> None:
        if size > self.file:
            raise DropRejected(
                f"{where} is {size:,} bytes (apparent size); this store accepts files of at "
                f"most {self.file:,} bytes",
                "split the file into shards, or raise the store setting `max_file_bytes` in "
                "modelyard.json")

    def check_drop(self, total: int, where: str) -> None:
        if total > self.drop:
            raise DropRejected(
                f"{where} holds {total:,} bytes (apparent size); this store accepts drops of "
                f"at most {self.drop:,} bytes",
                "drop the model in several versions, or raise the store setting "
                "`max_drop_bytes` in modelyard.json")


def _positive(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return default
    return value
