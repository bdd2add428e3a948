"""Hostile model files never execute code and never change a file (issue 9).

Every payload here would create a marker file if anything decoded, called or
imported it. The tests build the payloads with marshal/base64 themselves (the
package must never unmarshal), prove in a control test that each payload is
live, and then run every front end over them: the library, the ``kerasparams``
command and pytest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_kerasparams.analysis import analyze_file
from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.problems import InputError

REPO = Path(__file__).resolve().parents[1]
EVIL_MODULE = "kp_evil_payload_module"


# --------------------------------------------------------------------------- payloads

def _marker_code(marker: Path) -> types.CodeType:
    """The code object of ``lambda x: <write marker> or x``: what a Lambda layer would run."""
    source = f"lambda x: open({str(marker)!r}, 'w').write('executed') and x"
    module = compile(source, "<payload>", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _layers(lambda_config: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A two-layer Sequential whose second layer is a Lambda with a declared output shape."""
    layer = {"class_name": "Lambda", "config": {"name": "payload", "output_shape": [4], **lambda_config}}
    layer.update(extra or {})
    return {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 4, "batch_input_shape": [None, 3]}},
        layer,
    ]}}


def keras1_lambda(marker: Path) -> dict[str, Any]:
    """Keras 1 / 2.0: marshalled bytecode as a latin-1 (raw_unicode_escape) string."""
    code = marshal.dumps(_marker_code(marker)).decode("raw_unicode_escape")
    model = _layers({"function": [code, None, None], "function_type": "lambda", "arguments": {}})
    model["keras_version"] = "2.0.8"
    return model


def keras2_lambda(marker: Path) -> dict[str, Any]:
    """Keras 2.1+ / tf.keras: base64 bytecode with ``function_type: "lambda"``."""
    code = base64.b64encode(marshal.dumps(_marker_code(marker))).decode("ascii")
    model = _layers({"function": [code, None, None], "function_type": "lambda", "module": "builtins",
                     "output_shape_type": "raw", "arguments": {}})
    model["keras_version"] = "2.13.1"
    model["backend"] = "tensorflow"
    return model


def keras3_lambda(marker: Path) -> dict[str, Any]:
    """Keras 3: ``{"class_name": "__lambda__", "config": {"code": ...}}``."""
    code = base64.b64encode(marshal.dumps(_marker_code(marker))).decode("ascii")
    return _layers({"function": {"class_name": "__lambda__", "config": {
        "code": code, "defaults": None, "closure": None}}, "arguments": {}},
        {"module": "keras.layers", "registered_name": None})


def _evil_module(directory: Path, marker: Path) -> None:
    """A module that writes the marker the moment it is imported."""
    (directory / f"{EVIL_MODULE}.py").write_text(textwrap.dedent(f"""
        open({str(marker)!r}, "w").write("imported")
        class Evil:
            pass
        def get_config():
            return {{}}
    """))


def module_layer(marker: Path) -> dict[str, Any]:
    """A layer whose ``module``/``registered_name`` name the evil module."""
    return {"class_name": "Sequential", "module": EVIL_MODULE, "registered_name": f"{EVIL_MODULE}>Evil",
            "config": {"name": "seq", "layers": [
                {"class_name": "InputLayer", "module": EVIL_MODULE, "config": {"name": "in", "batch_shape": [None, 3]}},
                {"class_name": "Evil", "module": EVIL_MODULE, "registered_name": f"{EVIL_MODULE}>Evil",
                 "config": {"name": "evil", "units": 4}},
            ]}}


def class_is_module_path(marker: Path) -> dict[str, Any]:
    """A custom class_name that is itself an importable module path, and initializers naming it."""
    initializer = {"class_name": f"{EVIL_MODULE}.Evil", "module": EVIL_MODULE, "config": {}}
    return {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 4, "batch_input_shape": [None, 3],
                                           "kernel_initializer": initializer,
                                           "activation": f"{EVIL_MODULE}.get_config"}},
        {"class_name": EVIL_MODULE, "config": {"name": "evil"}},
        {"class_name": f"{EVIL_MODULE}.Evil", "config": {"name": "evil2"}},
    ]}}


