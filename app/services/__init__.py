"""Use cases behind the routes and the CLI: the book, plans, approval, keys, CSV."""
