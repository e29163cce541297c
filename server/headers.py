"""Security headers on every response; Mozilla's HTTP Observatory scoring is the reference.

Written here rather than with a library: the values are constants, and what varies (HSTS only in
production, a route that chose its own caching) is the app's own rule. flask-talisman last
released in 2023 and would also take over cookie and HTTPS settings create_app already makes.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

# No inline script or style anywhere (console.js does what onclick attributes did): every
# resource is our own. blob: images are the gate screen's rotating QR, fetched then shown.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
# Browsers honour HSTS only over HTTPS, which production serves behind its proxy: two years.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: Flask-WTF checks the Referer of every form posted over HTTPS.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # The gate app scans with the camera; nothing asks for the rest.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
}
# Pages, API answers and exports carry personal data; a route that may be cached (a static
# file, the app shell, a versioned asset) says so itself.
DEFAULT_CACHE_CONTROL = "no-store"


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)
    if current_app.config["GATELOG"].production:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