def functional_lambda(marker: Path) -> dict[str, Any]:
    """A Keras 3 functional model whose Lambda sits in the middle of the graph and in a node's kwargs."""
    code = base64.b64encode(marshal.dumps(_marker_code(marker))).decode("ascii")
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "dtype": "float32",
                                                          "keras_history": ["in", 0, 0]}}
    return {"class_name": "Functional", "module": "keras.src.models.functional", "config": {
        "name": "f", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_shape": [None, 3]},
             "inbound_nodes": []},
            {"class_name": "Lambda", "name": "lam", "module": "keras.layers",
             "config": {"name": "lam", "output_shape": [3],
                        "function": {"class_name": "__lambda__", "config": {"code": code}}},
             "inbound_nodes": [{"args": [tensor], "kwargs": {"mask": {"class_name": "__lambda__",
                                                                      "config": {"code": code}}}}]},
        ],
        "input_layers": [["in", 0, 0]], "output_layers": [["lam", 0, 0]]}}


PAYLOADS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "keras1-marshal-latin1": keras1_lambda,
    "keras2-base64-lambda": keras2_lambda,
    "keras3-__lambda__": keras3_lambda,
    "keras3-functional-lambda": functional_lambda,
    "module-and-registered-name": module_layer,
    "class-name-is-module-path": class_is_module_path,
}


@pytest.fixture
def armed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A folder for model files, a marker path, and the evil module importable from sys.path."""
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil"
    evil.mkdir()
    _evil_module(evil, marker)
    monkeypatch.syspath_prepend(str(evil))
    monkeypatch.delitem(sys.modules, EVIL_MODULE, raising=False)
    models = tmp_path / "models"
    models.mkdir()
    for name, build in PAYLOADS.items():
        folder = models / name
        folder.mkdir()
        (folder / "model.json").write_text(json.dumps(build(marker), indent=2), encoding="utf-8")
    return models, marker


def _assert_not_executed(marker: Path) -> None:
    assert not marker.exists(), f"input code ran: {marker} was created ({marker.read_text()!r})"
    assert EVIL_MODULE not in sys.modules, "a module named by the input was imported"


# --------------------------------------------------------------------------- the payloads are live

@pytest.mark.parametrize("name", ["keras1-marshal-latin1", "keras2-base64-lambda", "keras3-__lambda__"])
def test_control_payload_is_live(name: str, tmp_path: Path) -> None:
    """Decoding the payload the way Keras does runs it: the tests below are not vacuous."""
    marker = tmp_path / "CONTROL"
    config = PAYLOADS[name](marker)["config"]["layers"][1]["config"]["function"]
    if isinstance(config, dict):
        raw = base64.b64decode(config["config"]["code"])
    elif name.startswith("keras1"):
        raw = config[0].encode("raw_unicode_escape")
    else:
        raw = base64.b64decode(config[0])
    function = types.FunctionType(marshal.loads(raw), {})
    function(1)
    assert marker.read_text() == "executed"


def test_control_module_is_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "CONTROL"
    _evil_module(tmp_path, marker)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, EVIL_MODULE, raising=False)
    __import__(EVIL_MODULE)
    monkeypatch.delitem(sys.modules, EVIL_MODULE, raising=False)
    assert marker.read_text() == "imported"


# --------------------------------------------------------------------------- no front end runs them

@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_library_never_executes(name: str, armed: tuple[Path, Path]) -> None:
    models, marker = armed
    path = models / name / "model.json"
    check = check_model_file(path)
    try:
        analysis = analyze_file(path)
    except InputError as error:
        assert error.problem.message
    else:
        from pytest_kerasparams.explain import explain_model

        explain_model(analysis.report)
    assert all(p.message and "Traceback" not in p.render() for p in check.problems)
    _assert_not_executed(marker)


def test_lambda_payloads_still_compute(armed: tuple[Path, Path]) -> None:
    """The Lambda's declared output_shape is used; its code stays an inert string."""
    models, marker = armed
    for name in ("keras1-marshal-latin1", "keras2-base64-lambda", "keras3-__lambda__", "keras3-functional-lambda"):
        check = check_model_file(models / name / "model.json")
        assert check.analysis is not None, [p.render() for p in check.problems]
        assert check.analysis.report.total == (3 * 4 + 4 if name != "keras3-functional-lambda" else 0)
    _assert_not_executed(marker)


