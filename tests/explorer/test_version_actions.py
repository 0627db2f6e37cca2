"""The version actions' paths that test_compare_and_actions.py does not walk: removing an
alias or a tag, taking a deprecation back, a blank reason to force a gated alias, a store
error shown as text, and the same keys on the version card."""

from __future__ import annotations

from modelyard.app.dialogs.prompt import PromptDialog
from modelyard.app.messages import OpenVersion
from modelyard.app.screens.version_card import VersionScreen
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle

REF = "churn-xgb:25"  # the browse table's first row on the demo store


def said(app, severity: str = "information") -> list[str]:
    return [n.message for n in app._notifications if n.severity == severity]


async def test_minus_name_removes_the_alias_from_the_model(writable_store) -> None:
    store = writable_store
    store.set_alias(REF, "canary")
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(VersionsTable).current_ref == REF
        await pilot.press("a", *"-canary", "enter")
        await settle(pilot)
        assert "canary" not in store.get(REF).aliases
        assert store.history("churn-xgb")[-1].type == "alias.removed"
        assert "removed @canary" in said(app)


async def test_minus_key_removes_the_tag(writable_store) -> None:
    store = writable_store
    store.tag(REF, "stage", "canary")
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t", *"-stage", "enter")
        await settle(pilot)
        assert "stage" not in store.get(REF).tags
        assert store.history("churn-xgb")[-1].type == "tag.removed"
        assert f"removed tag stage from {REF}" in said(app)


async def test_x_on_a_deprecated_version_takes_it_back_without_asking(writable_store
                                                                       ) -> None:
    store = writable_store
    store.deprecate(REF, reason="superseded")
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, PromptDialog)
        assert not store.get(REF).deprecated
        last = store.history("churn-xgb")[-1]
        assert last.type == "deprecated.set" and last.data["deprecated"] is False
        assert f"{REF} is no longer deprecated" in said(app)


async def test_a_blank_reason_to_force_is_refused_and_asked_again(writable_store) -> None:
    store = writable_store
    before = store.get("churn-xgb@production").ref
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", *"production", "enter")
        await settle(pilot)
        assert "@production is gated" in export_text(app)
        await pilot.press(*"   ", "enter")  # the store wants a reason: the dialog comes back
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        assert "@production is gated" in export_text(app)
        assert store.get("churn-xgb@production").ref == before
        assert not said(app, "error")
        await pilot.press(*"rollback drill", "enter")
        await settle(pilot)
        assert store.get("churn-xgb@production").ref == REF
        last = store.history("churn-xgb")[-1]
        assert last.data["forced"] and last.data["reason"] == "rollback drill"
        assert f"@production → {REF} (forced)" in said(app)


async def test_a_store_error_is_shown_as_text_not_markup(writable_store) -> None:
    """Removing a tag the version lacks: the store's message names the key as typed. The
    toast is drawn here (run_test hides toasts unless asked): as markup, it would raise."""
    store = writable_store
    events = len(store.history("churn-xgb"))
    app = app_for(store)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("t", *"-[/bold]key", "enter")
        await settle(pilot)
        assert app.is_running
        errors = said(app, "error")
        assert len(errors) == 1 and "[/bold]key" in errors[0], errors
        assert not any(n.markup for n in app._notifications)
        assert "[/bold]key" in export_text(app)
        assert len(store.history("churn-xgb")) == events


async def test_the_version_card_has_the_same_actions(writable_store) -> None:
    store = writable_store
    ref = "vit-food101:12"
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion(ref))
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen)
        await pilot.press("t", *"team=vision", "enter")
        await settle(pilot)
        assert store.get(ref).tags["team"] == "vision"
        await pilot.press("a", *"staging", "enter")
        await settle(pilot)
        assert "@staging" in export_text(app)  # the card's title, refreshed
        await pilot.press("x", "enter")  # an empty reason is allowed
        await settle(pilot)
        assert store.get(ref).deprecated
        await pilot.press("x")
        await settle(pilot)
        assert not store.get(ref).deprecated
        assert isinstance(app.screen, VersionScreen) and app.screen.version.ref == ref
