"""Source: git commit, branch and remote, a file tree, highlighted code and the dirty diff."""

from __future__ import annotations

from pathlib import PurePosixPath

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from modelyard.app.safe_text import printable
from modelyard.store import ModelyardError, Version

DIFF = "\x00diff"
MAX_SHOWN = 512 * 1024


def code_view(text: str, filename: str) -> Syntax:
    """Highlighted code; control characters made visible first (Rich passes ESC through)."""
    safe = printable(text, multiline=True)
    lexer = "diff" if filename == DIFF else Syntax.guess_lexer(filename, safe)
    return Syntax(safe, lexer, line_numbers=True, word_wrap=False, theme="ansi_dark")


class SourcePane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="git-info")
        with Horizontal():
            yield Tree(Text("files"), id="source-tree", classes="pane-left")
            with VerticalScroll(classes="pane-right", id="code-scroll"):
                yield Static("", id="code")

    def show(self, v: Version) -> None:
        self.version = v
        src = v.source or {}
        git = src.get("git") or {}
        info = Text()
        for key in ("commit", "branch", "remote"):
            if git.get(key):
                info.append(f"{key} ", style="bold")
                info.append(printable(git[key]) + "   ")
        if git.get("dirty"):
            info.append("dirty: uncommitted changes (see the diff)", style="bold")
        if not src:
            info = Text("this version recorded no source", style="dim")
        self.query_one("#git-info", Static).update(info)
        tree = self.query_one(Tree)
        tree.clear()
        tree.root.expand()
        folders: dict[str, TreeNode] = {}
        for f in sorted(src.get("files") or [], key=lambda f: f["path"]):
            parts = PurePosixPath(f["path"]).parts
            node = tree.root
            for i, part in enumerate(parts[:-1]):
                key = "/".join(parts[: i + 1])
                if key not in folders:
                    folders[key] = node.add(Text(printable(part) + "/"), expand=True)
                node = folders[key]
            node.add_leaf(Text(printable(parts[-1])), data=f["path"])
        if src.get("diff"):
            tree.root.add_leaf(Text("uncommitted diff", style="bold"), data=DIFF)
        paths = [f["path"] for f in src.get("files") or []]
        entry = src.get("entrypoint")
        # which file opens first, not a format: source entries record no kind, only a name
        code = [p for p in paths if p.endswith(".py")]
        first = entry if entry in paths else next(iter(code or paths), None)
        if first:
            self._open(first)
        else:
            self.query_one("#code", Static).update("")

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data:
            self._open(event.node.data)

    @work(thread=True, exclusive=True, group="source")
    def _open(self, path: str) -> None:
        try:
            if path == DIFF:
                text = self.version.source_diff()
            else:
                raw = self.version.source_file(path)
                text = raw[:MAX_SHOWN].decode("utf-8", "replace")
        except (ModelyardError, FileNotFoundError) as exc:
            text = f"cannot show {path}: {exc}"
        self.app.call_from_thread(self.query_one("#code", Static).update, code_view(text, path))
