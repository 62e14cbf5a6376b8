"""Mounts the inspector on the app: its routes, its static files, and what its own refusals look like."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from linq_server.inspector import routes
from linq_server.inspector.auth import FormRefused, NotSignedIn


async def _sign_in_first(_request: Request, _error: Exception) -> Response:
    return RedirectResponse("/inspector/sign-in", status_code=303)


async def _refused(request: Request, _error: Exception) -> Response:
    message = "This form was refused: it did not come from this session's page. Reload the page and try again."
    response: HTMLResponse = routes.render(request, "error.html", None, status=403, message=message)
    return response


def install(app: FastAPI) -> None:
    # Compiled now rather than on the first request, so no page's first render pays for it.
    for name in routes.TEMPLATES.env.list_templates():
        routes.TEMPLATES.env.get_template(name)
    app.include_router(routes.router)
    app.mount("/inspector/static", StaticFiles(directory=Path(__file__).parent / "static"), name="inspector-static")
    app.add_exception_handler(NotSignedIn, _sign_in_first)
    app.add_exception_handler(FormRefused, _refused)
