"""The index schema and its migrations, applied in order and recorded in `meta`.

The index is a cache: when its schema is older than this code, it is migrated step by
step; when it is newer or damaged, it is thrown away and rebuilt from the store's files.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 7

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
    # 2: policy check results, folded from `policy.checked` events. Events an older modelyard
    # could not read were recorded as problems and skipped, so replay every model's events
    # (folding them again gives the same state) and forget those problems.
    2: """
    CREATE TABLE policy_checks (
        version_id INTEGER PRIMARY KEY,
        policy INTEGER NOT NULL,           -- the policy version the results are for
        rules INTEGER NOT NULL DEFAULT 0,  -- rules that apply to the version
        failing INTEGER NOT NULL DEFAULT 0,   -- blocking rules it fails
        warnings INTEGER NOT NULL DEFAULT 0,  -- non-blocking rules it fails
        seq INTEGER NOT NULL,              -- the policy.checked event that set them
        at TEXT NOT NULL
    );
    CREATE INDEX policy_checks_failing ON policy_checks(failing);
    CREATE TABLE policy_results (
        version_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        status TEXT NOT NULL,              -- pass or fail
        blocking INTEGER NOT NULL DEFAULT 1,
        reasons TEXT NOT NULL DEFAULT '[]',   -- JSON list: why it fails
        PRIMARY KEY (version_id, rule)
    );
    CREATE INDEX policy_results_rule ON policy_results(rule, status);
    UPDATE models SET events_seen = 0;
    DELETE FROM problems WHERE path LIKE '%/events/%';
    """,
    # 3: metrics and params clustered by version (WITHOUT ROWID, keyed by version and key),
    # and aliases indexed by version.
    # Reading one version's values, which a search does for every version it tests and the
    # app for every row it shows, becomes one seek instead of an index scan plus a table
    # lookup per key; the (key, value) indexes then cover the version id, and no separate
    # index on the version is needed.
    3: """
    CREATE TABLE metrics_by_version (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value REAL,                        -- final (latest) value; NULL for NaN
        step INTEGER,
        min REAL,
        max REAL,
        points INTEGER NOT NULL DEFAULT 0, -- points in the full series
        PRIMARY KEY (version_id, key)
    ) WITHOUT ROWID;
    INSERT OR REPLACE INTO metrics_by_version
        SELECT version_id, key, value, step, min, max, points FROM metrics ORDER BY rowid;
    DROP TABLE metrics;
    ALTER TABLE metrics_by_version RENAME TO metrics;
    CREATE INDEX metrics_key_value ON metrics(key, value);
    CREATE TABLE params_by_version (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,                 -- nested configs flattened with '.'
        value TEXT NOT NULL,               -- as text, the way MLflow compares params
        num REAL,                          -- the same as a number when it is one
        PRIMARY KEY (version_id, key)
    ) WITHOUT ROWID;
    INSERT OR REPLACE INTO params_by_version
        SELECT version_id, key, value, num FROM params ORDER BY rowid;
    DROP TABLE params;
    ALTER TABLE params_by_version RENAME TO params;
    CREATE INDEX params_key_value ON params(key, value);
    CREATE INDEX params_key_num ON params(key, num);
    CREATE INDEX aliases_version ON aliases(version_id);  -- a row's aliases, for every row shown
    """,
    # 4: every alias.set event checked against the gate in force at its number
    # (store/policy/violations.py), so a hand-written move that skipped a gate shows. The
    # facts are taken when the event is folded; the verdict is filled in after the catch-up.
    # Replay every model's events to take them for the events already indexed.
    4: """
    CREATE TABLE alias_checks (
        model_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,              -- the alias.set event
        alias TEXT NOT NULL,
        version_id INTEGER NOT NULL,       -- the version it was moved onto
        claimed INTEGER,                   -- the policy the event says was in force
        floor INTEGER NOT NULL DEFAULT 0,  -- the newest policy the model's earlier events name
        forced INTEGER NOT NULL DEFAULT 0, -- forced with a recorded reason
        checked INTEGER,                   -- the policy of the version's check at that point
        results TEXT NOT NULL DEFAULT '{}',   -- JSON {rule: pass|fail} of that check
        violation TEXT,                    -- NULL: not judged yet; '': none; else why
        PRIMARY KEY (model_id, seq)
    );
    CREATE INDEX alias_checks_version ON alias_checks(version_id, violation);
    CREATE INDEX alias_checks_pending ON alias_checks(violation);
    UPDATE models SET events_seen = 0;
    """,
    # 5: the real owner of each record and event file (store/disk/owners.py), beside the user it
    # claims. Older indexes fill it as they catch up; what they indexed before is looked up
    # on the file when shown (Version.owner).
    5: """
    CREATE TABLE owners (
        kind TEXT NOT NULL,                -- 'v': a version record, 'e': an event
        model_id INTEGER NOT NULL,
        number INTEGER NOT NULL,           -- the version or event number
        uid INTEGER NOT NULL,
        name TEXT NOT NULL,                -- the owner's login name ('' if unknown here)
        claimed TEXT NOT NULL,             -- the user the file says wrote it
        PRIMARY KEY (kind, model_id, number)
    ) WITHOUT ROWID;
    """,
    # 6: the MLflow run behind an imported version (run_id, run_name, source_path,
    # artifact_uri), so MLflow's `run_id IN (...)`, `attributes.run_name`, `source_path` and
    # `artifact_uri` filters answer.
    # An index made before fills it for the versions it indexes from now on; `reindex`
    # fills it for the rest.
    6: """
    CREATE TABLE run_fields (
        version_id INTEGER NOT NULL,
        key TEXT NOT NULL,                 -- run_id, run_name, source_path, artifact_uri
        value TEXT NOT NULL,
        PRIMARY KEY (version_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX run_fields_key_value ON run_fields(key, value);
    """,
    # 7: tags of the model itself (an MLflow registered model's tags; `tag.set` events
    # without a version), shown by `models`. No index before had such events.
    7: """
    CREATE TABLE model_tags (
        model_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
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
        # One write transaction per step, the version recorded inside it: two processes
        # opening a new index at once serialize here, and the second, finding the tables
        # made, rolls back and sees the step done. (executescript commits any open
        # transaction first, so the script carries its own BEGIN and COMMIT.)
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[target]}\n"
                               "INSERT OR REPLACE INTO meta(key, value) VALUES "
                               f"('schema_version', '{target}');\nCOMMIT;")
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if current_version(conn) < target:
                raise
    return True


def secondary_indexes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index the schema declares, as SQLite stored them:
    a full rebuild drops them, loads the rows, and creates them again by sorting."""
    return [(name, sql) for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "ORDER BY name")]
