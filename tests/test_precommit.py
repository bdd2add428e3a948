"""The pre-commit hook, run for real with ``pre-commit try-repo``.

The working tree of this repository is copied into a temporary git repository
(try-repo needs a commit to install from); pre-commit then builds a virtualenv
and pip-installs the package into it, which needs PyPI. That takes about a
minute the first time; set ``KERASPARAMS_SKIP_PRECOMMIT=1`` to skip these tests
(for example offline).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOURLY = ROOT / "hourly_models"
SKIP_VARIABLE = "KERASPARAMS_SKIP_PRECOMMIT"
IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis", ".benchmarks",
                                 ".venv", "build", "dist", "*.pyc")

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get(SKIP_VARIABLE)),
                       reason=f"{SKIP_VARIABLE} is set: pre-commit try-repo needs PyPI and about a minute"),
    pytest.mark.skipif(shutil.which("git") is None or shutil.which("pre-commit") is None,
                       reason="needs git and pre-commit on PATH"),
]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=kerasparams tests", "-c", "user.email=tests@example.invalid",
                           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's working tree, committed in a temporary git repository."""
    repo = tmp_path_factory.mktemp("hook-repo") / "pytest-kerasparams"
    shutil.copytree(ROOT, repo, ignore=IGNORED, symlinks=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot for try-repo")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module, so the hook's virtualenv is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's repository with two hourly models and one broken model, all committed."""
    repo = tmp_path / "project"
    for name in ("model_1", "model_2"):
        shutil.copytree(HOURLY / name, repo / "models" / name)
    (repo / "models" / "broken").mkdir(parents=True)
    (repo / "models" / "broken" / "model.json").write_text("{ not json", encoding="utf-8")
    (repo / "README.md").write_text("# Forecasting models\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "models")
    return repo


def try_repo(project: Path, hook_repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    environment.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(["pre-commit", "try-repo", str(hook_repo), "kerasparams", "--verbose"], cwd=project,
                          env=environment, capture_output=True, text=True, timeout=900)


def test_changed_good_model_passes_and_unchanged_broken_model_is_not_checked(
        project: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    model = project / "models" / "model_1" / "model.json"
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    git(project, "add", "models/model_1/model.json")
    done = try_repo(project, hook_repo, pre_commit_home)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "kerasparams (Keras parameter counts)" in output and "Passed" in output
    assert "1 passed, 0 failed" in output
    assert "broken" not in output


def test_changed_summary_fails_its_model_with_the_explanation(
        project: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    summary = project / "models" / "model_2" / "summary.txt"
    summary.write_text(summary.read_text(encoding="utf-8").replace("80400", "80401"), encoding="utf-8")
    git(project, "add", "models/model_2/summary.txt")
    done = try_repo(project, hook_repo, pre_commit_home)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Failed" in output
    assert "models/model_2/summary.txt:8: layer lstm_1 (LSTM): Param # is 80,401 in the summary" in output
    assert "(100 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 80,400" in output
    assert "0 passed, 1 failed" in output and "broken" not in output


def test_unrelated_change_runs_nothing(project: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    (project / "train.py").write_text("print('training')\n", encoding="utf-8")
    git(project, "add", "train.py")
    done = try_repo(project, hook_repo, pre_commit_home)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "(no files to check)Skipped" in output
