"""View modules, one per feature. Views stay thin: parse input, call portal.content, pick a template."""
