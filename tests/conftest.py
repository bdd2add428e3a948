import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest

# Differential assertions live in a helper module; show their values on failure.
pytest.register_assert_rewrite("tests.keras_oracle")
