"""`modelyard`: parse the command line, open the store, run one command, map errors to
exit codes (0 ok, 1 not found or rejected, 2 usage, 141 output pipe closed). No Textual or
polars import here."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COMMANDS: list[tuple[str, str]] = [
    ("init", "create a new, empty store"),
    ("add", "add a version from a folder holding a modelyard.yaml or modelyard.json"),
    ("ls", "list versions matching a query (all versions without one)"),
    ("models", "list models with their version counts and aliases, or those a filter "
               "matches (MLflow's registered-model search)"),
    ("show", "show everything one version holds"),
    ("diff", "compare two versions: params, metrics, files, source, lineage"),
    ("alias", "set or move an alias (NAME) onto a version, or remove it with --rm"),
    ("tag", "set tags (KEY=VALUE) on a version, or remove them with --rm"),
    ("describe", "set a version's description"),
    ("deprecate", "mark a version deprecated (or not, with --undo)"),
    ("history", "every change to a model: versions, alias moves, tags, descriptions"),
    ("fsck", "check the store: records, events and blobs (--read-data re-hashes blobs)"),
    ("reindex", "rebuild this host's index from the store's files"),
    ("index", "this host's index and the store's shared snapshots of it: status, publish, "
              "snapshots, verify, prune"),
    ("export", "copy a version's files, verified, into a new folder"),
    ("check", "check a version against the store's policy (exit 1 if a blocking rule fails)"),
    ("policy", "show the store's policy, set a new one from a YAML file, or list its history"),
    ("deploy-spec", "write a KServe InferenceService for a version"),
    ("watch", "ingest drops as they become ready (inotify locally, polling on NFS)"),
    ("import-mlflow", "import every registered version of an MLflow mlruns/ folder or mlflow.db"),
    ("demo", "build a demo store and open the explorer on it"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelyard",
        description="A model store on a shared filesystem, with a terminal explorer. "
                    "Without a command, opens the explorer on the store.",
    )
    parser.add_argument("--store", metavar="PATH",
                        help="the store (default: $MODELYARD_STORE, else ~/.local/share/"
                             "modelyard/store, created on first use)")
    parser.add_argument("--index", metavar="PATH",
                        help="the SQLite index (default: per host, in ~/.cache/modelyard)")
    parser.add_argument("--watch", action="store_true",
                        help="with the explorer: also ingest drops while it runs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                help="what to do (none: open the explorer)")
    helps = dict(COMMANDS)

    def cmd(name: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helps[name], description=helps[name])
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON (stable keys)")
        return p

    p = cmd("init")
    p.add_argument("path", nargs="?", help="where to create it (default: --store)")
    p = cmd("add")
    p.add_argument("folder", help="folder with a modelyard.yaml / modelyard.json manifest")
    p.add_argument("--model", help="model name (default: the manifest's, else the folder's)")
    p = cmd("ls")
    p.add_argument("query", nargs="*", help="a query, e.g. \"metrics.acc > 0.9 and @champion\"")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100; 0: all)")
    p.add_argument("--metrics", help="comma-separated metric columns to show")
    p = cmd("models")
    p.add_argument("filter", nargs="*",
                   help="a filter as MLflow's search_registered_models takes it, e.g. "
                        "\"name LIKE 'churn%%' and tags.team = 'risk'\" (name and tags.<key> "
                        "with =, !=, LIKE, ILIKE; IN for the name; joined by AND)")
    p.add_argument("--order-by", action="append", default=[], metavar="KEY [asc|desc]",
                   help="order by name, last_updated_timestamp (or timestamp) or "
                        "creation_timestamp, asc or desc; repeat it or separate keys with "
                        "commas (default: by name)")
    p = cmd("show")
    p.add_argument("ref", help="NAME (latest), NAME:VERSION or NAME@ALIAS")
    p = cmd("diff")
    p.add_argument("a", help="first version ref")
    p.add_argument("b", help="second version ref")
    p.add_argument("--all", action="store_true", help="show equal values too")
    p = cmd("alias")
    p.add_argument("ref", help="the version (with --rm: any ref of the model)")
    p.add_argument("name", help="the alias, e.g. champion")
    p.add_argument("--rm", action="store_true", help="remove the alias instead")
    p.add_argument("--force", action="store_true",
                   help="set a gated alias although the version fails its rules")
    p.add_argument("--reason", default="", help="with --force: why (kept in the history)")
    p = cmd("tag")
    p.add_argument("ref", help="the version")
    p.add_argument("tags", nargs="+", help="KEY=VALUE (or KEY with --rm)")
    p.add_argument("--rm", action="store_true", help="remove the named tags")
    p = cmd("describe")
    p.add_argument("ref", help="the version")
    p.add_argument("text", help="the new description ('-' reads standard input)")
    p = cmd("deprecate")
    p.add_argument("ref", help="the version")
    p.add_argument("--reason", default="", help="why, shown in its history")
    p.add_argument("--undo", action="store_true", help="mark it not deprecated")
    p = cmd("history")
    p.add_argument("model", help="model name")
    p = cmd("fsck")
    p.add_argument("--read-data", action="store_true", help="re-hash every blob")
    cmd("reindex")
    p = cmd("index")
    p.add_argument("action", nargs="?", default="status",
                   choices=["status", "publish", "snapshots", "verify", "prune"],
                   help="status (default): what this index covers and where it came from; "
                        "publish: put a snapshot of it in the store; snapshots: list them; "
                        "verify: check an index copied from a snapshot against the records; "
                        "prune: remove old snapshots")
    p.add_argument("--force", action="store_true",
                   help="with publish: publish even an index not verified yet")
    p.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    p = cmd("export")
    p.add_argument("ref", help="the version")
    p.add_argument("dest", help="a new or empty folder")
    p.add_argument("--as-stored", action="store_true",
                   help="copy the files as stored instead of the serving runtime's layout")
    p = cmd("check")
    p.add_argument("ref", help="the version")
    p.add_argument("--dry-run", action="store_true", help="check without recording the result")
    p = cmd("policy")
    p.add_argument("action", nargs="?", choices=["show", "set", "history"], default="show",
                   help="show (default), set FILE, or history")
    p.add_argument("file", nargs="?", help="with set: the policy YAML file")
    p = cmd("deploy-spec", json_flag=False)
    p.add_argument("ref", help="the version")
    p.add_argument("--format", default="kserve", choices=["kserve"],
                   help="the deployment format (default kserve)")
    p.add_argument("--storage-uri", help="where the exported files will be (default: "
                                         "the store's deploy_storage_base / name-vN)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p = cmd("watch")
    p.add_argument("--once", action="store_true",
                   help="ingest what is ready now and exit (for cron)")
    p.add_argument("--poll", type=float, metavar="SECONDS",
                   help="poll every SECONDS instead of using inotify")
    p.add_argument("--quiet", type=float, metavar="SECONDS",
                   help="a drop without COMPLETE is ready after this long unchanged "
                        "(default: the store's drop_quiet_seconds)")
    p = cmd("import-mlflow")
    p.add_argument("path", help="an mlruns/ folder, a folder holding mlflow.db, or the .db file")
    p.add_argument("--max-artifact-bytes", type=int, metavar="N",
                   help="run artifacts larger than N bytes are recorded as references, not "
                        "copied (default: the store setting mlflow_artifact_max_bytes, else "
                        "100 MiB)")
    p = cmd("demo", json_flag=False)
    p.add_argument("path", nargs="?", help="where to build it (default: ./demo-store)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--no-open", action="store_true", help="build it and print its path")
    return parser


def store_path(args: argparse.Namespace) -> Path:
    from modelyard.store.disk.layout import default_store_path

    return Path(args.store) if args.store else default_store_path()


# What a shell reports for a writer killed by SIGPIPE (128 + 13), as for `yes | head -1`.
PIPE_CLOSED = 141


def main(argv: list[str] | None = None) -> int:
    """Run one command. When the reader of our output goes away (`modelyard ls | head -1`)
    stop quietly with PIPE_CLOSED, as Unix tools do; the signal itself stays ignored (Python's
    default), so a pipe to a hook's process can never kill a write half-way."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        # Anything still buffered would fail again at exit: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from modelyard.app.cli import (
        commands,  # after parsing: `--help` and usage errors need no store import
    )
    from modelyard.store.errors import ModelyardError

    try:
        if args.command is None:
            return commands.open_explorer(args, store_path(args))
        from modelyard.app.cli import index_commands, policy_commands

        name = f"cmd_{args.command.replace('-', '_')}"
        handler = (getattr(commands, name, None) or getattr(index_commands, name, None)
                   or getattr(policy_commands, name))
        return handler(args, store_path(args))
    except ModelyardError as exc:
        from modelyard.app.cli.output import safe

        print(f"modelyard: error: {safe(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        raise  # not an error of the store: main() handles it
    except OSError as exc:
        from modelyard.app.cli.output import safe

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"modelyard: error: {safe(exc.strerror or exc)}{safe(where)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Only a command that opened the index imported sqlite3 (`init` does not: it starts
        # faster without it), and only such a command can fail with its errors.
        sqlite3 = sys.modules.get("sqlite3")
        if sqlite3 is None or not isinstance(exc, sqlite3.DatabaseError):
            raise
        from modelyard.app.cli.output import safe

        print(f"modelyard: error: this host's index is damaged ({safe(exc)}); rebuild it with "
              "`modelyard reindex` (the store's own files are not affected)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
