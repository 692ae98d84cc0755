"""The HTTP layer of ``chainrule serve``: a Starlette application over ``Served``.

    GET  /          the page: draw a digit (or drop an image), or sample text from a char_rnn model
    GET  /info      what the model takes and gives, as JSON
    POST /predict   JSON {"inputs": [...]} or a PNG/JPEG body; add ?saliency=1 for saliency maps
    POST /generate  JSON {"prime": "...", "length": 200, "temperature": 0.8, "seed": null}

Every refusal is a 4xx JSON object ``{"error": "..."}``. The model runs in Starlette's thread pool, so
a slow request never blocks the server from accepting and answering others.
"""

from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from chainrule.serve.inference import RequestError, Served

MAX_BODY = 2 * 1024 * 1024  # bytes in one request body, unless the server is started with another limit
IMAGE_TYPES = ("image/png", "image/jpeg")
# read as JSON: what curl -d sends without -H, and a body with no type at all
JSON_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "")


def create_app(model, name="model", max_body=MAX_BODY):
    """A Starlette application serving ``model`` (a loaded chainrule model)."""
    served = Served(model, name)
    page = resources.files("chainrule.serve").joinpath("page.html").read_text(encoding="utf-8")

    async def index(request):
        return HTMLResponse(page)

    async def info(request):
        return JSONResponse(served.info())

    async def predict(request):
        saliency = request.query_params.get("saliency", "0") not in ("0", "", "false")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await _read_body(request, max_body)
        if content_type in IMAGE_TYPES:
            answer = await run_in_threadpool(served.predict_image, body, saliency)
        elif content_type in JSON_TYPES:
            answer = await run_in_threadpool(served.predict_json, body, saliency)
        else:
            raise RequestError(415, f"cannot read a {content_type} body: send application/json "
                                    '{"inputs": [...]} or a PNG or JPEG image')
        return JSONResponse(answer)

    async def generate(request):
        body = await _read_body(request, max_body)
        return JSONResponse(await run_in_threadpool(served.generate, body))

    async def refused(request, error):
        return JSONResponse({"error": str(error)}, status_code=error.status)

    async def http_error(request, error):  # unknown paths and methods: JSON too, not Starlette's text
        return JSONResponse({"error": error.detail}, status_code=error.status_code)

    routes = [Route("/", index), Route("/info", info), Route("/predict", predict, methods=["POST"]),
              Route("/generate", generate, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={RequestError: refused, HTTPException: http_error})
    app.state.served = served
    return app


async def _read_body(request, limit):
    """The request body, refused (413) as soon as it passes ``limit`` bytes: never read whole first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body is {int(declared):,} bytes; at most {limit:,} are accepted")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body is over {limit:,} bytes; at most {limit:,} are accepted")
        chunks.append(chunk)
    return b"".join(chunks)
