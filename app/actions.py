"""The actions that change a version (alias, tag, describe, deprecate, export), shared by
the browse screen and the version card. Each asks through a dialog, writes a store event in
a worker thread, then tells every screen to refresh."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.screen import Screen

from modelyard.app.dialogs.describe import DescribeDialog
from modelyard.app.dialogs.prompt import PromptDialog
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

    @property
    def store(self) -> Store:
        return self.app.store  # type: ignore[attr-defined]

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
        self.app.push_screen(dialog, lambda name: name and self._write("alias", ref, name))

    def action_tag(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        dialog = PromptDialog("Tag", "KEY=VALUE sets a tag; -KEY removes it.", subject=ref,
                              placeholder="stage=prod", suggestions=self.store.keys("tags"))

        def answered(text: str | None) -> None:
            if not text:
                return
            if not text.startswith("-") and "=" not in text:  # as the CLI refuses it
                self.notify(f"Write tags as KEY=VALUE (got {printable(text)!r}); -KEY "
                            "removes one", title="Not done", severity="warning", markup=False)
                return
            self._write("tag", ref, text)

        self.app.push_screen(dialog, answered)

    def action_describe(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        text = self.store.get(ref).description
        self.app.push_screen(DescribeDialog(ref, text),
                             lambda new: new is not None and self._write("describe", ref, new))

    def action_deprecate(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        if self.store.get(ref).deprecated:
            self._write("undeprecate", ref, "")
            return
        dialog = PromptDialog("Deprecate", "Why? (shown in the history)", subject=ref,
                              placeholder="superseded by a retrain")
        self.app.push_screen(dialog,
                             lambda reason: reason is not None and self._write("deprecate",
                                                                               ref, reason))

    def action_export(self) -> None:
        ref = self._need_ref()
        if ref is None:
            return
        default = str(Path.cwd() / f"{ref.replace(':', '-v').replace('/', '_')}")
        dialog = PromptDialog("Export", "Copy the version's files, verified, into this new "
                              "folder.", subject=ref, value=printable(default))
        self.app.push_screen(dialog, lambda dest: dest and self._write("export", ref, dest))

    def _offer_force(self, ref: str, alias: str, refusal: str) -> None:
        """A gated alias was refused: say why, and let the user force it with a reason."""
        dialog = PromptDialog(
            f"@{alias} is gated", refusal + "\n\nForce it anyway? Give the reason "
            "(recorded in the history), or escape to leave the alias where it is.",
            subject=ref, placeholder="hotfix approved by the on-call lead")
        self.app.push_screen(dialog, lambda reason: reason and self._write(
            "alias-force", ref, f"{alias}\n{reason}"))

    @work(thread=True, group="store-writes")
    def _write(self, what: str, ref: str, arg: str) -> None:
        from modelyard.store.policy import AliasRefused

        store = self.store
        try:
            if what == "alias-force":
                alias, _, reason = arg.partition("\n")
                store.set_alias(ref, alias, force=True, reason=reason)
                message = f"@{alias} → {ref} (forced)"
            elif what == "alias":
                if arg.startswith("-"):
                    store.remove_alias(store.get(ref).model, arg[1:].strip())
                    message = f"removed @{arg[1:].strip()}"
                else:
                    store.set_alias(ref, arg.strip())
                    message = f"@{arg.strip()} → {ref}"
            elif what == "tag":
                if arg.startswith("-"):
                    store.untag(ref, arg[1:].strip())
                    message = f"removed tag {arg[1:].strip()} from {ref}"
                else:
                    key, _, value = arg.partition("=")
                    store.tag(ref, key.strip(), value.strip())
                    message = f"tagged {ref}: {key.strip()}={value.strip()}"
            elif what == "describe":
                store.describe(ref, arg)
                message = f"described {ref}"
            elif what == "deprecate":
                store.deprecate(ref, reason=arg)
                message = f"deprecated {ref}"
            elif what == "undeprecate":
                store.deprecate(ref, undo=True)
                message = f"{ref} is no longer deprecated"
            else:
                dest = store.export(ref, Path(arg).expanduser())
                message = f"exported {ref} to {dest}"
        except AliasRefused as exc:
            alias = arg.partition("\n")[0].strip()
            self.app.call_from_thread(self._offer_force, ref, alias,
                                      refusal_text(alias, ref, exc))
            return
        except (ModelyardError, OSError) as exc:
            self.app.call_from_thread(self.notify, printable(str(exc)), title="Not done",
                                      severity="error", markup=False, timeout=8)
            return
        self.app.call_from_thread(self.notify, printable(message), markup=False)
        self.app.call_from_thread(self.app.refresh_from_index)  # type: ignore[attr-defined]
