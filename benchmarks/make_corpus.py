"""Generate (once) a corpus of varied Keras model configs for the benchmarks, cached in a temp folder.

Real Keras writes every file: tf-keras and Keras 3 build ~160 small models
from seeded random architectures (dense, recurrent, convolutional, wrapped,
functional with merges), plus large tf-keras applications (NASNetMobile,
DenseNet121, ResNet50, InceptionV3, Xception, MobileNetV2, ...). Variants
that scale layer widths of the Sequential models (Dense/recurrent units,
conv filters, which later layers infer their inputs from) fill the corpus up
to the requested size, so files differ in size and content.

Usage: ``python benchmarks/make_corpus.py [--count 1000] [--folder PATH]``;
prints the folder. Other benchmarks call :func:`corpus`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

DEFAULT_FOLDER = Path(tempfile.gettempdir()) / "kerasparams-bench-corpus"
MANIFEST = "manifest.json"
APPLICATIONS = ("NASNetMobile", "DenseNet121", "ResNet50", "InceptionV3", "Xception", "MobileNetV2", "MobileNet",
                "VGG16")
WIDTH_KEYS = ("units", "filters")
SCALABLE = {"Dense", "LSTM", "GRU", "SimpleRNN", "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D",
            "Conv2DTranspose"}


def _builders(keras: Any) -> list[Callable[[random.Random, str], Any]]:
    layers = keras.layers

    def dense(rng: random.Random, name: str) -> Any:
        model = keras.Sequential(name=name)
        model.add(keras.Input((rng.choice([8, 32, 100, 784]),)))
        for _ in range(rng.randint(1, 6)):
            model.add(layers.Dense(rng.choice([16, 64, 128, 256, 512]), activation="relu"))
            if rng.random() < 0.3:
                model.add(layers.BatchNormalization())
            if rng.random() < 0.3:
                model.add(layers.Dropout(0.2))
        model.add(layers.Dense(rng.choice([1, 10, 48])))
        return model

    def recurrent(rng: random.Random, name: str) -> Any:
        cell = rng.choice([layers.LSTM, layers.GRU, layers.SimpleRNN])
        model = keras.Sequential(name=name)
        model.add(keras.Input((rng.choice([24, 48, 72]), rng.choice([1, 8, 16]))))
        depth = rng.randint(1, 3)
        for index in range(depth):
            inner = cell(rng.choice([32, 64, 100, 200]), return_sequences=index < depth - 1)
            model.add(layers.Bidirectional(inner) if rng.random() < 0.3 else inner)
        if rng.random() < 0.5:
            model.add(layers.RepeatVector(rng.choice([12, 48])))
            model.add(cell(rng.choice([32, 100]), return_sequences=True))
            model.add(layers.TimeDistributed(layers.Dense(rng.choice([1, 8]))))
        else:
            model.add(layers.Dense(rng.choice([1, 24])))
        return model

    def text(rng: random.Random, name: str) -> Any:
        model = keras.Sequential(name=name)
        model.add(keras.Input((rng.choice([50, 200]),)))
        model.add(layers.Embedding(rng.choice([1000, 20000]), rng.choice([16, 64, 128])))
        if rng.random() < 0.5:
            model.add(layers.Conv1D(rng.choice([32, 64]), rng.choice([3, 5]), activation="relu"))
            model.add(layers.GlobalMaxPooling1D())
        else:
            model.add(layers.LSTM(rng.choice([32, 64])))
        model.add(layers.Dense(1, activation="sigmoid"))
        return model

    def convolutional(rng: random.Random, name: str) -> Any:
        model = keras.Sequential(name=name)
        size = rng.choice([28, 32, 64])
        model.add(keras.Input((size, size, rng.choice([1, 3]))))
        for _ in range(rng.randint(1, 3)):
            conv = rng.choice([layers.Conv2D, layers.SeparableConv2D])
            model.add(conv(rng.choice([16, 32, 64]), rng.choice([3, 5]), padding="same", activation="relu"))
            if rng.random() < 0.4:
                model.add(layers.BatchNormalization())
            model.add(layers.MaxPooling2D(2) if rng.random() < 0.7 else layers.ZeroPadding2D(1))
        model.add(layers.Flatten() if rng.random() < 0.5 else layers.GlobalAveragePooling2D())
        model.add(layers.Dense(rng.choice([10, 100])))
        return model

    def functional(rng: random.Random, name: str) -> Any:
        inputs = keras.Input((rng.choice([16, 32]), rng.choice([16, 32]), 3))
        x = layers.Conv2D(rng.choice([16, 32]), 3, padding="same")(inputs)
        for _ in range(rng.randint(1, 4)):
            branch = layers.Conv2D(x.shape[-1], 3, padding="same", activation="relu")(x)
            branch = layers.BatchNormalization()(branch)
            x = (layers.Add() if rng.random() < 0.5 else layers.Concatenate())([x, branch])
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(rng.choice([2, 10]))(x)
        return keras.Model(inputs, outputs, name=name)

    return [dense, recurrent, text, convolutional, functional]


def _scaled(data: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    """A copy with layer widths scaled: valid because later layers infer their inputs."""
    data = copy.deepcopy(data)
    data["config"]["name"] = f"{data['config'].get('name', 'model')}_v{index}"
    for layer in data["config"].get("layers", []):
        config = layer.get("config", {})
        if layer.get("class_name") in SCALABLE and rng.random() < 0.7:
            for key in WIDTH_KEYS:
                if isinstance(config.get(key), int):
                    config[key] = max(1, int(config[key] * rng.choice([0.5, 0.75, 1.5, 2, 3])))
    return data


def build(folder: Path, count: int, seed: int = 8) -> list[dict[str, Any]]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tf_keras

    rng = random.Random(seed)
    entries: list[dict[str, Any]] = []
    folder.mkdir(parents=True, exist_ok=True)

    def write(data: dict[str, Any], kind: str, flavor: str) -> None:
        path = folder / f"{len(entries):05d}_{kind}" / "model.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        entries.append({"path": str(path), "kind": kind, "flavor": flavor, "bytes": path.stat().st_size})

    for application in APPLICATIONS:
        start = time.perf_counter()
        model = getattr(tf_keras.applications, application)(weights=None)
        write(json.loads(model.to_json()), application.lower(), "tf-keras")
        print(f"  {application}: {len(model.layers)} layers, {time.perf_counter() - start:.1f} s", file=sys.stderr)
        del model
        tf_keras.backend.clear_session()
    bases: list[dict[str, Any]] = []
    for flavor, module in (("tf-keras", tf_keras), ("keras3", keras)):
        builders = _builders(module)
        for index in range(80):
            builder = builders[index % len(builders)]
            try:
                data = json.loads(builder(rng, f"{builder.__name__}_{index}").to_json())
            except ValueError as error:  # an architecture Keras rejects: try the next one
                print(f"  skipped {builder.__name__}_{index}: {str(error).splitlines()[0]}", file=sys.stderr)
                continue
            write(data, builder.__name__, flavor)
            if data["class_name"] == "Sequential":
                bases.append({"data": data, "kind": builder.__name__, "flavor": flavor})
        module.backend.clear_session()
    index = 0
    while len(entries) < count:
        base = bases[index % len(bases)]
        write(_scaled(base["data"], rng, index), base["kind"] + "_scaled", base["flavor"])
        index += 1
    (folder / MANIFEST).write_text(json.dumps({"count": count, "seed": seed, "files": entries}, indent=1),
                                   encoding="utf-8")
    return entries


def corpus(count: int = 1000, folder: Path = DEFAULT_FOLDER) -> list[dict[str, Any]]:
    """The cached corpus, built on first use (a few minutes: it imports TensorFlow)."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data["count"] >= count and all(Path(e["path"]).is_file() for e in data["files"]):
            return data["files"]
    return build(folder, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    args = parser.parse_args()
    files = corpus(args.count, args.folder)
    print(f"{len(files)} files, {sum(e['bytes'] for e in files) / 1e6:.1f} MB in {args.folder}")


if __name__ == "__main__":
    main()
