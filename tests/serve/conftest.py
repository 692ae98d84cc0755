"""Models to serve: a digit classifier trained briefly by the CLI, an autoencoder, a char_rnn."""

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
pytest.importorskip("PIL")


@pytest.fixture(scope="session")
def digit_model_file(tmp_path_factory):
    """The lecture's MLP, trained by `chainrule train` on the embedded digits: ~95% test accuracy."""
    from chainrule import cli

    out = tmp_path_factory.mktemp("mlp")
    assert cli.main(["train", "mlp", "--out", str(out), "--quiet", "--epochs", "4"]) == 0
    return out / "mlp.chainrule"


@pytest.fixture(scope="session")
def digit_model(digit_model_file):
    import chainrule as cr
    from chainrule import zoo

    return cr.load_model(digit_model_file, custom_objects=zoo.custom_objects())


@pytest.fixture()
def client(digit_model):
    from starlette.testclient import TestClient

    from chainrule.serve import create_app

    with TestClient(create_app(digit_model, name="mlp", max_body=256 * 1024)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def png_bytes():
    """PNG bytes of gray levels in [0, 1]."""
    return _png_bytes


def _png_bytes(pixels):
    import io

    import numpy
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((numpy.asarray(pixels) * 255).astype(numpy.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def drawn_one():
    """A function drawing a '1' as a PIL image."""
    return _drawn_one


def _drawn_one(size=280):
    """A vertical stroke on a black square: a '1' as a person draws it on the page's canvas."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).line([(size * 0.52, size * 0.15), (size * 0.48, size * 0.85)], fill=255,
                               width=size // 15)
    return image
