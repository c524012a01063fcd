"""Content types, their rules and the loader for content/ files."""
