"""Contributions and the editorial workflow: drafts, revisions, review, publication, working copies."""
