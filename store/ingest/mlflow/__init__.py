"""Importing MLflow: its file and SQLite stores, read as a repeatable sync."""
