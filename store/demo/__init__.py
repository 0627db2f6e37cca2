"""The demo store: six model families built from a seed, byte for byte the same each run."""
