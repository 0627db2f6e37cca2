"""Is it a pickle? Read its first opcodes with `pickletools.genops`, which parses the
stream and never runs it: nothing is unpickled, imported or called.

Protocols 2 to 5 open with a PROTO opcode; 0 and 1 have no header at all, and a protocol-0
pickle (`cos\\nsystem\\n(S'...'\\ntR.`) is valid UTF-8 text. So a stream counts as a pickle
when its first opcodes parse, their stack and memo effects add up as an unpickler's would,
and they amount to something: a pickle whose STOP ends the file, an import or a call (GLOBAL
or INST naming a module and an attribute, REDUCE, OBJ, NEWOBJ, BUILD), or MIN_OPCODES of
them. What follows does not matter: an unpickler has run that much before it reaches any
junk. Text fails fast: a space is no opcode, and the opcodes that take a line need what
text seldom gives (a dotted name after a c, a quoted string after an S, a PUT before a GET).
"""

from __future__ import annotations

import io
import pickletools
import re

MIN_OPCODES = 16
_CALLS = {"GLOBAL", "INST", "REDUCE", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD"}
_IMPORTS = {"GLOBAL", "INST"}  # their argument: "module attribute"
_DOTTED = re.compile(r"[A-Za-z_][\w.]* [A-Za-z_][\w.]*")
_MARK = pickletools.markobject
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
Ops = list[tuple[pickletools.OpcodeInfo, object]]


def pickle_protocol(head: bytes, *, size: int) -> int | None:
    """The protocol (0 to 5) of the pickle that `head`, the first bytes of a file of `size`
    bytes, begins, or None when it begins none."""
    if len(head) >= 2 and head[0] == 0x80:
        return head[1] if 2 <= head[1] <= 5 else None
    ops: Ops = []
    ends_file = False
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(head)):
            ops.append((op, arg))
            if op.name == "STOP":
                ends_file = pos is not None and pos + 1 == size
                break
    except ValueError:  # not an opcode, a bad argument, or the end of `head`
        pass
    run = ops[:_runs(ops)]  # what an unpickler would run before it failed
    if not run or len(run) < len(ops):
        ends_file = False
    if any(op.name in _IMPORTS and not _DOTTED.fullmatch(str(arg)) for op, arg in run):
        return None  # an unpickler would fail to import it, having run nothing
    if ends_file or any(op.name in _CALLS for op, _ in run) or len(run) >= MIN_OPCODES:
        return max(op.proto for op, _ in run)  # protocol 1 added the binary opcodes
    return None


def _runs(ops: Ops) -> int:
    """How many of `ops` add up, by the stack and memo checks of `pickletools.dis`: every
    pop finds its items (a MARK is not one), every MARK-taker a MARK, every PUT an object,
    every GET a PUT, and a STOP leaves nothing behind."""
    stack: list[bool] = []  # True: a MARK
    memo: set[object] = set()
    for done, (op, arg) in enumerate(ops):
        before = op.stack_before
        takes_mark = _MARK in before
        if takes_mark or (op.name == "POP" and stack and stack[-1]):
            if True not in stack:
                return done
            del stack[len(stack) - 1 - stack[::-1].index(True):]  # to and with the MARK
            count = before.index(_MARK) if takes_mark else 0  # what lies below the MARK
        else:
            count = len(before)
        if len(stack) < count or any(stack[len(stack) - count:]):
            return done
        if op.name in _PUTS:
            if not stack or stack[-1]:
                return done
            memo.add(len(memo) if op.name == "MEMOIZE" else arg)
        elif op.name in _GETS and arg not in memo:
            return done
        del stack[len(stack) - count:]
        if op.name == "STOP" and stack:
            return done
        stack += [item is _MARK for item in op.stack_after]
    return len(ops)
