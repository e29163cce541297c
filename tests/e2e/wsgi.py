"""The app as the browser tests' gunicorn serves it: `gunicorn 'tests.e2e.wsgi:build()'`."""

from __future__ import annotations

import os

from flask import Flask

from server import create_app


def build() -> Flask:
    """The app from the environment, serving the gate app from GATELOG_E2E_PWA_ROOT."""
    app = create_app()
    app.config["PWA_ROOT"] = os.environ["GATELOG_E2E_PWA_ROOT"]
    return app
