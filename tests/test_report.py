"""The Markdown review report shows the change against stored figures and each explanation."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.report import render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_report_for_a_changed_model_shows_change_and_explanation(tmp_path):
    folder = tmp_path / "model_2"
    shutil.copytree(ROOT / "hourly_models" / "model_2", folder)
    config = json.loads((folder / "model.json").read_text())
    config["config"]["layers"][0]["config"]["units"] = 110  # the encoder grows from 100 to 110 units
    (folder / "model.json").write_text(json.dumps(config, indent=2))

    check = check_model_file(folder / "model.json", display="model_2/model.json")
    text = render_markdown([check])

    # Independent derivation: LSTM params are 4 gates x units x (inputs + units + 1).
    encoder = 4 * 110 * (1 + 110 + 1)
    decoder = 4 * 100 * (110 + 100 + 1)
    total = encoder + decoder + (100 + 1) * 50 + (50 + 1) * 1
    change = (total - 126_301) / 126_301
    row = next(line for line in text.splitlines() if line.startswith("| `model_2/model.json`"))
    assert f"126,301 → {total:,}, {change:+.1%}" in row
    assert "fails" in row
    details = re.findall(r"<details>\n<summary>(.*?)</summary>\n\n```text\n(.*?)```", text, re.DOTALL)
    summaries = [summary for summary, _ in details]
    assert any("lstm (LSTM): Param # is 40,800 in the summary" in s and f"{encoder:,}" in s for s in summaries)
    assert any("forget gate" in body for _, body in details)
    assert "```mermaid" in text and "flowchart TD" in text


def test_report_for_agreeing_models_lists_totals(tmp_path):
    checks = [check_model_file(p, display=p.parent.name)
              for p in sorted((ROOT / "hourly_models").glob("*/model.json"))]
    text = render_markdown(checks, diagrams=False)
    assert "5 model(s) checked, 0 with problems." in text
    for check, stored in zip(checks, [45_648, 126_301, 508_201, 1_014_153, 1_465_353]):
        assert f"| `{check.path}` | ✅ agrees | {stored:,} |" in text
