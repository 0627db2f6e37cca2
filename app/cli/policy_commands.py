"""CLI commands for policies and deployment: check, policy show/set/history, deploy-spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from modelyard.app.cli.commands import open_store
from modelyard.app.cli.output import emit, emit_json, safe, table


def cmd_check(args: argparse.Namespace, path: Path) -> int:
    """Exit 1 when a blocking rule fails, so CI jobs can gate on it."""
    store = open_store(args, path)
    report = store.check(args.ref, record=not args.dry_run)
    if args.json:
        emit_json(report.to_dict())
    else:
        if report.policy is None:
            emit("the store has no policy; set one with `modelyard policy set FILE`")
            return 0
        emit(f"{safe(report.ref)} against policy {report.policy}: {report.state}")
        for rule in report.rules:
            mark = "pass" if rule.passed else ("FAIL" if rule.blocking else "warn")
            emit(f"  {mark:4}  {safe(rule.rule)}" + (f"  {safe(rule.description)}"
                                                     if rule.description else ""))
            for reason in rule.reasons:
                emit(f"        - {safe(reason)}")
        if not report.rules:
            emit("  no rule applies to this version")
    return 1 if report.failing else 0


def cmd_policy(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.policy.loader import dump_policy

    store = open_store(args, path)
    if args.action == "set":
        if not args.file:
            raise SystemExit("modelyard policy set: give the policy FILE")
        new = store.set_policy(Path(args.file))
        change = {c["policy"]: c for c in store.policy_changes()}.get(new.number) or {}
        if args.json:
            emit_json({**new.to_data(), "gate_change": change})
        else:
            emit(f"policy {new.number} set by {safe(new.set_by.get('user', ''))}; "
                 "every version was re-checked")
            if change.get("flagged"):
                emit(f"warning: it weakens alias gates ({safe('; '.join(change['weakened']))}) "
                     "and you are not a policy admin: fsck and history show it as a "
                     "violation, and the old gates still judge alias moves")
        return 0
    if args.action == "history":
        history = store.policy_history()
        changes = {c["policy"]: c for c in store.policy_changes()}
        if args.json:
            emit_json([{**p.to_data(), "gate_change": changes.get(p.number, {})}
                       for p in history])
        else:
            rows = [[str(p.number), safe(p.set_at[:19].replace("T", " ")),
                     safe(f"{p.set_by.get('user', '')}@{p.set_by.get('host', '')}"),
                     safe(changes.get(p.number, {}).get("owner", "")),
                     safe(", ".join(p.rules)), _gate_note(changes.get(p.number, {})),
                     safe(p.description)] for p in history]
            for line in table(["POLICY", "SET AT", "BY", "FILE OWNER", "RULES", "GATES",
                               "DESCRIPTION"], rows):
                emit(line)
        return 0
    policy = store.policy()
    if args.json:
        emit_json(policy.to_data() if policy else None)
    elif policy is None:
        emit("the store has no policy; set one with `modelyard policy set FILE`")
    else:
        emit(safe(dump_policy(policy), multiline=True).rstrip())
    return 0


def _gate_note(change: dict) -> str:
    if change.get("flagged"):
        return safe("VIOLATION: " + "; ".join(change["weakened"]))
    return "weakened by an admin" if change.get("weakened") else ""


def cmd_deploy_spec(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    text = store.deploy_spec(args.ref, format=args.format, storage_uri=args.storage_uri)
    if args.output:
        Path(args.output).write_text(text)
        emit(f"wrote {safe(args.output)}")
    else:
        emit(safe(text, multiline=True).rstrip())
    return 0
