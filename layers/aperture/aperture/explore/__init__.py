"""Explore: out-of-network discovery by two-stage retrieval and ranking, trained daily on the log."""
