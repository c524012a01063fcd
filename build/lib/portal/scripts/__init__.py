"""Console scripts (portal-init, portal-load, ...)."""
