"""One function per CLI command. Each opens the store, does one thing, prints safely."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.app.cli.output import emit, emit_json, human_size, number, safe, table
from modelyard.store.errors import InvalidName, NotAStore

if TYPE_CHECKING:
    from modelyard.store import Store


def open_store(args: argparse.Namespace, path: Path, *, sync: bool = True) -> Store:
    """Open the chosen store; the default one is created on first use. Without `sync` the
    index is caught up later (the explorer does it in a worker, showing its progress)."""
    from modelyard.store.api import Store  # here: `init` and `--help` need none of it

    index = Path(args.index) if args.index else None
    try:
        store = Store.open(path, index=index, sync=False)
        if sync:  # a new host without a snapshot reads every record: say how far it is
            store.sync(progress=_build_progress())
        for warning in getattr(getattr(store, "restored", None), "warnings", ()):
            print(f"modelyard: warning: {safe(warning)}", file=sys.stderr)
        return store
    except NotAStore:
        if args.store is None and not (path / "modelyard.json").exists():
            import os
            if not os.environ.get("MODELYARD_STORE"):
                return Store.init(path, index=index)
        raise


def cmd_init(args: argparse.Namespace, path: Path) -> int:
    """Only the store's folders and settings file: its index (a cache) is built by the
    first command that reads it, so `init` starts in tens of milliseconds."""
    from modelyard.store.disk.identity import current_user
    from modelyard.store.disk.layout import init_store

    target = Path(args.path) if args.path else path
    config = init_store(target, user=current_user())
    if args.json:
        emit_json({"store": str(target), "store_id": config["store_id"]})
    else:
        emit(f"created store {safe(target)}")
    return 0


def cmd_add(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.ingest.manifest import read_folder

    store = open_store(args, path)
    folder = read_folder(Path(args.folder), model=args.model)
    version = store.add_version(folder.model, files=folder.files,
                                metric_series=folder.metric_series, source=folder.source,
                                **folder.card)
    created = not version.deduplicated
    if args.json:
        emit_json({"ref": version.ref, "created": created})
    else:
        emit(f"{'added' if created else 'unchanged, already stored as'} {safe(version.ref)}")
    return 0


def _metric_columns(versions: list, wanted: str | None) -> list[str]:
    if wanted:
        return [m.strip() for m in wanted.split(",") if m.strip()]
    counts: dict[str, int] = {}
    for v in versions:
        for key in v.metrics:
            counts[key] = counts.get(key, 0) + 1
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


def cmd_ls(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    query = " ".join(args.query)
    versions = store.search(query, limit=args.limit or None)  # 0: all
    if args.json:
        emit_json([v.summary_dict() for v in versions])
        return 0
    if not versions:
        emit("no versions match" if query else "the store is empty; add one with `modelyard add`")
        return 0
    metrics = _metric_columns(versions, args.metrics)
    rows = []
    for v in versions:
        vm = v.metrics
        flags = ",".join(f for f, on in (("deprecated", v.deprecated), ("pickle", v.has_pickle),
                                          ("policy-failing",
                                           v.policy_state in ("failing", "violation")))
                         if on)
        rows.append([safe(v.ref), safe(" ".join("@" + a for a in v.aliases)),
                     v.created_at[:16].replace("T", " "), safe(v.user), safe(v.format),
                     human_size(v.size), *[number(vm.get(m)) for m in metrics], flags])
    for line in table(["REF", "ALIASES", "CREATED", "USER", "FORMAT", "SIZE",
                       *[safe(m) for m in metrics], "FLAGS"], rows):
        emit(line)
    total = store.count(query)
    if total > len(versions):
        emit(f"({len(versions)} of {total}; use --limit to see more)")
    return 0


def cmd_models(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    query = " ".join(args.filter)
    models = store.models(query, order_by=args.order_by)
    if args.json:
        emit_json([m.to_dict() for m in models])
        return 0
    if not models:
        emit("no models match" if query else "the store is empty; add one with `modelyard add`")
        return 0
    rows = [[safe(m.name), str(m.versions), str(m.latest), m.updated_at[:16].replace("T", " "),
             safe(" ".join(f"@{a}:{n}" for a, n in m.aliases.items()))] for m in models]
    for line in table(["MODEL", "VERSIONS", "LATEST", "UPDATED", "ALIASES"], rows, max_width=60):
        emit(line)
    return 0


def cmd_show(args: argparse.Namespace, path: Path) -> int:
    from modelyard.app.cli.show import print_version

    store = open_store(args, path)
    version = store.get(args.ref)
    if args.json:
        emit_json(version.to_dict())
    else:
        violations = [x["message"] for x in store.policy_violations(version.model)
                      if x["ref"] == version.ref] if version.policy_state == "violation" else []
        print_version(version, violations=violations)
    return 0


def cmd_diff(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.versions.diff import diff_versions

    store = open_store(args, path)
    result = diff_versions(store.get(args.a), store.get(args.b), only_diff=not args.all)
    if args.json:
        emit_json(result)
        return 0
    emit(f"{safe(result['a'])}  vs  {safe(result['b'])}")
    for section in ("params", "metrics", "files", "source", "lineage", "serving"):
        rows = result[section]
        if not rows:
            continue
        emit("")
        emit(section.upper())
        body = []
        for r in rows:
            cells = [safe(r["key"]), _cell(r["a"]), _cell(r["b"])]
            if section == "metrics":
                cells.append("" if r.get("delta") is None else f"{r['delta']:+.4g}")
            body.append(cells)
        headers = ["KEY", safe(result["a"]), safe(result["b"])]
        for line in table(headers + (["DELTA"] if section == "metrics" else []), body):
            emit("  " + line)
    if not any(result[s] for s in ("params", "metrics", "files", "source", "lineage", "serving")):
        emit("no differences")
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return safe(", ".join(map(str, value)))
    return number(value) if isinstance(value, float) else safe(value)


def cmd_alias(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.names import parse_ref

    store = open_store(args, path)
    if args.rm:
        event = store.remove_alias(parse_ref(args.ref).model, args.name)
        message = f"removed @{safe(args.name)} from {safe(event.model)}"
    else:
        event = store.set_alias(args.ref, args.name, force=args.force, reason=args.reason)
        message = f"@{safe(args.name)} -> {safe(event.model)}:{event.version}"
        if event.data.get("forced"):
            message += f" (forced: {safe(args.reason)})"
    _done(args, event, message)
    return 0


def _done(args: argparse.Namespace, event: Any, message: str) -> None:
    if args.json:
        emit_json(event.to_json())
    else:
        emit(message)


def cmd_tag(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    events = []
    for item in args.tags:
        if args.rm:
            events.append(store.untag(args.ref, item))
        else:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidName(f"write tags as KEY=VALUE (got {item!r}); to remove one, "
                                  "use --rm KEY")
            events.append(store.tag(args.ref, key, value))
    if args.json:
        emit_json([e.to_json() for e in events])
    else:
        for e in events:
            what = "removed" if e.type == "tag.removed" else f"= {safe(e.data.get('value'))}"
            emit(f"{safe(e.model)}:{e.version} tag {safe(e.data['key'])} {what}")
    return 0


def cmd_describe(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    text = sys.stdin.read() if args.text == "-" else args.text
    event = store.describe(args.ref, text)
    _done(args, event, f"described {safe(event.model)}:{event.version}")
    return 0


def cmd_deprecate(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    event = store.deprecate(args.ref, reason=args.reason, undo=args.undo)
    state = "no longer deprecated" if args.undo else "deprecated"
    _done(args, event, f"{safe(event.model)}:{event.version} {state}")
    return 0


def _who(event) -> str:
    """user@host as the event claims it, and the file's real owner when that differs."""
    from modelyard.store.disk.owners import mismatch

    who = f"{event.user}@{event.host}"
    return f"{who} (file owned by {event.file_owner}!)" if mismatch(event.user,
                                                                  event.file_owner) else who


