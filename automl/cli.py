"""Command-line entry point (the full CLI is its own issue)."""
