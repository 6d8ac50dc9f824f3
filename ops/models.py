"""ops keeps no tables of its own. This module is here so that Django sends
`post_migrate` for ops, whose handler makes the database cache's table
(ops/apps.py)."""
