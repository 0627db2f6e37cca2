"""Hugging Face folders: config, trainer state and weights headers."""
