"""The writer SDK (`modelyard.new_version`): record a run and drop it into a store."""
