"""One pane per tab of a version's card; each has `show(version)` called off the loop's
critical path with a Version whose record is already loaded."""
