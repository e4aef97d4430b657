"""Damaged or hand-edited model directories: one clear error each, nothing allocated or opened first."""

import json
import shutil
import time

import pytest
import torch

from asr.checkpoint import average_model_dirs, load_checkpoint, load_model_dir, save_model_dir
from asr.errors import ASRError, ModelError
from asr.loading import pretrained_dir

BUNDLED = pretrained_dir() / "conformer-ctc-synthetic"


@pytest.fixture
def model_copy(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.model"):
        shutil.copyfile(BUNDLED / name, out / name)
    return out


def _edit(directory, **model_fields):
    config = json.loads((directory / "config.json").read_text())
    config["model"].update(model_fields)
    (directory / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("d_model", "144", "d_model must be a whole number from 1 to 4096, got '144'"),
        ("d_model", -4, "d_model must be a whole number from 1 to 4096, got -4"),
        ("d_model", 10**6, "d_model must be a whole number from 1 to 4096, got 1000000"),
        ("n_layers", 10**6, "n_layers must be a whole number from 1 to 128, got 1000000"),
        ("n_heads", 5, "d_model (144) must be divisible by n_heads (5)"),
        ("strides", [], "strides must be a list of 1 to 8 whole numbers, got []"),
        ("strides", [2, True], "strides must be a whole number from 1 to 8, got [2, True]"),
        ("conv_kernel", 4, "conv_kernel must be odd for the Conformer, got 4"),
        ("encoder", "lstm", "encoder must be 'conformer' or 'transformer', got 'lstm'"),
    ],
)
def test_bad_model_fields_are_named_before_anything_is_built(model_copy, field, value, message):
    _edit(model_copy, **{field: value})
    started = time.perf_counter()
    with pytest.raises(
        ASRError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")
    ):
        load_model_dir(model_copy)
    assert time.perf_counter() - started < 2  # refused at once, not after allocating a huge network


def test_regularization_fields_of_older_directories_are_ignored(model_copy):
    """Directories written while dropout, SpecAugment and VTLP sat in the model section still load."""
    _edit(model_copy, dropout=0.3, freq_masks=4, vtlp=0.1)
    model, _, _ = load_model_dir(model_copy)
    assert "dropout" not in model.cfg.to_dict() and not model.regularization.vtlp


def test_directories_of_older_and_newer_configs_average(model_copy, tmp_path):
    """A config.json written before some fields existed (conv_future, streaming) and while dropout sat in the
    model section: a directory written now from the same weights holds the same network, so the two average."""
    path = model_copy / "config.json"
    config = json.loads(path.read_text())
    for field in ("conv_future", "streaming"):
        config["model"].pop(field, None)
    config["model"]["dropout"] = 0.1
    path.write_text(json.dumps(config))
    model, tokenizer, _ = load_model_dir(model_copy)
    newer = save_model_dir(tmp_path / "newer", model.cfg, model.state_dict(), tokenizer)
    assert "conv_future" in json.loads((newer / "config.json").read_text())["model"]
    cfg, state, _ = average_model_dirs([model_copy, newer])
    assert cfg == model.cfg
    torch.testing.assert_close(state["head.weight"], model.state_dict()["head.weight"])


def test_weighted_soup_interpolates_between_two_models(model_copy, tmp_path):
    model, tokenizer, _ = load_model_dir(model_copy)
    zeroed = {k: torch.zeros_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    other = save_model_dir(tmp_path / "zeroed", model.cfg, zeroed, tokenizer)
    _, state, _ = average_model_dirs([model_copy, other], [3, 1])  # normalized: 0.75 and 0.25
    torch.testing.assert_close(state["head.weight"], 0.75 * model.state_dict()["head.weight"])
    with pytest.raises(ModelError, match="one positive weight per model directory"):
        average_model_dirs([model_copy, other], [1.0])
    with pytest.raises(ModelError, match="one positive weight per model directory"):
        average_model_dirs([model_copy, other], [1.0, 0.0])


@pytest.mark.parametrize(
    "content,message",
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ("{", "invalid JSON"),
        ('{"format_version": 1, "model": [], "tokenizer": {}}', "missing field 'model'"),
    ],
)
def test_config_json_that_is_not_a_config(model_copy, content, message):
    (model_copy / "config.json").write_text(content)
    with pytest.raises(ModelError, match=message):
        load_model_dir(model_copy)


def test_tokenizer_paths_outside_the_directory_are_refused(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["tokenizer"]["file"] = "../../../../etc/passwd"
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="must name a file inside the model directory"):
        load_model_dir(model_copy)


@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_empty_or_truncated_weights_are_a_model_error(model_copy, keep):
    weights = model_copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(ModelError, match="model.safetensors: unreadable weights"):
        load_model_dir(model_copy)


def test_an_empty_checkpoint_is_a_model_error_not_an_index_error(tmp_path):
    (tmp_path / "ckpt-00000010.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="ckpt-00000010.pt: unreadable checkpoint"):
        load_checkpoint(tmp_path / "ckpt-00000010.pt")


def test_a_model_is_not_written_into_a_folder_of_other_files(model_copy, tmp_path):
    model, tokenizer, config = load_model_dir(model_copy)
    busy = tmp_path / "home"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="holds other files and is not a model directory"):
        save_model_dir(busy, model.cfg, model.state_dict(), tokenizer)
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    save_model_dir(model_copy, model.cfg, model.state_dict(), tokenizer)  # a model directory: written again
    (tmp_path / "empty").mkdir()
    assert (save_model_dir(tmp_path / "empty", model.cfg, model.state_dict(), tokenizer) / "config.json").is_file()