def test_custom_class_is_reported_not_imported(armed: tuple[Path, Path]) -> None:
    models, marker = armed
    check = check_model_file(models / "module-and-registered-name" / "model.json")
    assert check.problems
    assert any("Evil" in p.message for p in check.problems), [p.render() for p in check.problems]
    _assert_not_executed(marker)


def _cli(*args: str, cwd: Path, pythonpath: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(pythonpath), str(REPO)]))
    return subprocess.run([sys.executable, "-m", "pytest_kerasparams.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", [["check"], ["check", "--format", "json"], ["summary"], ["explain"]])
def test_cli_never_executes(command: list[str], armed: tuple[Path, Path]) -> None:
    models, marker = armed
    result = _cli(*command, str(models), cwd=models, pythonpath=models.parent / "evil")
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not marker.exists(), f"input code ran under `kerasparams {' '.join(command)}`"


def test_pytest_never_executes(armed: tuple[Path, Path], pytester: pytest.Pytester) -> None:
    models, marker = armed
    for folder in models.iterdir():
        target = pytester.path / folder.name
        target.mkdir()
        (target / "model.json").write_bytes((folder / "model.json").read_bytes())
    pytester.syspathinsert(models.parent / "evil")
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == len(PAYLOADS)
    assert "Traceback" not in result.stdout.str()
    _assert_not_executed(marker)
    try:  # the snapshot update reads the same configs (and writes summary.txt) and must not run them either
        import pytest_kerasparams.update  # noqa: F401
    except ImportError:
        return
    result = pytester.runpytest("-p", "no:cacheprovider", "--kerasparams-update")
    assert "Traceback" not in result.stdout.str()
    _assert_not_executed(marker)


def test_package_source_has_no_code_loading() -> None:
    """The package never calls eval/exec/compile/__import__ nor imports marshal, pickle or their kin.

    ``importlib`` is allowed in registry.py, which imports only modules the user names
    (``--plugin``, the ``kerasparams_plugins`` ini option, installed entry points), never a file's;
    keras/tf_keras only in oracle.py, the opt-in cross-check (tested below to refuse every payload).
    """
    import ast

    banned_calls = {"eval", "exec", "compile", "__import__", "breakpoint", "import_module"}
    banned_modules = {"marshal", "pickle", "_pickle", "shelve", "dill", "cloudpickle", "runpy", "ctypes",
                      "importlib", "yaml", "tensorflow", "keras", "tf_keras"}
    harmless = {"importlib.resources", "importlib.util", "importlib.metadata", "importlib.resources.files"}
    allowed = {("registry.py", "importlib"), ("registry.py", "import_module"),
               # the package's own lazy exports: fixed names of its own submodules, never input
               ("__init__.py", "importlib"), ("__init__.py", "import_module"),
               # the opt-in --kerasparams-oracle cross-check, which refuses code-carrying configs first
               ("oracle.py", "keras"), ("oracle.py", "tf_keras")}
    offenders = []
    for source in sorted((REPO / "pytest_kerasparams").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Call):
                called = node.func.id if isinstance(node.func, ast.Name) else \
                    node.func.attr if isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" \
                    else ""  # re.compile and friends are fine
                if called in banned_calls and (source.name, called) not in allowed:
                    offenders.append(f"{source.relative_to(REPO)}:{node.lineno}: calls {called}()")
            offenders += [f"{source.relative_to(REPO)}:{node.lineno}: imports {name}" for name in names
                          if name.split(".")[0] in banned_modules and name not in harmless
                          and (source.name, name.split(".")[0]) not in allowed]
    assert not offenders, offenders


# --------------------------------------------------------------------------- nothing is ever written

def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _project(tmp_path: Path) -> Path:
    """Models, stale and broken summaries, fake weight files and documents: everything the tool reads."""
    root = tmp_path / "project"
    dense = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "dense", "units": 4, "batch_input_shape": [None, 3]}}]}}
    for name, summary in (("good", "Total params: 16\n"), ("stale", "Total params: 99\n"), ("none", None)):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "model.json").write_text(json.dumps(dense), encoding="utf-8")
        if summary is not None:
            (folder / "summary.txt").write_text(
                "Layer (type)                 Output Shape              Param #\n"
                "=================================================================\n"
                "dense (Dense)                (None, 4)                 16\n"
                "=================================================================\n" + summary, encoding="utf-8")
        (folder / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(64))
        (folder / "README.md").write_text("The dense layer has (3 + 1) × 4 = 16 parameters.\n", encoding="utf-8")
    bad = root / "broken"
    bad.mkdir()
    (bad / "model.json").write_bytes(b'{"class_name": "Sequential", "config": [\xff')
    (bad / "summary.txt").write_bytes(b"\xfe\xff not text")
    return root


