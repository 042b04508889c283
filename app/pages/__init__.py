"""Server-rendered pages for CS ops people (sign-in, book, plans, hiring gaps, audit, import)."""

from pathlib import Path

from app.pages.imports import router as imports_router
from app.pages.routes import router

router.include_router(imports_router)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

__all__ = ["STATIC_DIR", "router"]
