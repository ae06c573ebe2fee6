"""The channel manager console, served by the service under /console.

    from service import console
    app.include_router(console.router)     # one line in service.app (ROUTERS)

Static files are served by the router itself (/console/static/...), so nothing else needs
mounting. See `routes` for the pages, `session` for sign-in and CSRF, `i18n` for the labels.
"""

from service.console.routes import router

__all__ = ["router"]
