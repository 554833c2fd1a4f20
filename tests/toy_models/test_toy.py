"""Beyond Zero Init's toy: pretraining beats chance on a real-format fixture; cache; fine-tuning."""
import json

import pytest
import torch

from toy_models import cli
from toy_models import toy as toy_mod
from toy_models.toy import ToyModel, checkpoint_path, load_or_pretrain
from toy_models.train import TrainConfig, train_reference

from .fixtures import image_fixture

SMALL = {"width": 64, "r": 4, "pretrain_steps": 150, "pretrain_lr": 3e-3}


@pytest.fixture
def digits():
    return image_fixture(1200, 1), image_fixture(400, 2)


def test_pretrained_toy_beats_chance_and_is_cached(tmp_path, digits):
    train, test = digits
    m = ToyModel(**SMALL)
    fr, info = load_or_pretrain(m, train=train, test=test, root=tmp_path)
    assert not info["cached"] and info["test_acc"] > 0.6  # chance is 0.1
    fr2, info2 = load_or_pretrain(m, train=train, test=test, root=tmp_path)
    assert info2["cached"] and info2["test_acc"] == info["test_acc"]
    torch.testing.assert_close(fr2.W, fr.W, rtol=0, atol=0)
    other = checkpoint_path(ToyModel(**{**SMALL, "pretrain_lr": 1e-3}), "x", tmp_path)
    assert other != checkpoint_path(m, "x", tmp_path)
    assert checkpoint_path(ToyModel(**{**SMALL, "r": 8}), "x", tmp_path) == \
        checkpoint_path(m, "x", tmp_path)  # the LoRA rank is not part of pretraining


@pytest.mark.parametrize("scheme", ["A", "AB+", "pissa"])
def test_finetune_on_a_shifted_task(tmp_path, digits, scheme):
    train, test = digits
    m = ToyModel(**SMALL)
    fr, _ = load_or_pretrain(m, train=train, test=test, root=tmp_path)
    ft_train, ft_test = image_fixture(800, 3, proto_seed=7), image_fixture(300, 4, proto_seed=7)
    before = train_reference(m, fr, ft_train, TrainConfig(scheme=scheme, steps=0),
                             eval_data=ft_test).final
    res = train_reference(m, fr, ft_train, TrainConfig(scheme=scheme, optimizer="adamw",
                                                       lr=3e-3, steps=40), eval_data=ft_test)
    assert res.status == "ok"
    assert res.final["test_loss"] < before["test_loss"]
    assert res.history["loss"][-1] < res.history["loss"][0]


@pytest.fixture
def patched_data(monkeypatch, tmp_path, digits):
    sets = {("mnist", "train"): digits[0], ("mnist", "test"): digits[1],
            ("fashion-mnist", "train"): image_fixture(600, 3, proto_seed=7),
            ("fashion-mnist", "test"): image_fixture(200, 4, proto_seed=7)}
    fake = lambda name, split: sets[(name, split)]
    monkeypatch.setattr(toy_mod, "load_data", fake)
    monkeypatch.setattr(cli, "load_data", fake)
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path / "ck"))


def test_cli_finetune_json(patched_data, capsys):
    argv = ["finetune", "--scheme", "AB+", "--width", "32", "--rank", "4", "--steps", "5",
            "--pretrain-steps", "30", "--lr", "1e-3", "--format", "json", "--device", "cpu"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scheme"] == "AB+" and out["display"] == "Init[AB+]"
    assert 0 <= out["fashion_test_acc"] <= 1 and out["fashion_test_loss"] > 0
    assert cli.main(["pretrain", "--width", "32", "--pretrain-steps", "30"]) == 0
    assert "cached" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["finetune", "--scheme", "bogus", "--width", "32"], "unknown init scheme"),
    (["finetune", "--scheme", "ortho-qr-const", "--rank", "3", "--width", "32"], "even"),
    (["finetune", "--scheme", "A", "--lr", "-1"], "is not a finite number > 0"),
    (["pretrain", "--width", "abc"], "not a number"),
    (["finetune"], "required"),
    ([], "required"),
    (["finetune", "--scheme", "A", "--device", "tpu"], "device"),
])
def test_cli_bad_input_one_line_exit_2(patched_data, capsys, argv, needle):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("toy-model: error: ") and needle in err
    assert not err.startswith("toy-model: error: \"")  # no repr quoting


def test_cli_schemes(capsys):
    assert cli.main(["schemes", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["schemes"]
    assert {r["name"] for r in rows} >= {"A", "AB+", "loram"}
    assert cli.main(["schemes"]) == 0 and "Init[AB]" in capsys.readouterr().out


def test_cli_pretrain_mup(patched_data, capsys):
    argv = ["pretrain", "--width", "64", "--parametrization", "mup", "--pretrain-steps", "20",
            "--format", "json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["parametrization"] == "mup" and out["mnist_test_acc"] > 0.2
    key = torch.load(out["checkpoint"], weights_only=True)["info"]["key"]
    assert key["parametrization"] == "mup" and key["pretrain_lr"] == 2.0 ** -9
    assert cli.main(argv[:-2]) == 0 and "n=64, μP" in capsys.readouterr().out
    assert cli.main(["pretrain", "--parametrization", "ntk"]) == 2
    assert "invalid choice" in capsys.readouterr().err
