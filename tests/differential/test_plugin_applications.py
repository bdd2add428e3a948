"""With the test plugin installed, applications that need custom layers agree with Keras."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_kerasparams.registry import build_rule_table, make_plugin_manager
from tests.keras_oracle import FLAVORS, assert_agrees_with_keras

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


@pytest.fixture
def rules_with_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    manager, errors = make_plugin_manager(modules=("kerasparams_apps_plugin",))
    table = build_rule_table(manager, errors)
    assert not table.errors
    return table


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("application, size", [("ConvNeXtTiny", 32), ("InceptionResNetV2", 75)])
def test_application_with_custom_layers_agrees(application, size, flavor, rules_with_plugin):
    def build(keras):
        return getattr(keras.applications, application)(weights=None, input_shape=(size, size, 3))

    assert_agrees_with_keras(build, flavor, rules_with_plugin)
