"""The `modelyard` command line: argparse, one module for parsing, one for printing."""
