"""A propensity model trained once on the IBM file, registered per test."""

import pytest

from tests.conftest import IBM_FILE, _require


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.PERSONALISATION_MODEL_DIR = tmp_path / "models"
    return settings.PERSONALISATION_MODEL_DIR


@pytest.fixture(scope="session")
def ibm_trained():
    """Fitted once per session: the real IBM file, the product's pipeline."""
    from personalisation import training

    return training.train(training.ibm_dataset(_require(IBM_FILE)))


@pytest.fixture
def register(db, ibm_trained):
    from personalisation.registry import model_register

    def make():
        return model_register(kind="propensity", trained=ibm_trained, actor="test")

    return make


@pytest.fixture
def active_model(register):
    from personalisation.registry import model_promote

    model = register()
    model_promote(model=model, actor="test")
    return model
