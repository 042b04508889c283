"""Server-rendered pages for CS ops people (sign-in, book, plans, hiring gaps, audit, change sheets, import)."""

from pathlib import Path

from app.pages.handoffs import router as handoff_router
from app.pages.imports import router as imports_router
from app.pages.routes import router
from app.pages.routing import router as routing_router

router.include_router(routing_router)

router.include_router(imports_router)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router.include_router(handoff_router)

__all__ = ["STATIC_DIR", "router"]
