"""utils.device, utils.seeding and utils.data."""

import random

import numpy as np
import pytest
import torch

from utils import pick_device, seeded_generator, set_seed
from utils import device as device_module
from utils.data import noisy_line, noisy_sine, temperature_readings, will_i_pass


def test_device_override_is_honoured(monkeypatch, capsys):
    monkeypatch.setattr(device_module, "_announced", set())
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert "set by COURSE_DEVICE" in capsys.readouterr().out
    pick_device()
    assert capsys.readouterr().out == "", "the choice is announced once"


def test_device_override_names_a_missing_device(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda:7")
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(RuntimeError, match="does not have"):
        pick_device(verbose=False)


def test_device_override_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "gpu-please")
    with pytest.raises(RuntimeError, match="not a device name"):
        pick_device(verbose=False)


def test_device_without_override_prefers_an_accelerator(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device(verbose=False).type == expected


def test_set_seed_repeats_python_numpy_and_torch():
    set_seed(3)
    first = (random.random(), np.random.rand(), torch.rand(2))
    set_seed(3)
    second = (random.random(), np.random.rand(), torch.rand(2))
    assert first[0] == second[0] and first[1] == second[1] and torch.equal(first[2], second[2])


def test_seeded_generator_fixes_the_shuffle_order():
    data = torch.arange(20)
    orders = [[int(b[0]) for b in torch.utils.data.DataLoader(data, batch_size=4, shuffle=True,
                                                               generator=seeded_generator(5))] for _ in range(2)]
    assert orders[0] == orders[1]
    assert orders[0] != [0, 4, 8, 12, 16], "shuffled"


def test_temperature_readings():
    t_c, t_u = temperature_readings()
    assert t_c.shape == t_u.shape == (11,)
    assert t_c[3].item() == 28.0 and t_u[3].item() == pytest.approx(81.9)


@pytest.mark.parametrize("make", [noisy_sine, noisy_line, will_i_pass])
def test_generated_data_is_identical_across_runs_and_depends_on_the_seed(make):
    first, again, other = make(seed=1), make(seed=1), make(seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[1], other[1])


def test_noisy_sine_shapes_and_noise_level():
    x, y = noisy_sine(n=2000, noise_std=0.2, seed=0)
    assert x.shape == y.shape == (2000, 1)
    assert x.min().item() == -10.0 and x.max().item() == 10.0
    assert (y - torch.sin(0.5 * x)).std().item() == pytest.approx(0.2, rel=0.1)


def test_will_i_pass_follows_its_documented_rule():
    X, y = will_i_pass(n=500, label_noise=0.0, seed=0)
    assert X.shape == (500, 2) and y.shape == (500,)
    rule = (X[:, 0] / 26 + X[:, 1] / 40 > 1.0).float()
    assert torch.equal(y, rule)
    _, noisy = will_i_pass(n=5000, label_noise=0.1, seed=0)
    X5, _ = will_i_pass(n=5000, label_noise=0.0, seed=0)
    flipped = (noisy != (X5[:, 0] / 26 + X5[:, 1] / 40 > 1.0).float()).float().mean().item()
    assert flipped == pytest.approx(0.1, abs=0.02)


def test_will_i_pass_can_be_imbalanced():
    _, balanced = will_i_pass(n=2000, seed=0)
    _, rare = will_i_pass(n=2000, pass_line=1.8, seed=0)
    assert 0.3 < balanced.mean().item() < 0.7
    assert rare.mean().item() < 0.2
