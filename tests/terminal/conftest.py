"""The installed `modelyard` command in a real terminal: tmux at a fixed size, real key
strokes with `send-keys`, the screen read with `capture-pane`. Waits on screen content,
never on fixed sleeps."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

MODELYARD = Path(sys.executable).parent / "modelyard"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Terminal:
    """One tmux server (its own socket) running one command at a fixed size."""

    def __init__(self, command: list[str], *, term: str, size: tuple[int, int],
                 env: dict[str, str]) -> None:
        self.socket = f"modelyard-test-{uuid.uuid4().hex[:8]}"
        self.status_file = Path(env["HOME"]) / f"exit-{self.socket}"
        shell = " ".join(_quote(c) for c in command)
        # TERM inside a pane is tmux's default-terminal whatever `-e TERM=` says, and the
        # server may inherit COLUMNS/LINES from the test process (they would override the
        # pane's size): set the one and drop the others on the command itself.
        self.seen_file = Path(env["HOME"]) / f"seen-{self.socket}"
        seen = (f"env -u COLUMNS -u LINES TERM={_quote(term)} sh -c "
                f"'echo $TERM $(stty size)' > {_quote(str(self.seen_file))}")
        shell = f"{seen}; env -u COLUMNS -u LINES TERM={_quote(term)} {shell}"
        script = f"{shell}; echo $? > {_quote(str(self.status_file))}; sleep 60"
        width, height = size
        settings = [f"{k}={v}" for k, v in env.items() if k in ENV_KEYS]
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                   *[a for kv in settings for a in ("-e", kv)], "sh", "-c", script)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=True, timeout=10).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def styled_screen(self) -> str:
        """The screen with its escape sequences: focus and toggles show only as styles."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "t")

    def wait_stable(self, timeout: float = 20.0) -> str:
        """The styled screen once it stops changing (two captures 0.1 s apart agree): a
        dialog has drawn and focused its content, so typed keys reach it."""
        deadline = time.monotonic() + timeout
        last = self.styled_screen()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.styled_screen()
            if now == last:
                return now
            last = now
        raise AssertionError(f"the screen kept changing:\n{self.screen()}")

    def press_and_settle(self, key: str, timeout: float = 20.0) -> str:
        """Press `key`, wait until the styled screen changed and then stopped changing: a
        key that moves the focus (/, M) has been handled, so the next keys go where it
        moved (Textual gives typed-ahead keys to the old focus)."""
        before = self.styled_screen()
        self.press(key)
        deadline = time.monotonic() + timeout
        while self.styled_screen() == before:
            if time.monotonic() > deadline:
                raise AssertionError(f"{key} changed nothing:\n{self.screen()}")
            time.sleep(0.05)
        return self.wait_stable(timeout)

    def press(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", "t", key)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 20.0) -> str:
        """The screen once `predicate` holds (a string: once it is on screen)."""
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            if self.status_file.exists():  # the app ended (crashed, or quit): stop waiting
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {predicate!r}; the screen:\n{screen}"
                             f"\n{self.stacks()}")

    def stacks(self) -> str:
        """Where the app's threads are: SIGABRT makes faulthandler (PYTHONFAULTHANDLER)
        print every thread's stack to the terminal, read back with its scrollback. For a
        failure's message: a stuck app and keys that went elsewhere look the same on screen."""
        pane = int(self._tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())
        apps = [pid for pid in _descendants(pane) if "modelyard" in _cmdline(pid)]
        self._tmux("resize-window", "-t", "t", "-x", "300", "-y", "300")  # no wrap, no scrollback
        for pid in apps:
            try:
                os.kill(pid, signal.SIGABRT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while apps and time.monotonic() < deadline and not self.status_file.exists():
            time.sleep(0.05)
        dump = self._tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", "t")
        start = dump.find("Fatal Python error")
        return "the app's threads:\n" + (dump[start:] if start >= 0 else dump)

    def exit_status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_file.exists() and self.status_file.read_text().strip():
                return int(self.status_file.read_text())
            time.sleep(0.05)
        raise AssertionError(f"the app did not exit; the screen:\n{self.screen()}")

    def seen(self) -> str:
        """What the command saw: `$TERM rows columns`."""
        return self.seen_file.read_text().strip() if self.seen_file.exists() else ""

    def close(self) -> None:
        """Kill this test's tmux server and remove its socket file (kill-server keeps it)."""
        found = subprocess.run(["tmux", "-L", self.socket, "display-message", "-p",
                                "#{socket_path}"], capture_output=True, text=True, timeout=10)
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)
        if found.returncode == 0 and found.stdout.strip():
            Path(found.stdout.strip()).unlink(missing_ok=True)


def _descendants(pid: int) -> list[int]:
    """Every process under `pid` (from /proc: the pane's shell, env, the app)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


ENV_KEYS = ("HOME", "MODELYARD_CACHE_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "NO_COLOR", "PAGER",
            "PATH", "LANG", "LC_ALL", "PYTHONFAULTHANDLER")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture(scope="session")
def terminal_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, built once by the installed command (tests must not write to it)."""
    root = tmp_path_factory.mktemp("terminal-demo")
    env = dict(os.environ, MODELYARD_CACHE_DIR=str(root / "cache"), HOME=str(root))
    subprocess.run([str(MODELYARD), "demo", str(root / "demo-store"), "--no-open"], env=env,
                   check=True, capture_output=True, timeout=120)
    return root / "demo-store"


@pytest.fixture
def terminal(terminal_demo: Path, isolated_env: Path, tmp_path: Path
             ) -> Iterator[Callable[..., Terminal]]:
    """Start `modelyard --store <demo copy>` in tmux: terminal(term=..., size=...)."""
    opened: list[Terminal] = []

    def start(*, term: str = "xterm-256color", size: tuple[int, int] = (80, 24),
              args: tuple[str, ...] = (), no_color: bool = True) -> Terminal:
        store = tmp_path / "store"
        if not store.exists():
            shutil.copytree(terminal_demo, store, symlinks=True)
            for folder, _dirs, _files in os.walk(store):
                os.chmod(folder, 0o775)
        env = dict(os.environ, LANG="C.UTF-8", PYTHONFAULTHANDLER="1")
        env.pop("NO_COLOR", None)
        if no_color:
            env["NO_COLOR"] = "1"
        t = Terminal([str(MODELYARD), "--store", str(store), *args], term=term, size=size,
                     env=env)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


@pytest.fixture
def command_terminal(isolated_env: Path) -> Iterator[Callable[..., Terminal]]:
    """Start `modelyard ARGS...` (any store) in tmux: command_terminal(*args, size=...)."""
    opened: list[Terminal] = []

    def start(*args: str, size: tuple[int, int] = (80, 24)) -> Terminal:
        t = Terminal([str(MODELYARD), *args], term="xterm-256color", size=size,
                     env=dict(os.environ, LANG="C.UTF-8", NO_COLOR="1",
                              PYTHONFAULTHANDLER="1"))
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()
