"""One module per `bookplan` verb; see `app/cli.py`."""
