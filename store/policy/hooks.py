"""Run the commands a store names for its events, and record how each run went.

A hook is an argument list, never a shell line, and gets the event as JSON on standard
input. It runs in its own process group with a timeout, its output goes to temporary files
(only the tail is kept), and its outcome becomes a `hook.ran` event. Nothing it does can
fail the command that triggered it: the triggering event is already written, and every
error is caught and recorded. Hooks run with MODELYARD_NO_HOOKS=1 set, so a hook that calls
modelyard cannot trigger hooks in turn; set it yourself to run no hooks in a process.

A hook runs as whoever triggered it, so it runs only when that person trusts its author,
the real owner of the file it came from (see trust.py); otherwise it is skipped, and the
skip and its reason are logged and recorded as a `hook.ran` event with `skipped: true`.
Its environment is built from an allow-list (ENV_ALLOWED, plus the MODELYARD_* variables
that describe the event), never the caller's whole environment: no tokens, no keys.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from modelyard.store.disk.events import Event
from modelyard.store.policy.errors import PolicyError
from modelyard.store.policy.loader import hooks_from_data
from modelyard.store.policy.model import HookSpec
from modelyard.store.policy.trust import Origin, refusal

if TYPE_CHECKING:
    from modelyard.store.policy.service import PolicyService

_log = logging.getLogger("modelyard.hooks")
OUTPUT_TAIL = 4000  # characters of stdout and stderr kept in the hook.ran event
DISABLE_ENV = "MODELYARD_NO_HOOKS"
# the caller's variables a hook may see (plus every LC_*); nothing else passes
ENV_ALLOWED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")


@dataclass
class Outcome:
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    skipped: str = ""  # why it was not run (its author is not trusted here)

    @property
    def ok(self) -> bool:
        return (self.exit_code == 0 and not self.timed_out and not self.error
                and not self.skipped)


def configured_hooks(service: PolicyService) -> list[HookSpec]:
    """Hooks from the store config (`settings.hooks` in modelyard.json), then the policy's."""
    out: list[HookSpec] = []
    raw = service.ctx.config["settings"].get("hooks")
    if raw:
        try:
            found = hooks_from_data(raw, "modelyard.json: settings.hooks", source="config")
            origin = _config_origin(service)
            out += [replace(h, origin=origin) for h in found]
        except PolicyError:
            _log.exception("ignoring the hooks in modelyard.json")
    policy = service.current()
    if policy is not None:
        out += [replace(h, origin=policy.origin) for h in policy.hooks]
    return out


def _config_origin(service: PolicyService) -> Origin | None:
    try:
        return Origin.of(service.ctx.layout.config_path)
    except OSError:
        return None


def fire(service: PolicyService, trigger: str, event: Event, *, model: str, version: int | None,
         alias: str = "", rule: str = "", extra: dict[str, Any] | None = None) -> int:
    """Run every hook configured for `trigger` (alias.set…) caused by `event`; returns how
    many ran. Never raises."""
    if os.environ.get(DISABLE_ENV):
        return 0
    try:
        hooks = [h for h in configured_hooks(service)
                 if h.matches(trigger, model, alias=alias, rule=rule)]
    except Exception:  # noqa: BLE001 - a damaged policy must not fail the command
        _log.exception("could not read the hooks of %s", service.ctx.root)
        return 0
    ran = 0
    for hook in hooks:
        why_not = refusal(hook.origin, hook.name)
        if why_not:
            _log.warning("skipped %s", why_not)
            _record(service, hook, trigger, event, model, version, alias, rule,
                    Outcome(skipped=why_not))
            continue
        ran += 1
        payload = {"schema": "modelyard.hook/1", "hook": hook.name, "trigger": trigger,
                   "store": str(service.ctx.root),
                   "store_id": service.ctx.config.get("store_id", ""),
                   "model": model, "version": version,
                   "ref": f"{model}:{version}" if version is not None else None,
                   "alias": alias or None, "rule": rule or None,
                   "event": event.to_json(), **(extra or {})}
        try:
            outcome = run_command(hook, payload)
        except Exception as exc:  # noqa: BLE001 - recorded below instead
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        _record(service, hook, trigger, event, model, version, alias, rule, outcome)
    return ran


def hook_env(hook: HookSpec, payload: dict[str, Any]) -> dict[str, str]:
    """The hook's whole environment: the allow-listed variables of the caller and the
    MODELYARD_* variables describing the event (also on stdin, as JSON)."""
    env = {k: v for k, v in os.environ.items()
           if k in ENV_ALLOWED or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    described = {"MODELYARD_MODEL": payload.get("model"), "MODELYARD_REF": payload.get("ref"),
                 "MODELYARD_VERSION": payload.get("version"),
                 "MODELYARD_ALIAS": payload.get("alias"), "MODELYARD_RULE": payload.get("rule")}
    env.update({k: str(v) for k, v in described.items() if v is not None})
    env.update({DISABLE_ENV: "1", "MODELYARD_STORE": str(payload.get("store", "")),
                "MODELYARD_HOOK": hook.name, "MODELYARD_HOOK_EVENT": hook.event})
    return env


def run_command(hook: HookSpec, payload: dict[str, Any]) -> Outcome:
    env = hook_env(hook, payload)
    data = json.dumps(payload, sort_keys=True, ensure_ascii=True).encode() + b"\n"
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(list(hook.command), stdin=subprocess.PIPE, stdout=out,
                                    stderr=err, env=env, start_new_session=True,
                                    close_fds=True)
        except OSError as exc:
            return Outcome(error=f"could not start {hook.command[0]}: "
                                 f"{exc.strerror or exc}", seconds=_since(start))
        outcome = Outcome()
        try:
            proc.communicate(data, timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            outcome.timed_out = True
            _kill_group(proc)
        outcome.exit_code = proc.returncode
        outcome.seconds = _since(start)
        outcome.stdout, outcome.stderr = _tail(out), _tail(err)
    return outcome


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the hook and everything it started (its own session and process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # unkillable (D state): leave it, do not hang
        pass
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass


def _tail(handle: Any) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - OUTPUT_TAIL * 4))
    return handle.read().decode("utf-8", "replace")[-OUTPUT_TAIL:]


def _since(start: float) -> float:
    return round(time.monotonic() - start, 3)


def _record(service: PolicyService, hook: HookSpec, trigger: str, event: Event, model: str,
            version: int | None, alias: str, rule: str, outcome: Outcome) -> None:
    cause: dict[str, Any] = {"type": event.type, "seq": event.seq}
    if alias:
        cause["alias"] = alias
    if rule:
        cause["rule"] = rule
    data = {"hook": hook.name, "trigger": trigger, "source": hook.source, "cause": cause,
            "command": list(hook.command), "ok": outcome.ok, "exit_code": outcome.exit_code,
            "timed_out": outcome.timed_out, "seconds": outcome.seconds,
            "stdout": outcome.stdout, "stderr": outcome.stderr, "error": outcome.error}
    if hook.origin is not None:
        data["author"] = {"uid": hook.origin.uid, "name": hook.origin.owner,
                          "file": hook.origin.path}
    if outcome.skipped:
        data.update(skipped=True, reason=outcome.skipped)
    if not outcome.ok and not outcome.skipped:
        _log.warning("hook %s for %s failed: %s", hook.name, trigger,
                     outcome.error or ("timed out" if outcome.timed_out
                                       else f"exit code {outcome.exit_code}"))
    try:
        service.write_event(model, "hook.ran", version, data)
    except Exception:  # noqa: BLE001 - e.g. a read-only store: the run still happened
        _log.exception("could not record the outcome of hook %s", hook.name)
