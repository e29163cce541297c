"""The edge of every unit of work: the request or the CLI command commits once; services flush.

As Indico's request handlers do, a view's work is committed when the view has answered, before
a byte of the answer leaves: so a page, a JSON answer or a streamed export's first byte is sent
only after its writes (audit rows included) are durable, and a failing commit reaches the same
error handlers a failing view does (the device API's 503 for a locked or unreachable database).
An exception escaping the view commits nothing: the whole unit rolls back with the session.

A view that catches a service's refusal and answers anyway (a form shown again with its error,
a flashed message) must roll the session back before answering, so that what the verb wrote
before refusing is not committed with the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from server.extensions import db


def _committing(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def answer_then_commit(*args: Any, **kwargs: Any) -> Any:
        answer = view(*args, **kwargs)
        db.session.commit()
        return answer

    return answer_then_commit


def commit_after_views(app: Flask) -> None:
    """Wrap every view of `app` (call once, after its blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _committing(view)


def committing_command(command: click.Command) -> click.Command:
    """The command's work commits once, when it ends without an error."""
    if command.callback is not None:
        command.callback = _committing(command.callback)
    return command
