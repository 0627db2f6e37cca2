"""One version and what is done with it: its record read back, its card, diffs,
history, export and serving specs."""
