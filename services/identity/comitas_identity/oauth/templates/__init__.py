"""Jinja templates of the sign-in pages (a package, so that packaging includes the *.html files)."""