def test_nothing_is_written(tmp_path: Path, pytester: pytest.Pytester) -> None:
    root = _project(tmp_path)
    before = _snapshot(root)
    time.sleep(0.01)
    for model in root.rglob("model.json"):
        check_model_file(model)
    for command in (["check"], ["check", "--format", "json"], ["check", "--format", "github"], ["summary"],
                    ["summary", "--format", "json"], ["explain"], ["explain", "--format", "markdown"]):
        result = _cli(*command, str(root), cwd=root, pythonpath=tmp_path)
        assert result.returncode in (0, 1), (command, result.stderr)
    pytester.chdir()
    result = pytester.runpytest("-p", "no:cacheprovider", "--rootdir", str(root), str(root))
    assert result.ret in (0, 1)
    assert _snapshot(root) == before


# --------------------------------------------------------------------------- the snapshot update is atomic

_KILL_CHILD = r"""
import builtins, io, os, sys, time
from pathlib import Path

model, flag = Path(sys.argv[1]), Path(sys.argv[2])

def stall() -> None:
    flag.write_text("writing")
    time.sleep(120)

class SlowFile:
    def __init__(self, inner):
        self._inner = inner
    def write(self, data):
        half = data[: max(1, len(data) // 2)]
        self._inner.write(half)
        self._inner.flush()
        os.fsync(self._inner.fileno())
        stall()
    def __getattr__(self, name):
        return getattr(self._inner, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._inner.__exit__(*exc)

real_open, real_write = io.open, os.write

def slow_open(file, mode="r", *args, **kwargs):
    handle = real_open(file, mode, *args, **kwargs)
    return SlowFile(handle) if any(m in mode for m in "wax+") else handle

def slow_write(fd, data):
    real_write(fd, data[: max(1, len(data) // 2)])
    os.fsync(fd)
    stall()

builtins.open = io.open = slow_open
os.write = slow_write

from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.update import update_summary

update_summary(check_model_file(model), model)
print("finished without writing", file=sys.stderr)
"""


def test_update_is_atomic_when_killed(tmp_path: Path) -> None:
    pytest.importorskip("pytest_kerasparams.update",
                        reason="pytest_kerasparams/update.py (the snapshot update) does not exist yet")
    root = _project(tmp_path)
    model = root / "stale" / "model.json"
    summary = model.parent / "summary.txt"
    original = summary.read_bytes()
    model_bytes = model.read_bytes()
    flag = tmp_path / "FLAG"
    script = tmp_path / "child.py"
    script.write_text(_KILL_CHILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, str(script), str(model), str(flag)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flag.exists(), f"the update never wrote anything: {child.communicate(timeout=60)}"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=60)
    assert summary.read_bytes() == original, "a killed update left summary.txt truncated or half-written"
    assert model.read_bytes() == model_bytes


