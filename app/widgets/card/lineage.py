"""Lineage: parents (and theirs), children, data sets and the source run, as a tree.
Enter on a version node opens it."""

from __future__ import annotations

from rich.text import Text
from textual import getters, on, work
from textual.widgets import Tree

from modelyard.app.explorer import ExplorerApp
from modelyard.app.messages import OpenVersion
from modelyard.app.safe_text import printable
from modelyard.store import ModelyardError, Store, Version

MAX_DEPTH = 6


def _label(ref: str, relation: str = "", known: bool = True) -> Text:
    label = Text(printable(ref), style="bold" if known else "italic")
    if relation:
        label.append(f"  {printable(relation)}", style="dim")
    if not known:
        label.append("  (not in this store)", style="dim")
    return label


class LineagePane(Tree):
    app = getters.app(ExplorerApp)

    def __init__(self, **kwargs) -> None:
        super().__init__(Text("lineage"), **kwargs)
        self.show_root = False

    def show(self, v: Version) -> None:
        self.clear()
        self._load(v)

    @work(thread=True, exclusive=True, group="lineage")
    def _load(self, v: Version) -> None:
        store: Store = self.app.store
        parents = self._ancestry(store, v, 0, set())
        children = [(c.ref, c.parents) for c in v.children()]
        self.app.call_from_thread(self._fill, v, parents, children)

    def _ancestry(self, store: Store, v: Version, depth: int, seen: set[str]) -> list:
        out = []
        for p in v.parents:
            try:
                parent = store.get(p["ref"]) if depth < MAX_DEPTH else None
            except ModelyardError:
                parent = None
            if parent is not None and parent.ref not in seen:
                seen.add(parent.ref)
                out.append((parent.ref, p.get("relation", ""), True,
                            self._ancestry(store, parent, depth + 1, seen)))
            else:
                out.append((p["ref"], p.get("relation", ""), parent is not None, []))
        return out

    def _fill(self, v: Version, parents: list, children: list) -> None:
        root = self.root
        me = root.add(_label(v.ref, "this version"), data=None, expand=True)
        up = me.add(Text(f"parents ({len(parents)})", style="bold"), expand=True)
        self._add_parents(up, parents)
        down = me.add(Text(f"children ({len(children)})", style="bold"), expand=True)
        for ref, theirs in children:
            relation = next((p.get("relation", "") for p in theirs
                             if p.get("model") == v.model), "")
            down.add_leaf(_label(ref, relation), data=ref)
        data = me.add(Text(f"data sets ({len(v.datasets)})", style="bold"), expand=True)
        for d in v.datasets:
            label = Text(f"{d['role']}: ", style="bold")
            label.append(printable(d.get("name") or d.get("uri")))
            if d.get("digest"):
                label.append(f"  {printable(d['digest'])}", style="dim")
            node = data.add(label, expand=False)
            if d.get("uri"):
                node.add_leaf(Text(printable(d["uri"]), style="dim"))
        run = v.training.get("run_id") or (v.origin or {}).get("run_id")
        src = (v.source or {}).get("git") or {}
        origin = me.add(Text("source run", style="bold"), expand=True)
        for key, value in (("origin", (v.origin or {}).get("kind")), ("run", run),
                           ("commit", src.get("commit")), ("branch", src.get("branch")),
                           ("trained by", f"{v.user}@{v.host}")):
            if value:
                origin.add_leaf(Text.assemble((f"{key}: ", "bold"), printable(value)))
        root.expand_all()
        self.cursor_line = 0  # this version, selected: the keys act on a node from the start

    def _add_parents(self, node, parents: list) -> None:
        for ref, relation, known, grand in parents:
            child = node.add(_label(ref, relation, known), data=ref if known else None,
                             expand=True, allow_expand=bool(grand))
            self._add_parents(child, grand)

    @on(Tree.NodeSelected)
    def _open(self, event: Tree.NodeSelected) -> None:
        if event.node.data:
            self.post_message(OpenVersion(event.node.data))
