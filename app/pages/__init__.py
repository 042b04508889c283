"""Server-rendered pages for CS ops people (sign-in, book, plans, hiring gaps, audit)."""

from pathlib import Path

from app.pages.routes import router
from app.pages.routing import router as routing_router

router.include_router(routing_router)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

__all__ = ["STATIC_DIR", "router"]
