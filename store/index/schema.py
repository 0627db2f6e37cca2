"""The index schema and its migrations, applied in order and recorded in `meta`.

The index is a cache: when its schema is older than this code, it is migrated step by
step; when it is newer or damaged, it is thrown away and rebuilt from the store's files.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        versions_seen INTEGER NOT NULL DEFAULT 0,   -- highest record number indexed
        events_seen INTEGER NOT NULL DEFAULT 0      -- highest event number applied
    );
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        model TEXT NOT NULL,
        number INTEGER NOT NULL,
        created_at TEXT NOT NULL,          -- ISO-8601 UTC, when the version was recorded
        created_ms INTEGER NOT NULL,       -- the same, epoch milliseconds
        user TEXT NOT NULL DEFAULT '',     -- who trained it
        host TEXT NOT NULL DEFAULT '',
        started_ms INTEGER,                -- training start, epoch ms
        ended_ms INTEGER,                  -- training end, epoch ms
        duration_s REAL,
        status TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        deprecated INTEGER NOT NULL DEFAULT 0,
        format TEXT NOT NULL DEFAULT '',   -- main weights format: safetensors, onnx, pickle…
        framework TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,   -- bytes of all files
        param_count INTEGER,
        n_files INTEGER NOT NULL DEFAULT 0,
        has_pickle INTEGER NOT NULL DEFAULT 0,
        origin TEXT NOT NULL DEFAULT '',   -- manifest, api, huggingface, mlflow…
        content_digest TEXT NOT NULL DEFAULT '',
        record_path TEXT NOT NULL,
        UNIQUE (model, number)
    );
    CREATE INDEX versions_created ON versions(created_ms);
    CREATE INDEX versions_user ON versions(user);
    CREATE INDEX versions_content ON versions(content_digest);
    CREATE TABLE params (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,                 -- nested configs flattened with '.'
        value TEXT NOT NULL,               -- as text, the way MLflow compares params
        num REAL                           -- the same as a number when it is one
    );
    CREATE INDEX params_key_value ON params(key, value);
    CREATE INDEX params_key_num ON params(key, num);
    CREATE INDEX params_version ON params(version_id);
    CREATE TABLE metrics (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value REAL,                        -- final (latest) value; NULL for NaN
        step INTEGER,
        min REAL,
        max REAL,
        points INTEGER NOT NULL DEFAULT 0  -- points in the full series
    );
    CREATE INDEX metrics_key_value ON metrics(key, value);
    CREATE INDEX metrics_version ON metrics(version_id);
    CREATE TABLE tags (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (version_id, key)
    );
    CREATE INDEX tags_key_value ON tags(key, value);
    CREATE TABLE aliases (
        model_id INTEGER NOT NULL,
        alias TEXT NOT NULL,
        version_id INTEGER NOT NULL,
        PRIMARY KEY (model_id, alias)
    );
    CREATE INDEX aliases_alias ON aliases(alias);
    CREATE TABLE datasets (
        version_id INTEGER NOT NULL,
        role TEXT NOT NULL,                -- train, test, eval, validation, other
        name TEXT NOT NULL DEFAULT '',
        uri TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX datasets_name ON datasets(name);
    CREATE INDEX datasets_version ON datasets(version_id);
    CREATE TABLE parents (
        version_id INTEGER NOT NULL,
        ref TEXT NOT NULL,                 -- as written: 'base:3', 'bert-base-uncased'
        model TEXT NOT NULL,               -- the parent's model name
        number INTEGER,                    -- its version when the ref names one
        relation TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX parents_version ON parents(version_id);
    CREATE INDEX parents_model ON parents(model, number);
    CREATE TABLE files (
        version_id INTEGER NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        digest TEXT NOT NULL,
        format TEXT NOT NULL DEFAULT '',
        pickle INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX files_version ON files(version_id);
    CREATE TABLE blob_refs (
        digest TEXT NOT NULL,
        version_id INTEGER NOT NULL,
        role TEXT NOT NULL                 -- file:<path>, source:<path>, metrics, charts, diff
    );
    CREATE INDEX blob_refs_digest ON blob_refs(digest);
    CREATE TABLE events (
        model_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        version INTEGER,
        at TEXT NOT NULL,
        user TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (model_id, seq)
    );
    CREATE TABLE problems (
        path TEXT PRIMARY KEY,             -- a record or event file the index could not read
        message TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE versions_fts USING fts5(
        name, description, tags, params, files,
        tokenize = "unicode61 tokenchars '_'", prefix = '2 3'
    );
    """,
}


def current_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> bool:
    """Bring the schema up to date; returns False when it is newer than this code."""
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        return False
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with conn:
            conn.executescript(MIGRATIONS[target])
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(target),),
            )
    return True
