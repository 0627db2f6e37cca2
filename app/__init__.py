"""modelyard's front ends: the Textual explorer and the command line. Importing this package
imports nothing heavy; the CLI's listing commands must start fast."""
