"""The snapshot workflow: summary.txt written from the recomputation, in Keras's own layout, atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_kerasparams import update as update_module
from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.sources.summary_writer import Layout, render_summary
from pytest_kerasparams.update import update_summary
from tests.keras_oracle import FLAVORS, keras_module
from tests.summary_helpers import (capture_summary, conv_model, functional_model, keras2_print_summary,
                                   sequential_model)

BUILDS = {"sequential": sequential_model, "functional": functional_model, "conv": conv_model}
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", sorted(BUILDS))
def test_rendered_summary_is_what_keras_prints(flavor: str, build: str) -> None:
    """Character for character, the default summary of Keras 3 (76 wide off a terminal) and tf.keras 2.13+."""
    keras = keras_module(flavor)
    model = BUILDS[build](keras)
    report = analyze_text(model.to_json()).report
    style = "keras3" if flavor == "keras3" else "tf-keras"
    layout = Layout(style=style, thousands=flavor == "keras3")
    assert render_summary(report, layout) == capture_summary(model)


@pytest.mark.parametrize("build", ["sequential", "conv", "functional"])
def test_rendered_keras2_layout_is_the_keras22_printer(build: str) -> None:
    keras = keras_module("tf_keras")
    model = BUILDS[build](keras)
    report = analyze_text(model.to_json()).report
    layout = Layout(style="keras2", model_line=False, has_size=False)
    assert render_summary(report, layout) == keras2_print_summary(model, sequential=build != "functional")


def _model_dir(tmp_path: Path, model: Any) -> Path:
    path = tmp_path / "model.json"
    path.write_text(model.to_json())
    return path


def test_new_summary_is_keras3_box_and_checks_clean(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    path = _model_dir(tmp_path, conv_model(keras))
    before = path.read_bytes()
    written = update_summary(check_model_file(path), path)
    assert written == tmp_path / "summary.txt"
    text = written.read_text()
    assert text.startswith('Model: "conv_model"\n┏')
    assert check_model_file(path).problems == []
    assert path.read_bytes() == before
    assert update_summary(check_model_file(path), path) is None  # nothing changed


@pytest.mark.parametrize("flavor", FLAVORS)
def test_changed_model_fails_then_passes_after_update(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    old = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, name="body"),
                            keras.layers.Dense(2, name="head")], name="m")
    new = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, name="body"),
                            keras.layers.Dense(2, name="head")], name="m")
    (tmp_path / "summary.txt").write_text("Notes above the table.\n\n" + capture_summary(old) + "\nNotes below.\n")
    path = _model_dir(tmp_path, new)
    model_bytes = path.read_bytes()
    check = check_model_file(path)
    assert check.problems
    update_summary(check, path)
    assert check_model_file(path).problems == []
    text = (tmp_path / "summary.txt").read_text()
    assert text.startswith("Notes above the table.\n\n") and text.endswith("\nNotes below.\n")
    assert text.count("Layer (type)") == 1
    assert path.read_bytes() == model_bytes
    expected_style = "┏" if flavor == "keras3" else "____"
    assert expected_style in text
    if flavor == "tf_keras":
        assert f"Total params: {new.count_params()} (" in text  # tf.keras 2.13+: no separators, a size


def test_notes_without_a_table_are_kept(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    path = _model_dir(tmp_path, conv_model(keras))
    (tmp_path / "summary.txt").write_text("Trained on 2024-01-01.\n")
    update_summary(check_model_file(path), path)
    text = (tmp_path / "summary.txt").read_text()
    assert text.startswith("Trained on 2024-01-01.\n\nModel: ")
    assert check_model_file(path).problems == []


def test_keras2_file_keeps_keras2_layout(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    old = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, name="body")], name="m")
    new = keras.Sequential([keras.Input((10,)), keras.layers.Dense(9, name="body")], name="m")
    (tmp_path / "summary.txt").write_text(keras2_print_summary(old, sequential=True))
    path = _model_dir(tmp_path, new)
    update_summary(check_model_file(path), path)
    assert (tmp_path / "summary.txt").read_text() == keras2_print_summary(new, sequential=True)


def test_failed_rename_leaves_old_summary_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras = keras_module("keras3")
    path = _model_dir(tmp_path, conv_model(keras))
    summary = tmp_path / "summary.txt"
    summary.write_text("old summary\n")

    def fail(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(update_module.os, "replace", fail)
    with pytest.raises(OSError):
        update_summary(check_model_file(path), path)
    assert summary.read_text() == "old summary\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "summary.txt"]


def test_killed_mid_write_leaves_old_summary(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    path = _model_dir(tmp_path, conv_model(keras))
    summary = tmp_path / "summary.txt"
    summary.write_text("old summary\n")
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from pytest_kerasparams import update
        from pytest_kerasparams.check import check_model_file

        def stall(fd):
            print("writing", flush=True)
            time.sleep(60)

        update.os.fsync = stall
        path = Path({str(path)!r})
        update.update_summary(check_model_file(path), path)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "writing"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert summary.read_text() == "old summary\n"
    time.sleep(0.01)
    written = update_summary(check_model_file(path), path)  # a later run recovers
    assert written == summary and check_model_file(path).problems == []


def test_nothing_written_for_a_model_that_cannot_be_computed(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Nope", "config": {}}]}}')
    check = check_model_file(path)
    assert check.analysis is None
    assert update_summary(check, path) is None
    assert not (tmp_path / "summary.txt").exists()


def test_new_file_mode_follows_umask(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    path = _model_dir(tmp_path, conv_model(keras))
    written = update_summary(check_model_file(path), path)
    assert written is not None
    umask = os.umask(0)
    os.umask(umask)
    assert written.stat().st_mode & 0o777 == 0o666 & ~umask
