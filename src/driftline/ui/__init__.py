"""The web dashboard: server-rendered pages with Plotly charts, served by ``driftline serve``.

Pages (overview, model, feature, alerts, training runs, reports, sign-in) are
Jinja2 templates rendered with data from the same services as the API
(through :mod:`driftline.server.context`); charts fetch the API's JSON views
(``/api/v1/views/...``) and draw with Plotly, whose script is served from the
installed ``plotly`` package (no CDN). Every page carries a strict
Content-Security-Policy: scripts from this server only, none inline.

The server does not know the dashboard: :func:`install_ui` adds it to an app
from :func:`driftline.server.create_app`, and :func:`create_dashboard_app` builds
both at once (what ``driftline serve`` and ``driftline demo`` run).

Example
-------
>>> from driftline.store import Store
>>> app = create_dashboard_app(Store.open("sqlite://"))
>>> app.url_path_for("plotly_js"), app.url_path_for("login_form")
('/static/plotly.min.js', '/login')
"""

from __future__ import annotations

from driftline.ui._app import PLOTLY_CACHE, create_dashboard_app, install_ui, plotly_js_path
from driftline.ui._common import CSP
from driftline.ui._reports import ReportStore

__all__ = [
    "CSP",
    "PLOTLY_CACHE",
    "ReportStore",
    "create_dashboard_app",
    "install_ui",
    "plotly_js_path",
]
