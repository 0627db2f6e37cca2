"""Files on disk: write-once records and events, content-addressed blobs, the layout,
crash-safe writes, the change log and the filesystem's clock. Truth lives here."""
