"""One module per kind, each a pure `sync` (plus `customize` where used)."""
