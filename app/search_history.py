"""Search history: the queries a person ran on a store, newest last, for up and down in the
search bar. Kept per store in the user's cache folder (beside the index), never in the store:
one person's searches are not the team's data."""

from __future__ import annotations

import json
import os
from pathlib import Path

from modelyard.store.index.db import cache_home

LIMIT = 200


def history_path(store_id: str) -> Path:
    return cache_home() / "search-history" / f"{store_id}.json"


class SearchHistory:
    """Queries in order of last use; `older`/`newer` walk them from the newest."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.queries: list[str] = []
        self._at: int | None = None  # index into queries while walking, None: not walking
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self.queries = [q for q in loaded if isinstance(q, str)][-LIMIT:]
            except (OSError, ValueError, TypeError):
                self.queries = []  # none yet, or unreadable: start again

    def add(self, query: str) -> None:
        """Remember `query` as the newest (once), and save; a failed save only loses it."""
        self._at = None
        query = query.strip()
        if not query:
            return
        self.queries = [q for q in self.queries if q != query][-(LIMIT - 1):] + [query]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.queries), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass

    def older(self) -> str | None:
        if not self.queries:
            return None
        self._at = len(self.queries) - 1 if self._at is None else max(0, self._at - 1)
        return self.queries[self._at]

    def newer(self) -> str | None:
        """The next newer query; past the newest, "" (an empty bar), then None."""
        if self._at is None:
            return None
        if self._at >= len(self.queries) - 1:
            self._at = None
            return ""
        self._at += 1
        return self.queries[self._at]
