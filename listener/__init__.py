"""Collectors (one module per platform), the query language, dedup and cursors."""
