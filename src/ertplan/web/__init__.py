"""The clinic's web pages, served by ``ertplan serve`` beside the REST API.

Server-rendered Jinja2 templates (``templates/``) with htmx (vendored in ``static/``: no build
step, no CDN) for the live previews. :func:`install` adds the pages to the application that
:func:`ertplan.app.create_app` composes, beside the REST API; both work through
:mod:`ertplan.service.actions`.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from ertplan.core.errors import InputError

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the pages under ``/ui`` (``/`` leads there) and their static files."""
    from ertplan.web.pages import install_error_pages, router

    try:
        app.state.web_zone = ZoneInfo(app.state.settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", "must be an IANA time zone such as Europe/Paris or UTC",
                         app.state.settings.timezone) from None
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/patients", status_code=303)

    install_error_pages(app)
