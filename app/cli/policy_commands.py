"""CLI commands for policies and deployment: check, policy show/set/history, deploy-spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from .commands import open_store
from .output import emit, emit_json, safe, table


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
        policy = store.set_policy(Path(args.file))
        if args.json:
            emit_json(policy.to_data())
        else:
            emit(f"policy {policy.number} set by {safe(policy.set_by.get('user', ''))}; "
                 "every version was re-checked")
        return 0
    if args.action == "history":
        history = store.policy_history()
        if args.json:
            emit_json([p.to_data() for p in history])
        else:
            rows = [[str(p.number), safe(p.set_at[:19].replace("T", " ")),
                     safe(f"{p.set_by.get('user', '')}@{p.set_by.get('host', '')}"),
                     safe(", ".join(p.rules)), safe(p.description)] for p in history]
            for line in table(["POLICY", "SET AT", "BY", "RULES", "DESCRIPTION"], rows):
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


def cmd_deploy_spec(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    text = store.deploy_spec(args.ref, format=args.format, storage_uri=args.storage_uri)
    if args.output:
        Path(args.output).write_text(text)
        emit(f"wrote {safe(args.output)}")
    else:
        emit(safe(text, multiline=True).rstrip())
    return 0
