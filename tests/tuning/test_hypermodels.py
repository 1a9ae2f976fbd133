"""kfx.tuning.hypermodels: hp choices mapped onto kfx networks and templates."""

from __future__ import annotations

import keras
import keras_tuner
import numpy as np
import pytest

from kfx.models import inception_net
from kfx.templates import Head
from kfx.tuning import (
    InceptionHyperModel,
    MultiIOHyperModel,
    ResNetHyperModel,
    XceptionHyperModel,
    search,
)


def _space(hypermodel) -> dict:
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    return {p.name: p.get_config() for p in hp.space}


def test_resnet_space_and_model():
    hypermodel = ResNetHyperModel((8, 8, 1), 10, stages=2, blocks_per_stage=(1, 3), widths=(8, 16))
    space = _space(hypermodel)
    assert space["blocks_per_stage"]["values"] == [1, 3]
    assert space["width"]["values"] == [8, 16]
    assert (space["drop_path"]["min_value"], space["drop_path"]["max_value"]) == (0.0, 0.2)
    assert space["learning_rate"]["sampling"] == "log"

    hp = keras_tuner.HyperParameters()
    hp.Fixed("blocks_per_stage", 3)
    hp.Fixed("width", 8)
    hp.Fixed("drop_path", 0.2)
    hp.Fixed("learning_rate", 0.003)
    model = hypermodel.build(hp)
    assert model.name == "resnet" and model.output_shape == (None, 10)
    assert sum(layer.name.endswith("_out") for layer in model.layers) == 6  # 2 stages x 3
    widths = {layer.filters for layer in model.layers if layer.name.endswith("_2_conv")}
    assert widths == {8, 16}
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert max(rates) == pytest.approx(0.2)  # drop-path rises to the hp value
    assert float(model.optimizer.learning_rate) == pytest.approx(0.003)
    assert model.loss == "sparse_categorical_crossentropy"


