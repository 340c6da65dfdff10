"""A worked example: a collector plugin, outside the product, registered through an entry point."""