# --------------------------------------------------------------------------- the opt-in Keras cross-check

@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_oracle_refuses_code_carrying_configs(name: str, tmp_path: Path) -> None:
    """``--kerasparams-oracle`` hands configs to Keras, which can run code: it must refuse every payload first."""
    oracle = pytest.importorskip("pytest_kerasparams.oracle", reason="the Keras cross-check is not built yet")
    from pytest_kerasparams.graph import unwrap

    config, _, _ = unwrap(PAYLOADS[name](tmp_path / "MARKER"))
    assert oracle.unsafe_reasons(config, {}), f"the oracle would hand the {name} payload to Keras"


def test_oracle_cross_check_never_executes(armed: tuple[Path, Path]) -> None:
    """End to end with the real Keras: the payloads that analyse are refused, and nothing runs."""
    oracle = pytest.importorskip("pytest_kerasparams.oracle", reason="the Keras cross-check is not built yet")
    models, marker = armed
    for name in ("keras2-base64-lambda", "keras3-__lambda__", "keras3-functional-lambda"):
        analysis = analyze_file(models / name / "model.json")
        problems = oracle.cross_check(analysis)
        assert problems and all("refuses" in p.message or "needs" in p.message for p in problems), name
    assert not marker.exists()


# --------------------------------------------------------------------------- every bad input fails clearly

def _seq(layer_config: dict[str, Any], class_name: str = "Dense") -> str:
    return json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": class_name, "config": {"name": "d", **layer_config}}]}})


def _fn(layers: list[Any], inputs: list[Any], outputs: list[Any]) -> str:
    return json.dumps({"class_name": "Functional", "config": {"name": "f", "layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [None, 3]},
         "inbound_nodes": []}, *layers], "input_layers": inputs, "output_layers": outputs}})


def _dense(name: str, source: str, node: int = 0) -> dict[str, Any]:
    return {"class_name": "Dense", "name": name, "config": {"name": name, "units": 4},
            "inbound_nodes": [[[source, node, 0, {}]]]}


