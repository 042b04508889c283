"""The HTTP layer: routers, dependencies and the error mapping."""
