"""What the server computes, apart from HTTP: checked inputs in, JSON-ready answers out.

``Served`` wraps one loaded model. Every request's input is checked here against what the model
takes (shape, dtype, batch size, finite numbers), and each problem raises ``RequestError`` with the
HTTP status and a sentence naming the problem and the fix; the web layer (``app.py``) only turns that
into a JSON response. The model runs under one lock: layers reuse buffers from call to call, so two
requests must not run it at once, while the server itself keeps accepting and answering connections.
"""

import json
import threading

import numpy

from chainrule.errors import ChainruleError

MAX_BATCH = 1024  # inputs per request
MAX_GENERATE = 2000  # characters per text sample
CLASSIFICATION_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "cross_entropy",
                         "nll_loss", "categorical_hinge")


class RequestError(ChainruleError):
    """A request the server refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Served:
    """One model behind the server: its kind, and the three things a client can ask of it."""

    def __init__(self, model, name="model"):
        from chainrule.zoo.char_rnn import CharRNN

        self.model = model
        self.name = name
        self.lock = threading.Lock()
        spec = getattr(model, "input_spec", None)
        if not spec or "shape" not in spec:
            raise ChainruleError("this model file does not say what inputs the model takes (no input "
                                 "spec): train or call it once before saving it, then serve it")
        self.input_shape = tuple(spec["shape"])  # (None, ...) with None for any size
        self.input_dtype = numpy.dtype(spec.get("dtype", "float32"))
        self.text = any(isinstance(m, CharRNN) for m in model.modules())
        self.image = self.input_shape[1:] in ((784,), (1, 28, 28))
        self.classes = None if self.text else self._classes()

    def _classes(self):
        """The number of classes for a classifier (2-D output, a classification loss), else None."""
        if any(size is None for size in self.input_shape[1:]):
            return None
        with self.lock:
            sample = numpy.zeros((1, *self.input_shape[1:]), dtype=self.input_dtype)
            outputs = numpy.asarray(self.model.predict(sample))
        loss = getattr(getattr(self.model, "loss", None), "__name__", "")
        if outputs.ndim == 2 and outputs.shape[1] >= 2 and loss in CLASSIFICATION_LOSSES:
            return int(outputs.shape[1])
        return None

    def info(self):
        """What the page and clients need to know about the model."""
        kind = "text" if self.text else "digits" if self.image and self.classes else "generic"
        return {"name": self.name, "kind": kind, "input_shape": list(self.input_shape),
                "input_dtype": str(self.input_dtype), "classes": self.classes, "max_batch": MAX_BATCH,
                "accepts_images": self.image}

    # ------------------------------------------------------------ predict
    def predict_json(self, body, saliency=False):
        """Answer ``{"inputs": [...]}`` (a batch) with predictions and probabilities, or outputs."""
        request = _parse_json(body)
        if not isinstance(request, dict) or "inputs" not in request:
            raise RequestError(422, 'expected a JSON object {"inputs": [...]} holding a batch of inputs')
        inputs = self._check_inputs(request["inputs"])
        return self._answer(inputs, saliency)

    def predict_image(self, data, saliency=False):
        """Answer an uploaded PNG or JPEG image, prepared as ``chainrule predict`` prepares it."""
        from chainrule.zoo.digit_image import decode_image, prepare_digit

        if not self.image:
            raise RequestError(415, "this model does not take images: send JSON "
                                    f'{{"inputs": [...]}} of shape {_shape_text(self.input_shape)}')
        try:
            digit, box = prepare_digit(decode_image(data, "the uploaded image"), "the uploaded image")
        except ChainruleError as error:
            raise RequestError(422, str(error)) from None
        inputs = digit.reshape(1, *self.input_shape[1:]).astype(self.input_dtype)
        answer = self._answer(inputs, saliency)
        answer["image"] = numpy.round(digit, 4).tolist()  # the 28x28 input the model saw
        if saliency:
            answer["saliency"] = {"map": answer["saliency"][0], "box": box}
        return answer

    def _check_inputs(self, inputs):
        if not isinstance(inputs, list) or not inputs:
            raise RequestError(422, '"inputs" must be a non-empty list: a batch, one entry per input')
        if len(inputs) > MAX_BATCH:
            raise RequestError(413, f"{len(inputs)} inputs in one request; at most {MAX_BATCH}: "
                                    "split the batch")
        try:
            array = numpy.asarray(inputs)
        except ValueError:
            raise RequestError(422, '"inputs" is ragged: every input must have the same shape') from None
        if array.dtype.kind not in "iuf":
            raise RequestError(422, f'"inputs" must hold numbers only, found {_kind_text(array.dtype)}')
        expected = self.input_shape
        fits = array.ndim == len(expected) and all(e is None or e == a for e, a in zip(expected, array.shape))
        if not fits:
            hint = " (wrap a single input in a list: inputs is a batch)" \
                if array.shape == tuple(expected[1:]) else ""
            raise RequestError(422, f'"inputs" has shape {_shape_text(array.shape)}; this model takes '
                                    f"{_shape_text(expected)}{hint}")
        if self.input_dtype.kind in "iu":
            if array.dtype.kind == "f" and not numpy.array_equal(array, numpy.round(array)):
                raise RequestError(422, '"inputs" must be whole numbers: this model takes '
                                        f"{self.input_dtype} indices")
        return array.astype(self.input_dtype)

    def _answer(self, inputs, saliency):
        with self.lock:
            try:
                outputs = self.model.predict(inputs, batch_size=MAX_BATCH)
                outputs = numpy.asarray(outputs, dtype=numpy.float64)
            except ChainruleError as error:  # e.g. an index outside an embedding's table
                raise RequestError(422, f"the model refused these inputs: {error}") from None
            maps = self._saliency(inputs, outputs) if saliency else None
        if not numpy.isfinite(outputs).all():
            raise RequestError(422, "the model's outputs for these inputs are not finite numbers")
        if self.classes is None:
            answer = {"outputs": outputs.tolist()}
        else:
            from chainrule.zoo.evaluation import as_probabilities

            probabilities = as_probabilities(outputs)
            answer = {"predictions": probabilities.argmax(axis=1).tolist(),
                      "probabilities": numpy.round(probabilities, 6).tolist()}
        if saliency:
            answer["saliency"] = maps
        return answer

    def _saliency(self, inputs, outputs):
        """One map per input, in [0, 1], of the predicted class's gradient (an image model's pixels)."""
        if self.classes is None:
            raise RequestError(422, "saliency maps are for classifiers; this model is not one")
        from chainrule import explain

        maps = []
        for row, scores in zip(inputs, outputs):
            attribution = explain.saliency(self.model, row[None], target=int(scores.argmax()))
            magnitude = numpy.abs(numpy.asarray(attribution, dtype=numpy.float64)).reshape(row.shape)
            magnitude = magnitude.reshape(-1, 28, 28)[0] if self.image else magnitude
            peak = magnitude.max()
            maps.append(numpy.round(magnitude / peak if peak > 0 else magnitude, 4).tolist())
        return maps

    # ------------------------------------------------------------ text
    def generate(self, body):
        """Sample text from a char_rnn model: ``{"prime": "", "length": 200, "temperature": 0.8}``."""
        from chainrule.zoo.char_rnn import find_char_rnn, sample

        if not self.text:
            raise RequestError(404, "this model is not a char_rnn text model: use POST /predict")
        request = _parse_json(body)
        if not isinstance(request, dict):
            raise RequestError(422, 'expected a JSON object such as {"prime": "The ", "length": 200, '
                                    '"temperature": 0.8}')
        prime = request.get("prime", "")
        length = request.get("length", 200)
        temperature = request.get("temperature", 0.8)
        seed = request.get("seed")
        if not isinstance(prime, str):
            raise RequestError(422, f'"prime" must be a string, got {type(prime).__name__}')
        vocabulary = find_char_rnn(self.model).vocabulary
        unknown = sorted(set(prime) - set(vocabulary))
        if unknown:
            raise RequestError(422, f'"prime" has characters the model never saw: {"".join(unknown)!r}')
        if type(length) is not int or not len(prime) < length <= MAX_GENERATE:
            raise RequestError(422, f'"length" must be a whole number from {len(prime) + 1} to '
                                    f"{MAX_GENERATE}, got {length!r}")
        if type(temperature) not in (int, float) or not 0 < temperature <= 10:
            raise RequestError(422, f'"temperature" must be a number in (0, 10], got {temperature!r}')
        if seed is not None and type(seed) is not int:
            raise RequestError(422, f'"seed" must be a whole number or null, got {seed!r}')
        with self.lock:
            text = sample(self.model, length=length, temperature=float(temperature), prime=prime, seed=seed)
        return {"text": text}


def _parse_json(body):
    def refuse_constant(name):  # Python's json reads NaN and Infinity, which JSON does not have
        raise RequestError(422, f"{name} is not a JSON number: send finite numbers")

    try:
        return json.loads(body, parse_constant=refuse_constant)
    except RequestError:
        raise
    except RecursionError:
        raise RequestError(400, "the JSON body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, f"the body is not JSON ({error}): send Content-Type application/json "
                                'with {"inputs": [...]}') from None


def _shape_text(shape):
    return "(" + ", ".join("batch" if i == 0 and s is None else "any" if s is None else str(s)
                           for i, s in enumerate(shape)) + ")"


def _kind_text(dtype):
    names = {"U": "text", "S": "text", "O": "null or mixed values", "b": "true/false"}
    return names.get(dtype.kind, str(dtype))
