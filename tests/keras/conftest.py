"""Tests of the Keras door never download: MNIST comes from an empty cache, so the embedded subset."""

import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    from chainrule.data import mnist

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(mnist, "fetch", refuse)
    monkeypatch.setenv("CHAINRULE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHAINRULE_OFFLINE", "1")
