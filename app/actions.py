"""The actions that change a version (alias, tag, describe, deprecate, export), shared by
the browse screen and the version card. Each asks through a dialog, writes a store event in
a worker thread, then tells every screen to refresh."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import getters, work
from textual.binding import Binding
from textual.screen import Screen

from modelyard.app.dialogs.describe import DescribeDialog
from modelyard.app.dialogs.prompt import PromptDialog
from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import printable
from modelyard.store import ModelyardError, Store


def refusal_text(alias: str, ref: str, refused) -> str:
    """Every rule a gated alias requires and the version fails, each reason on its own line
    (the store's one-line message ends in CLI advice, --force --reason)."""
    failures = getattr(refused, "failures", None) or []
    if not failures:
        return printable(str(refused))
    lines = [f"@{printable(alias)} requires passing "
             f"{', '.join(printable(r.rule) for r in failures)}; {printable(ref)} fails:"]
    for rule in failures:
        lines.append(f"✗ {printable(rule.rule)}")
        lines += [f"  - {printable(reason)}" for reason in rule.reasons]
    return "\n".join(lines)


class VersionActions(Screen):
    """Mixin for screens that have a current version (`current_ref`)."""

    # Not BINDINGS: Textual merges BINDINGS base class first (a subclass naming the same key
    # keeps the base's place), so the footer would show these before the screen's own keys
    # and drop Help and Quit at 80 columns. Each screen splices them where they belong.
    ACTION_BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "alias", "Alias"),
        Binding("t", "tag", "Tag"),
        Binding("d", "describe", "Describe"),
        Binding("x", "deprecate", "Deprecate"),
        Binding("e", "export", "Export"),
    ]

    app = getters.app(ExplorerApp)

    @property
    def store(self) -> Store:
        return self.app.store

    def current_ref(self) -> str | None:  # overridden by screens
        return None

    def _need_ref(self) -> str | None:
        ref = self.current_ref()
        if ref is None:
            self.notify("No version selected", severity="warning")
        return ref

    def action_alias(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        dialog = PromptDialog(
            "Set or move an alias", "The alias will point at this version (moving it if it "
            "points elsewhere). Prefix with - to remove it from the model.", subject=ref,
            placeholder="champion", suggestions=self.store.keys("aliases"))

        def answered(text: str | None) -> None:
            if not text:
                return
            if text.startswith("-"):
                name = text[1:].strip()
                self._write(lambda: self.store.remove_alias(self.store.get(ref).model, name),
                            f"removed @{name}")
            else:
                name = text.strip()
                self._write(lambda: self.store.set_alias(ref, name), f"@{name} → {ref}",
                            gate=(ref, name))

        self.app.push_screen(dialog, answered)

    def action_tag(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        dialog = PromptDialog("Tag", "KEY=VALUE sets a tag; -KEY removes it.", subject=ref,
                              placeholder="stage=prod", suggestions=self.store.keys("tags"))

        def answered(text: str | None) -> None:
            if not text:
                return
            if text.startswith("-"):
                key = text[1:].strip()
                self._write(lambda: self.store.untag(ref, key), f"removed tag {key} from {ref}")
                return
            if "=" not in text:  # as the CLI refuses it
                self.notify(f"Write tags as KEY=VALUE (got {printable(text)!r}); -KEY "
                            "removes one", title="Not done", severity="warning", markup=False)
                return
            key, _, value = (part.strip() for part in text.partition("="))
            self._write(lambda: self.store.tag(ref, key, value), f"tagged {ref}: {key}={value}")

        self.app.push_screen(dialog, answered)

    def action_describe(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return

        def answered(text: str | None) -> None:
            if text is not None:
                self._write(lambda: self.store.describe(ref, text), f"described {ref}")

        self.app.push_screen(DescribeDialog(ref, self.store.get(ref).description), answered)

    def action_deprecate(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        if self.store.get(ref).deprecated:  # x again takes it back, without asking
            self._write(lambda: self.store.deprecate(ref, undo=True),
                        f"{ref} is no longer deprecated")
            return
        dialog = PromptDialog("Deprecate", "Why? (shown in the history)", subject=ref,
                              placeholder="superseded by a retrain")

        def answered(reason: str | None) -> None:
            if reason is not None:  # an empty reason is allowed
                self._write(lambda: self.store.deprecate(ref, reason=reason),
                            f"deprecated {ref}")

        self.app.push_screen(dialog, answered)

    def action_export(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        default = str(Path.cwd() / f"{ref.replace(':', '-v').replace('/', '_')}")
        dialog = PromptDialog("Export", "Copy the version's files, verified, into this new "
                              "folder.", subject=ref, value=printable(default))

        def answered(text: str | None) -> None:
            if text:
                dest = Path(text).expanduser()
                self._write(lambda: self.store.export(ref, dest), f"exported {ref} to {dest}")

        self.app.push_screen(dialog, answered)

    def _offer_force(self, ref: str, alias: str, refusal: str) -> None:
        """A gated alias was refused: say why, and let the user force it with a reason."""
        dialog = PromptDialog(
            f"@{alias} is gated", refusal + "\n\nForce it anyway? Give the reason "
            "(recorded in the history), or escape to leave the alias where it is.",
            subject=ref, placeholder="hotfix approved by the on-call lead")

        def answered(reason: str | None) -> None:
            if reason:  # a blank one is refused by the store, and this dialog comes back
                self._write(lambda: self.store.set_alias(ref, alias, force=True,
                                                         reason=reason),
                            f"@{alias} → {ref} (forced)", gate=(ref, alias))

        self.app.push_screen(dialog, answered)

    @work(thread=True, group="store-writes")
    def _write(self, write: Callable[[], object], done: str, *,
               gate: tuple[str, str] | None = None) -> None:
        """Run one store write off the event loop, say `done`, and refresh every screen.
        `gate` is the (ref, alias) the write moves: a refusal by the alias's gate offers
        to force it rather than ending in an error."""
        from modelyard.store.policy import AliasRefused

        try:
            write()
        except (ModelyardError, OSError) as exc:
            if gate is not None and isinstance(exc, AliasRefused):
                ref, alias = gate
                self.app.call_from_thread(self._offer_force, ref, alias,
                                          refusal_text(alias, ref, exc))
            else:  # the store's words, as text: names in it come from users and drops
                self.app.call_from_thread(self.notify, printable(str(exc)), title="Not done",
                                          severity="error", markup=False, timeout=8)
            return
        self.app.call_from_thread(self.notify, printable(done), markup=False)
        self.app.call_from_thread(self.app.refresh_from_index)
