"""fsck: every file checked against its digest and the index against the files."""
