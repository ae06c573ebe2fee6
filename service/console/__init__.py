"""The channel manager console under /console: server-rendered pages over the service's own code.

    from service import console
    app.include_router(console.router)     # service.app (ROUTERS)
    console.install(app)                   # the handler of sign-in redirects and error pages

Pages (GET forms, so every view is a shareable URL; changes are POST + redirect), one module
each:

    preview.py    /console/preview     a partner's deal -> the top-N exactly as the API answers
    compare.py    /console/compare     the same deal for two maturities, stages or model versions
    steer.py      /console/steer       pin / boost / hide overrides (+ the audit log)
    coverage.py   /console/coverage    stage x maturity counts of eligible, well-scored assets
    awareness.py  /console/awareness   relevant assets a partner never opened
    outreach.py   /console/portfolio   a manager's partners at a glance (+ .csv);
                  /console/digest      digests of unopened, relevant assets (preview, send)
    models.py     /console/models      (admin) versions, metrics, model cards, promote, rollback
    login.py      /console/login, /logout, /lang/{code}

Every answer the API also gives comes from the API's own operations (`service.operations`),
called with the signed-in key: the same validation, snapshot handling and audit entries. The
one difference is deliberate: a preview is not journaled as impressions. `pages.py` holds what
the pages share (who may see a page, rendering, headers, static files), `forms.py` the shared
form pieces, `analysis.py` what the console computes beyond a recommendation, `session.py`
sign-in and CSRF, `i18n.py` and `locales/` the labels. Templates are rendered with autoescape
on, and no template marks catalog text safe.
"""

from fastapi import APIRouter

from service.console import (
    awareness,
    compare,
    coverage,
    login,
    models,
    outreach,
    pages,
    preview,
    steer,
)
from service.console.pages import install

router = APIRouter(include_in_schema=False)
for _page in (login, preview, compare, steer, coverage, awareness, outreach, models, pages):
    router.include_router(_page.router)

__all__ = ["install", "router"]
