"""The HTTP API of `chainrule serve`, through Starlette's test client: answers and refusals."""

import io
import json

import numpy
import pytest

import chainrule as cr
from chainrule.zoo.digit_image import read_digit_image
from chainrule.zoo.evaluation import predict_image


def test_info_describes_a_digit_classifier(client):
    info = client.get("/info").json()
    assert info["kind"] == "digits" and info["classes"] == 10
    assert info["input_shape"] == [None, 784] and info["accepts_images"] is True


def test_json_predictions_are_the_models_own(client, digit_model):
    x = numpy.random.default_rng(0).random((5, 784)).astype(numpy.float32)
    answer = client.post("/predict", json={"inputs": x.tolist()}).json()
    probabilities = numpy.asarray(answer["probabilities"])
    expected = numpy.asarray(digit_model.predict(x), dtype=numpy.float64)
    expected = numpy.exp(expected - expected.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)  # the mlp ends in logits or probabilities
    if numpy.allclose(numpy.asarray(digit_model.predict(x)).sum(axis=1), 1, atol=1e-3):
        expected = numpy.asarray(digit_model.predict(x), dtype=numpy.float64)
    numpy.testing.assert_allclose(probabilities, expected, atol=2e-6)
    assert answer["predictions"] == expected.argmax(axis=1).tolist()


def test_an_uploaded_image_is_read_as_chainrule_predict_reads_it(client, digit_model, drawn_one, tmp_path):
    path = tmp_path / "one.png"
    drawn_one().save(path)
    answer = client.post("/predict", content=path.read_bytes(), headers={"Content-Type": "image/png"}).json()
    digit, probabilities = predict_image(digit_model, read_digit_image(path))
    assert answer["predictions"] == [digit] == [1]
    numpy.testing.assert_allclose(answer["probabilities"][0], probabilities, atol=1e-6)
    numpy.testing.assert_allclose(answer["image"], read_digit_image(path), atol=1e-4)


def test_a_jpeg_photo_of_dark_ink_on_paper_is_read_too(client, drawn_one):
    buffer = io.BytesIO()
    paper = drawn_one().point(lambda v: 255 - v).convert("RGB")  # black ink on white, in colour
    paper.save(buffer, format="JPEG", quality=90)
    answer = client.post("/predict", content=buffer.getvalue(), headers={"Content-Type": "image/jpeg"})
    assert answer.status_code == 200 and answer.json()["predictions"] == [1]


def test_saliency_maps_lie_over_the_ink_and_the_box_maps_them_onto_the_drawing(client, drawn_one):
    image = drawn_one()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    answer = client.post("/predict?saliency=1", content=buffer.getvalue(),
                         headers={"Content-Type": "image/png"}).json()
    heat = numpy.asarray(answer["saliency"]["map"])
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    x, y, width, height = answer["saliency"]["box"]
    # the box is the square of the original drawing that the 28x28 input covers: the stroke's
    # 70% of the height is scaled to MNIST's 20 pixels of 28
    assert height == pytest.approx(0.70 * 280 * 28 / 20, rel=0.05) and width == height
    assert x < 0.48 * 280 < x + width and y < 0.15 * 280 and y + height > 0.85 * 280


def test_a_json_batch_gets_one_saliency_map_per_input(client):
    x = numpy.random.default_rng(1).random((3, 784)).tolist()
    answer = client.post("/predict?saliency=1", json={"inputs": x}).json()
    assert numpy.asarray(answer["saliency"]).shape == (3, 28, 28)


BAD_BODIES = [
    ("not json", "application/json", 400, "not JSON"),
    ('{"inputs": [[NaN]]}', "application/json", 422, "NaN"),
    ('{"inputs": [[1, 2], [3]]}', "application/json", 422, "ragged"),
    ('{"inputs": [["a"]]}', "application/json", 422, "numbers only"),
    ('{"inputs": [[true, false]]}', "application/json", 422, "numbers only"),
    ('{"inputs": []}', "application/json", 422, "non-empty"),
    ('{"inputs": [[0.5, 0.5]]}', "application/json", 422, "takes (batch, 784)"),
    (json.dumps({"inputs": [0.0] * 784}), "application/json", 422, "wrap a single input"),
    ('[1, 2]', "application/json", 422, '"inputs"'),
    ('{"other": 1}', "application/json", 422, '"inputs"'),
    ("[" * 50_000 + "]" * 50_000, "application/json", 400, "nested"),
    ("GIF89a", "image/png", 422, "not an image"),
    ("hello", "application/xml", 415, "cannot read"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "words"), BAD_BODIES)
