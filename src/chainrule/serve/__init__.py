"""Serve a saved model over HTTP, with a page to try it (the ``serve`` extra: Starlette and uvicorn).

    chainrule serve mlp.chainrule                # then open http://127.0.0.1:8000/

or from Python: ``app = chainrule.serve.create_app(model)`` gives the ASGI application, to run under any
ASGI server (``uvicorn``, ``hypercorn``, behind a proxy). See ``app.py`` for the routes.
"""


def create_app(model, name="model", max_body=None):
    """The Starlette application serving ``model``; ``max_body`` caps a request body in bytes."""
    from chainrule.serve.app import MAX_BODY
    from chainrule.serve.app import create_app as _create_app

    return _create_app(model, name=name, max_body=max_body or MAX_BODY)


def run(model, name="model", host="127.0.0.1", port=8000, max_body=None, log_level="info"):
    """Serve ``model`` until interrupted (Ctrl-C stops it cleanly)."""
    import uvicorn

    uvicorn.run(create_app(model, name=name, max_body=max_body), host=host, port=port, log_level=log_level)
