"""The web app's page routers, in the order they are matched (the sign-in page first, so
it takes ``/login`` over the auth slice's bare form)."""

from __future__ import annotations

from fastapi import FastAPI

from keepwell.portfolio import pages as portfolio_pages
from keepwell.reports import pages as report_pages
from keepwell.revenue import pages as revenue_pages
from keepwell.risk import pages as risk_pages
from keepwell.success import pages as success_pages
from keepwell.web import login
from keepwell.web.toolkit import install_pages


def install_site(app: FastAPI) -> None:
    """Mount the pages, their static files and plotly.js on ``app``."""
    install_pages(
        app,
        [
            login.router,
            portfolio_pages.router,
            revenue_pages.router,
            success_pages.router,
            risk_pages.router,
            report_pages.router,
        ],
    )
