"""Reusable widgets of the explorer; `card/` holds the panes of a version's card."""