def cmd_history(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    events = store.history(args.model)
    if args.json:
        emit_json([{**e.to_json(), "file_owner": e.file_owner} for e in events])
        return 0
    rows = [[e.at[:19].replace("T", " "), safe(e.type),
             "" if e.version is None else str(e.version), safe(_who(e)),
             safe(" ".join(f"{k}={v}" for k, v in sorted(e.data.items())))] for e in events]
    emit(f"history of {safe(args.model)}: {len(events)} changes")
    for line in table(["WHEN", "WHAT", "VERSION", "WHO", "DETAIL"], rows, max_width=60):
        emit(line)
    return 0


def cmd_fsck(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    report = store.fsck(read_data=args.read_data)
    if args.json:
        emit_json(report.to_dict())
    else:
        emit(f"{report.records} records, {report.events} events, {report.blobs_checked} blobs"
             + (f", {human_size(report.bytes_hashed)} re-hashed" if args.read_data else ""))
        for p in report.problems:
            affected = f" (affects {', '.join(p.versions)})" if p.versions else ""
            emit(f"{safe(p.kind)}: {safe(p.message)}{safe(affected)}")
        if report.unreferenced_blobs:
            emit(f"{report.unreferenced_blobs} blobs no record uses (left by interrupted "
                 "writes; harmless)")
        emit("clean" if report.clean else f"{len(report.problems)} problems")
    return 0 if report.clean else 1


def cmd_reindex(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    report = store.reindex()
    if args.json:
        emit_json({"versions": report.versions, "events": report.events,
                   "problems": report.problems, "index": str(store.index_path)})
    else:
        emit(f"reindexed {report.versions} versions and {report.events} events"
             + (f"; {report.problems} unreadable files (see fsck)" if report.problems else ""))
    return 0


def cmd_export(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    dest = store.export(args.ref, Path(args.dest),
                        layout="files" if args.as_stored else "runtime")
    if args.json:
        emit_json({"ref": store.get(args.ref).ref, "dest": str(dest)})
    else:
        emit(f"exported {safe(store.get(args.ref).ref)} to {safe(dest)}")
    return 0


def cmd_watch(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.ingest.watcher import run_watch

    open_store(args, path).close()  # creates the default store on first use, checks others
    as_json = bool(getattr(args, "json", False)) and args.once  # lines go to stderr then
    out = sys.stderr if as_json else sys.stdout
    return run_watch(path, poll=args.poll, once=args.once, quiet_seconds=args.quiet,
                     log=lambda line: print(safe(line), file=out, flush=True),
                     report=emit_json if as_json else None)


def _progress_line():
    """show(done, total, text): `text` on one line of a terminal's stderr, at most 5 times a
    second, and a new line once done == total; None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    import time

    last = [0.0]

    def show(done: int, total: int, text: str) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 0.2:
            last[0] = now
            end = "\n" if done == total else ""
            print(f"\r\x1b[K{text}", end=end, file=sys.stderr, flush=True)

    return show


def _import_progress():
    """`done/total model version n` while `import-mlflow` runs (see _progress_line)."""
    line = _progress_line()
    if line is None:
        return None
    return lambda done, total, what: line(done, total, f"{done}/{total} {safe(what)}")


BUILD_PROGRESS_FROM = 2_000  # versions: below this a first build takes about a second


def _build_progress():
    """While this host's index is first built from the records (no shared snapshot), on
    a store big enough for it to take a while."""
    line = _progress_line()
    if line is None:
        return None

    def show(done: int, total: int) -> None:
        if total >= BUILD_PROGRESS_FROM:
            line(done, total, "modelyard: indexing this store on this host for the first "
                              f"time: {done:,} of {total:,} versions")

    return show


def cmd_import_mlflow(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.ingest.mlflow.sync import import_mlflow

    store = open_store(args, path)
    report = import_mlflow(store, Path(args.path), max_artifact_bytes=args.max_artifact_bytes,
                           progress=_import_progress())
    if args.json:
        emit_json(report.to_json())
        return 0
    for v in report.versions:
        if v.ref in report.created:
            aliases = "".join(f" @{a}" for a in v.aliases)
            emit(f"imported {safe(v.ref)}{safe(aliases)}")
        elif v.ref in report.updated:
            emit(f"updated {safe(v.ref)}: {safe('; '.join(report.updated[v.ref]))}")
        else:
            emit(f"unchanged {safe(v.ref)}")
    for ref, changes in report.updated.items():
        if ref not in {v.ref for v in report.versions}:
            emit(f"updated {safe(ref)}: {safe('; '.join(changes))}")
    for ref, reason in report.deprecated.items():
        emit(f"deprecated {safe(ref)}: {safe(reason)}")
    for skip in report.skipped:
        emit(f"skipped {safe(skip['what'])}: {safe(skip['reason'])}")
    for kept in report.referenced:
        if kept.get("not_copied"):
            emit(f"not copied: {safe(kept['ref'])}: {safe(kept['not_copied'])}")
            continue
        emit(f"not copied (over {report.max_artifact_bytes:,} bytes, kept as a reference): "
             f"{safe(kept['ref'])} {safe(kept['path'])} ({kept['size']:,} bytes, "
             f"{safe(kept['uri'])})")
    emit(f"{len(report.versions)} versions from {safe(args.path)}: {len(report.created)} "
         f"created, {len(report.updated)} updated, {len(report.deprecated)} deprecated, "
         f"{len(report.skipped)} skipped")
    return 0


def cmd_demo(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.api import Store
    from modelyard.store.demo.build import build_demo

    target = Path(args.path or "demo-store")
    if (target / "modelyard.json").exists():
        store = Store.open(target, index=Path(args.index) if args.index else None)
    else:
        store = build_demo(target, seed=args.seed)
    if args.no_open or not has_terminal():
        emit(safe(store.root))
        if not args.no_open:
            print("modelyard: no terminal, so the explorer was not opened; in a terminal: "
                  f"modelyard --store {safe(shlex.quote(str(store.root)))}", file=sys.stderr)
        return 0
    args.store = str(store.root)
    return open_explorer(args, store.root)


def has_terminal() -> bool:
    """The explorer draws on standard output and reads keys from standard input."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_explorer(args: argparse.Namespace, path: Path) -> int:
    if not has_terminal():  # it would draw escape codes into a file until killed
        print("modelyard: error: the explorer needs a terminal (standard input and output "
              "are not one); use the commands instead, e.g. `modelyard ls`", file=sys.stderr)
        return 2
    from modelyard.app.explorer import run_explorer

    return run_explorer(open_store(args, path, sync=False), watch=args.watch)
