"""Adding the dashboard to an app (:func:`install_ui`) and the whole app (:func:`create_dashboard_app`).

The server builds the API alone (:func:`driftline.server.create_app`); the
dashboard sits above it and is composed here, so ``server`` never imports ``ui``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from driftline.ui._alerts import alerts_router
from driftline.ui._common import STATIC
from driftline.ui._login import login_router
from driftline.ui._pages import pages_router
from driftline.ui._reports import ReportStore, reports_router
from driftline.ui._runs import runs_router

if TYPE_CHECKING:
    from driftline.config import Settings
    from driftline.store import Store

__all__ = ["PLOTLY_CACHE", "create_dashboard_app", "install_ui", "plotly_js_path"]

PLOTLY_CACHE = "public, max-age=31536000, immutable"
"""Cache-Control of the Plotly bundle (its URL never changes within one release)."""


def plotly_js_path() -> Path:
    """Path of ``plotly.min.js`` inside the installed ``plotly`` package.

    Example
    -------
    >>> plotly_js_path().name
    'plotly.min.js'
    """
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_dashboard_app(
    store: Store | None = None, settings: Settings | None = None, **options: Any
) -> FastAPI:
    """The driftline API with the web dashboard on top: what ``driftline serve`` runs.

    :func:`driftline.server.create_app` builds the API, then :func:`install_ui`
    adds the pages, static files and report storage. The middlewares of the API
    (bearer token or session cookie with its CSRF check, body size limit) guard
    the pages too.

    Parameters
    ----------
    store, settings
        As for :func:`driftline.server.create_app`. When both are left out the
        settings are loaded once here, for the store and for the reports' directory.
    **options
        The keyword arguments of :func:`driftline.server.create_app`
        (``auth_required``, ``max_body_bytes``, ``clock``, ``scheduler``, ``alerts``,
        ``retention``, ``action_secret``).

    Example
    -------
    >>> from fastapi.testclient import TestClient
    >>> from driftline.store import Store
    >>> client = TestClient(create_dashboard_app(Store.open("sqlite://")))
    >>> client.get("/").status_code, client.get("/healthz").json()["status"]
    (200, 'ok')
    """
    from driftline.server import create_app

    if store is None and settings is None:
        from driftline.config import load_settings

        settings = load_settings()
    app = create_app(store, settings, **options)
    install_ui(app, settings)
    return app


def install_ui(app: FastAPI, settings: Settings | None = None) -> None:
    """Add the dashboard's pages, static files and report storage to ``app``.

    Parameters
    ----------
    app
        The driftline API app (from :func:`driftline.server.create_app`); the pages
        read through its services (``app.state.driftline``), so the app must be one.
    settings
        Where stored reports live (``<data_dir>/reports``); default
        :func:`driftline.config.load_settings`, read when the first report is stored.

    Example
    -------
    >>> from fastapi import FastAPI
    >>> app = FastAPI()
    >>> install_ui(app)
    >>> app.url_path_for("plotly_js"), app.url_path_for("login_form")
    ('/static/plotly.min.js', '/login')
    """
    if settings is None:
        from driftline.config import load_settings

        reports = ReportStore(lambda: load_settings().data_dir / "reports")
    else:
        reports = ReportStore(Path(settings.data_dir) / "reports")
    app.state.driftline_reports = reports
    plotly_path = plotly_js_path()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """Plotly's bundle from the installed package, cached for a year."""
        return FileResponse(
            plotly_path,
            media_type="text/javascript",
            headers={"Cache-Control": PLOTLY_CACHE, "X-Content-Type-Options": "nosniff"},
        )

    app.mount("/static", _Static(directory=str(STATIC)), name="static")
    for router in (pages_router, login_router, alerts_router, runs_router, reports_router):
        app.include_router(router)


class _Static(StaticFiles):
    """The dashboard's own CSS and JavaScript: revalidated on each load, never sniffed."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response
