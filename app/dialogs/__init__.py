"""Small typed modal dialogs for the actions that write store events."""
