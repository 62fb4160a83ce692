"""Published statistics over a de-identified table of complaints, small cells suppressed
(docs/adr/0015-statistics-and-duplicates.md)."""