BAD_INPUTS: dict[str, tuple[str | bytes, str, int | None]] = {
    # name: (file content, words the first problem must contain, its line)
    "malformed": ('{\n  "class_name": "Sequential",\n  "config": {"layers": [1,]\n}', "is not valid JSON", 3),
    "truncated": ('{"class_name": "Sequential",\n "config": {', "is not valid JSON", 2),
    "nan": ('{\n "class_name": "Sequential",\n "config": {"layers": [], "x": NaN}}', "NaN is not valid JSON", 3),
    "infinity": ('{\n "class_name": "Sequential",\n\n "config": {"x": [-Infinity]}}', "Infinity is not valid JSON",
                 4),
    "overflow-float": ('{"class_name": "Sequential",\n "config": {"x": 1e999}}', "overflows to infinity", 2),
    "duplicate-key": ('{"class_name": "Sequential", "class_name": "Sequential", "config": {"name": "s", '
                      '"layers": [{"class_name": "Dense", "config": {"name": "d", "units": 4, '
                      '"batch_input_shape": [null, 3]}}]}}', "repeats the key 'class_name'", 1),
    "units-string": (_seq({"units": "4", "batch_input_shape": [None, 3]}), "units", 1),
    "units-float": (_seq({"units": 4.5, "batch_input_shape": [None, 3]}), "units", 1),
    "units-bool": (_seq({"units": True, "batch_input_shape": [None, 3]}), "units", 1),
    "units-null": (_seq({"units": None, "batch_input_shape": [None, 3]}), "units", 1),
    "units-zero": (_seq({"units": 0, "batch_input_shape": [None, 3]}), "units", 1),
    "units-negative": (_seq({"units": -2, "batch_input_shape": [None, 3]}), "units", 1),
    "dimension-negative": (_seq({"units": 2, "batch_input_shape": [None, -3]}), "batch_input_shape", 1),
    "dimension-string": (_seq({"units": 2, "batch_input_shape": [None, "3"]}), "batch_input_shape", 1),
    "kernel-size-string": (_seq({"filters": 2, "kernel_size": "3", "batch_input_shape": [None, 8, 3]}, "Conv1D"),
                           "kernel_size", 1),
    "no-input-shape": (_seq({"units": 2}), "declares no input shape", 1),
    "missing-layer": (_fn([_dense("a", "ghost")], [["in", 0, 0]], [["a", 0, 0]]), "'ghost'", 1),
    "missing-node": (_fn([_dense("a", "in"), _dense("b", "a", 3)], [["in", 0, 0]], [["b", 0, 0]]), "node 3", 1),
    "missing-output": (_fn([_dense("a", "in")], [["in", 0, 0]], [["zz", 0, 0]]), "'zz'", 1),
    "no-inputs": (_fn([_dense("a", "in")], [], [["a", 0, 0]]), "input_layers", 1),
    "cycle": (_fn([_dense("a", "b"), _dense("b", "a")], [["in", 0, 0]], [["b", 0, 0]]), "cycle", 1),
    "self-cycle": (_fn([_dense("a", "a")], [["in", 0, 0]], [["a", 0, 0]]), "cycle", 1),
    "not-utf8": ('{"class_name": "Sequential",\n "config": {"name": "\u00e9"}}'.encode("latin-1"),
                 "is not UTF-8 text (byte 0xe9", 2),
    "lone-surrogate": ('{"class_name": "Sequential",\n "config": {"name": "\\udc00"}}', "lone UTF-16 surrogate", 2),
    "empty": ("  \n", "is empty", None),
    "top-level-array": ("[1, 2]", "not a Keras model config", 1),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_fails_clearly(name: str, tmp_path: Path) -> None:
    content, words, line = BAD_INPUTS[name]
    path = tmp_path / "model.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    from pytest_kerasparams.check import CheckOptions

    check = check_model_file(path, CheckOptions(not_keras="error"))
    assert check.problems, f"{name} was accepted"
    first = check.problems[0]
    assert words in first.message, first.render()
    assert first.line == line, first.render()
    assert first.file == str(path) and "Traceback" not in first.render()


def test_directory_and_links_named_model_json(tmp_path: Path) -> None:
    (tmp_path / "dir" / "model.json").mkdir(parents=True)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "model.json").symlink_to(tmp_path / "loop" / "model.json")
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "model.json")  # opening it would block for ever
    expected = {"dir": "is a directory", "broken": "is a broken symbolic link",
                "loop": "symbolic link that cannot be followed", "fifo": "is not a regular file"}
    for folder, words in expected.items():
        check = check_model_file(tmp_path / folder / "model.json")
        assert [p.kind for p in check.problems] == ["invalid-file"] and words in check.problems[0].message
    # the command, walking the folder (a directory named model.json is a folder to search there)
    result = _cli("check", str(tmp_path), cwd=tmp_path, pythonpath=tmp_path, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    for folder in ("broken", "loop", "fifo"):
        assert expected[folder] in result.stdout


def test_terminal_escapes_from_the_file_are_not_printed_raw(tmp_path: Path) -> None:
    hostile = "\u001b[2J\u001b]0;owned\u0007\r"
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": f"d{hostile}", "units": 4, "batch_input_shape": [None, 3]}},
        {"class_name": f"Nope{hostile}", "config": {"name": "x"}}]}}
    (tmp_path / "model.json").write_text(json.dumps(model), encoding="utf-8")
    for command in (["check"], ["summary"], ["explain"]):
        result = _cli(*command, str(tmp_path), cwd=tmp_path, pythonpath=tmp_path, timeout=60)
        output = result.stdout + result.stderr
        assert "\u001b" not in output and "\u0007" not in output and "\r" not in output, command
