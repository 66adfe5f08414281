"""The web dashboard: server-rendered pages with Plotly charts, served by ``driftline serve``.

Pages (overview, model, feature, alerts, training runs, reports, sign-in) are
Jinja2 templates rendered with data from the same services as the API; charts
fetch the JSON views of :mod:`driftline.server._views` and draw with Plotly,
whose script is served from the installed ``plotly`` package (no CDN). Every
page carries a strict Content-Security-Policy: scripts from this server only,
none inline.

Example
-------
>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> install_ui(app)
>>> app.url_path_for("plotly_js"), app.url_path_for("login_form")
('/static/plotly.min.js', '/login')
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from driftline.ui._alerts import alerts_router
from driftline.ui._common import CSP, STATIC
from driftline.ui._login import login_router
from driftline.ui._pages import pages_router
from driftline.ui._reports import ReportStore, reports_router
from driftline.ui._runs import runs_router

if TYPE_CHECKING:
    from driftline.config import Settings

__all__ = ["CSP", "ReportStore", "install_ui", "plotly_js_path"]

PLOTLY_CACHE = "public, max-age=31536000, immutable"
"""Cache-Control of the Plotly bundle (its URL never changes within one release)."""


def plotly_js_path() -> Path:
    """Path of ``plotly.min.js`` inside the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def install_ui(app: FastAPI, settings: Settings | None = None) -> None:
    """Add the dashboard's pages, static files and report storage to ``app``.

    Parameters
    ----------
    app
        The driftline API app (:func:`driftline.server.create_app` calls this).
    settings
        Where stored reports live (``<data_dir>/reports``); default
        :func:`driftline.config.load_settings`, read when the first report is stored.
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
