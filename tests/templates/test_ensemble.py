"""ensemble: members renamed so that copies of one model never collide."""

import keras
import numpy as np
import pytest

from kfx.templates import ensemble


def get_model(name="member", width=1, inputs=4, seed=None):
    x = keras.Input((inputs,))
    init = keras.initializers.GlorotUniform(seed=seed)
    return keras.Model(x, keras.layers.Dense(width, kernel_initializer=init)(x), name=name)


def _x(n=5, width=4):
    return np.random.default_rng(0).normal(size=(n, width)).astype("float32")


def test_copies_of_one_model_average():
    members = [get_model(seed=i) for i in range(3)]
    assert len({m.name for m in members}) == 1  # what Keras alone refuses to nest
    model = ensemble(members, name="avg")
    assert [layer.name for layer in model.layers] == [
        "avg_input",
        "avg_0_member",
        "avg_1_member",
        "avg_2_member",
        "avg_average",
    ]
    x = _x()
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_members_are_untouched_and_share_weights():
    members = [get_model(), get_model()]
    model = ensemble(members)
    assert [m.name for m in members] == ["member", "member"]
    assert {id(w) for w in model.weights} == {id(w) for m in members for w in m.weights}


def test_keras_applications_copies_issue_19689():
    """Two copies of one keras.applications model carry the same name; Keras alone refuses."""
    members = [
        keras.applications.VGG16(
            input_shape=(32, 32, 3), weights=None, include_top=False, pooling="avg"
        )
        for _ in range(2)
    ]
    assert members[0].name == members[1].name
    inputs = keras.Input((32, 32, 3))
    with pytest.raises(ValueError, match="used 2 times"):
        keras.Model(inputs, keras.layers.Average()([m(inputs) for m in members]))
    model = ensemble(members, mode="concat", name="pair")
    assert model.output_shape == (None, 2 * members[0].output_shape[-1])
    assert [layer.name for layer in model.layers[1:3]] == [
        f"pair_0_{members[0].name}",
        f"pair_1_{members[0].name}",
    ]


def test_concat_joins_different_widths():
    model = ensemble([get_model(width=2), get_model(width=3)], mode="concat")
    assert model.output_shape == (None, 5)


def test_sequential_and_dict_input_members():
    seq = [keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]) for _ in range(2)]
    assert ensemble(seq).predict(_x(), verbose=0).shape == (5, 2)

    def dict_model():
        a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
        y = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
        return keras.Model({"a": a, "b": b}, y, name="dm")

    model = ensemble([dict_model(), dict_model()])
    assert sorted(model.input) == ["a", "b"]
    out = model.predict({"a": np.zeros((2, 2)), "b": np.zeros((2, 3))}, verbose=0)
    assert out.shape == (2, 1)


def test_different_input_shapes_lists_every_member():
    with pytest.raises(ValueError, match=r"different input shapes") as info:
        ensemble([get_model("a"), get_model("b", inputs=5), get_model("c")])
    message = str(info.value)
    for expected in ("0 'a': (4,) float32", "1 'b': (5,) float32", "2 'c': (4,) float32"):
        assert expected in message


@pytest.mark.parametrize(
    "models, kwargs, match",
    [
        (lambda: [get_model()], {}, "at least two"),
        (lambda: get_model(), {}, "at least two"),
        (lambda: [get_model(), get_model()], {"mode": "max"}, r"`mode` got 'max'"),
        (lambda: [get_model(), get_model(width=2)], {}, r"output shapes.*mode='average'"),
        (lambda: [get_model(), keras.layers.Dense(1)], {}, r"`models\[1\]`"),
        (lambda: [get_model(), keras.Sequential([keras.layers.Dense(1)])], {}, "without a graph"),
    ],
)
def test_bad_arguments(models, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        ensemble(models(), **kwargs)
    assert str(info.value).startswith("ensemble: ")


def test_member_with_two_outputs():
    x = keras.Input((3,))
    two = keras.Model(x, [keras.layers.Dense(1)(x), keras.layers.Dense(1)(x)])
    with pytest.raises(ValueError, match=r"with 2 outputs"):
        ensemble([two, two])


def test_subclassed_member():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(keras.Input((4,)))
    with pytest.raises(ValueError, match=r"subclassed model has no graph"):
        ensemble([get_model(), net])
