"""The explorer's screens: browse, a version's card, compare, help."""
