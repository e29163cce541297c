"""Gunicorn settings for Gate log: `gunicorn -c deploy/gunicorn.conf.py` (deploy/gatelog.service).

Every value can be overridden from the environment file (deploy/gatelog.env.example).
"""

import multiprocessing
import os

from server.serving import child_exit, on_starting, post_worker_init

__all__ = ["child_exit", "on_starting", "post_worker_init"]

wsgi_app = "server:create_app()"
# Caddy on the same host is the only client; the app is never exposed directly.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Gunicorn's rule of thumb: two per core plus one. Requests mostly wait on the database, and
# threads let one worker keep answering while another of its requests waits.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A 500-event push on a busy SQLite waits up to its 10 s busy timeout; 60 s is far above that.
timeout = 60
graceful_timeout = 30
# The app writes one JSON line per request (server/ops/requestlog.py): no second access log.
accesslog = None
errorlog = "-"
forwarded_allow_ips = "127.0.0.1,::1"