def test_bad_input_gets_a_4xx_json_error_naming_the_problem(client, body, content_type, status, words):
    response = client.post("/predict", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert words in response.json()["error"]
    assert client.get("/info").status_code == 200  # and the server still answers


def test_a_body_over_the_limit_is_refused_whatever_it_declares(client):
    too_long = b"[" * (256 * 1024 + 1)
    response = client.post("/predict", content=too_long, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "at most 262,144" in response.json()["error"]

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for _ in range(300):
            yield b" " * 1024

    streamed = client.post("/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_too_many_inputs_and_a_huge_image_are_refused(client, png_bytes):
    from chainrule.serve.inference import MAX_BATCH

    small = numpy.zeros((MAX_BATCH + 1, 1)).tolist()  # refused by count before its shape is checked
    assert client.post("/predict", json={"inputs": small}).status_code == 413
    from chainrule.zoo import digit_image

    huge = png_bytes(numpy.zeros((8, 8)))
    original = digit_image.MAX_PIXELS
    digit_image.MAX_PIXELS = 32
    try:
        response = client.post("/predict", content=huge, headers={"Content-Type": "image/png"})
    finally:
        digit_image.MAX_PIXELS = original
    assert response.status_code == 422 and "too large" in response.json()["error"]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/nowhere").status_code == 404 and "error" in client.get("/nowhere").json()
    assert client.get("/predict").status_code == 405


def test_the_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="draw"' in page.text and "/predict?saliency=1" in page.text


def test_a_model_that_is_not_a_classifier_answers_its_outputs():
    from starlette.testclient import TestClient

    from chainrule.serve import create_app
    from chainrule.zoo import autoencoder

    model = autoencoder.build() if hasattr(autoencoder, "build") else None
    if model is None:
        pytest.skip("no autoencoder builder in the zoo")
    model(cr.tensor(numpy.zeros((1, 784), dtype=numpy.float32)))  # its input spec, as after training
    model.input_spec = {"shape": [None, 784], "dtype": "float32"}
    with TestClient(create_app(model, name="ae")) as ae:
        assert ae.get("/info").json()["kind"] == "generic"
        answer = ae.post("/predict", json={"inputs": numpy.zeros((2, 784)).tolist()}).json()
        assert numpy.asarray(answer["outputs"]).shape == (2, 784) and "predictions" not in answer
        refused = ae.post("/predict?saliency=1", json={"inputs": numpy.zeros((1, 784)).tolist()})
        assert refused.status_code == 422 and "classifiers" in refused.json()["error"]


def test_a_char_rnn_model_samples_text_and_checks_its_arguments():
    from starlette.testclient import TestClient

    from chainrule.serve import create_app
    from chainrule.zoo import char_rnn

    model = char_rnn.build(vocabulary="abc ", embedding_dim=4, hidden_size=8)
    model.input_spec = {"shape": [None, None], "dtype": "int64"}
    with TestClient(create_app(model, name="char_rnn")) as text:
        assert text.get("/info").json()["kind"] == "text"
        asked = {"prime": "ab", "length": 40, "temperature": 0.5, "seed": 3}
        first, again = (text.post("/generate", json=asked).json() for _ in range(2))
        assert first == again and len(first["text"]) == 40 and first["text"].startswith("ab")
        assert set(first["text"]) <= set("abc ")
        for bad, words in [({"prime": "xyz"}, "never saw"), ({"length": 0}, "length"),
                           ({"temperature": -1}, "temperature"), ({"length": 10 ** 9}, "length"),
                           ({"seed": "s"}, "seed"), ({"prime": 5}, "string")]:
            response = text.post("/generate", json=bad)
            assert response.status_code == 422 and words in response.json()["error"], bad
        ids = text.post("/predict", json={"inputs": [[0, 1, 2]]})
        assert ids.status_code == 200 and numpy.asarray(ids.json()["outputs"]).shape == (1, 3, 4)
        assert text.post("/predict", json={"inputs": [[0.5, 1]]}).status_code == 422
        assert text.post("/predict", json={"inputs": [[0, 99]]}).status_code == 422
        image = text.post("/predict", content=b"\x89PNG", headers={"Content-Type": "image/png"})
        assert image.status_code == 415