def test_single_values_are_fixed():
    hypermodel = ResNetHyperModel(
        (8, 8, 1), 3, stages=1, blocks_per_stage=1, widths=8, drop_path=0.0, learning_rate=1e-3
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    assert {type(p).__name__ for p in hp.space} == {"Fixed"}


def test_resnet_trains_in_a_search(tmp_path, capsys):
    x = np.random.default_rng(0).random((32, 8, 8, 1)).astype("float32")
    y = np.arange(32) % 3
    hypermodel = ResNetHyperModel((8, 8, 1), 3, stages=1, widths=8, blocks_per_stage=1)
    tuner = search(
        hypermodel,
        x,
        y,
        validation_data=(x, y),
        objective="val_accuracy",
        max_trials=1,
        epochs=1,
        directory=tmp_path,
    )
    assert "val_accuracy=" in capsys.readouterr().out
    assert tuner.oracle.objective.direction == "max"


@pytest.mark.parametrize("cls", [InceptionHyperModel, XceptionHyperModel])
def test_small_networks(cls):
    hypermodel = cls((16, 16, 3), 4, widths=(16, 32))
    space = _space(hypermodel)
    assert space["width"]["values"] == [16, 32]
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.output_shape == (None, 4)
    assert model.optimizer is not None


@pytest.mark.parametrize(
    "cls,depth_arg,candidates,depth,layer_suffix,count,classifier_in",
    [
        # 3 stages x 2 modules; the last stage's width is 32 * 2**2.
        (InceptionHyperModel, "blocks_per_stage", (1, 2), 2, "_concat", 6, 128),
        # 3 entry blocks and no middle flow; the exit flow doubles 32 * 2**2.
        (XceptionHyperModel, "middle_blocks", (0, 1, 2), 0, "_add", 3, 256),
    ],
)
def test_small_networks_map_the_hp_onto_the_builder(
    cls, depth_arg, candidates, depth, layer_suffix, count, classifier_in
):
    hypermodel = cls(
        (16, 16, 3), 4, stages=3, widths=(16, 32), stem_filters=(8, 16), **{depth_arg: candidates}
    )
    assert getattr(hypermodel, depth_arg) == candidates
    space = _space(hypermodel)
    assert sorted(space) == sorted(["width", "stem_filters", depth_arg, "learning_rate"])
    assert space[depth_arg]["values"] == list(candidates)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("width", 32)
    hp.Fixed("stem_filters", 8)
    hp.Fixed(depth_arg, depth)
    model = hypermodel.build(hp)
    assert model.name == hypermodel.name
    assert sum(layer.name.endswith(layer_suffix) for layer in model.layers) == count
    assert model.get_layer("stem_conv").filters == 8
    assert model.get_layer("predictions").kernel.shape == (classifier_in, 4)
    assert model.loss == "sparse_categorical_crossentropy"


def test_inception_widths_follow_the_builders_rule():
    with pytest.raises(ValueError) as from_model:
        inception_net((8, 8, 1), 10, widths=(24,))
    with pytest.raises(ValueError) as from_hypermodel:
        InceptionHyperModel((8, 8, 1), 10, widths=(24,))
    expected = str(from_model.value).split("; expected ")[1]
    assert (
        str(from_hypermodel.value)
        == f"InceptionHyperModel: argument `widths` got (24,); expected {expected}"
    )
    with pytest.raises(ValueError, match="InceptionHyperModel: argument `widths` got 8;"):
        InceptionHyperModel((8, 8, 1), 10, widths=8)
    with pytest.raises(ValueError, match="InceptionHyperModel: argument `blocks_per_stage` got 0"):
        InceptionHyperModel((8, 8, 1), 10, blocks_per_stage=0)
    assert XceptionHyperModel((8, 8, 1), 10, middle_blocks=0).middle_blocks == (0,)


def test_multi_io_space_model_and_fit(tmp_path):
    heads = [Head("priority", 1), Head("department", 4, "multiclass", loss_weight=0.5)]

    def words(tokens):
        return keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(tokens))

    hypermodel = MultiIOHyperModel(
        {"title": (6,), "tags": (3,)},
        heads,
        encoders={"title": words},
        dtypes={"title": "int32"},
        units=(8, 16),
        layers=(1, 2),
    )
    assert sorted(_space(hypermodel)) == ["dropout", "layers", "learning_rate", "units"]
    rng = np.random.default_rng(0)
    x = {"title": rng.integers(0, 50, (16, 6)), "tags": rng.random((16, 3)).astype("float32")}
    y = {"priority": rng.integers(0, 2, (16, 1)), "department": rng.integers(0, 4, 16)}
    tuner = search(
        hypermodel, x, y, validation_data=(x, y), max_trials=2, epochs=1, directory=tmp_path
    )
    best = tuner.get_best_models()[0]
    assert sorted(best.output_names) == ["department", "priority"]
    assert best.get_layer("title").dtype == "int32"
    # Each build made fresh layers: two trials, two separately trained embeddings.
    assert len(tuner.oracle.trials) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="ResNetHyperModel: argument `widths` got 0"):
        ResNetHyperModel((8, 8, 1), 10, widths=0)
    with pytest.raises(ValueError, match="argument `drop_path` got \\(0.0, 1.0\\)"):
        ResNetHyperModel((8, 8, 1), 10, drop_path=(0.0, 1.0))
    with pytest.raises(ValueError, match="argument `learning_rate` got \\(0.1, 0.01\\)"):
        ResNetHyperModel((8, 8, 1), 10, learning_rate=(0.1, 0.01))
    with pytest.raises(ValueError, match="argument `kind` got 'wide'"):
        ResNetHyperModel((8, 8, 1), 10, kind="wide")
    with pytest.raises(ValueError, match="argument `num_classes` got 0"):
        ResNetHyperModel((8, 8, 1), 0)
    with pytest.raises(ValueError, match="InceptionHyperModel: argument `widths`.*multiples of 16"):
        InceptionHyperModel((8, 8, 1), 10, widths=(24,))
    with pytest.raises(ValueError, match="XceptionHyperModel: argument `middle_blocks` got -1"):
        XceptionHyperModel((8, 8, 1), 10, middle_blocks=-1)
    with pytest.raises(ValueError, match="MultiIOHyperModel: argument `encoders`"):
        MultiIOHyperModel({"a": (3,)}, [Head("y", 1)], encoders={"b": lambda x: x})
    with pytest.raises(ValueError, match=r"MultiIOHyperModel: argument `inputs\['a'\]` got 3"):
        MultiIOHyperModel({"a": 3}, [Head("y", 1)])
    with pytest.raises(ValueError, match="MultiIOHyperModel: argument `heads`"):
        MultiIOHyperModel({"a": (3,)}, [])
