"""Possible duplicates and forum shopping: a keyed blind index over victims and incidents, and the
notices each side of a match may see (docs/adr/0015-statistics-and-duplicates.md)."""
