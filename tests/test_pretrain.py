"""The general model: `kogner pretrain` writes a loadable checkpoint with its model card, a killed run resumes to
the same weights, and the named model resolves from the cache or says in one line how to build it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from kogner.encoder import load_tokenizer, tiny_encoder_config
from kogner.model import KoGNER, ModelConfig
from kogner.train.pretrain import pretrain
from kogner.train.recipes import general_recipe

CORPORA = ("ncbi-disease", "bionlp11id")  # two small registered corpora: their KG-labelling takes seconds


def tiny_model() -> ModelConfig:
    vocab = load_tokenizer("all-MiniLM-L6-v2").vocab_size
    return ModelConfig(encoder_config=tiny_encoder_config(vocab, hidden=32), head_dim=32, width_dim=8)


def run(tmp_path, slice_kg, name: str, interrupt_at: int | None = None):
    config = general_recipe(tmp_path / name, tmp_path / "kg-labels", "cpu", max_steps=6, corpora=CORPORA)
    config = replace(config, batch_size=4, eval_every=3, max_train_sentences=40, max_devel_sentences=10)
    out = tmp_path / "models" / name

    def interrupt(step):
        if step == interrupt_at:
            raise KeyboardInterrupt  # like a kill: nothing is saved after the checkpoint of step 3

    torch.manual_seed(0)
    try:
        return pretrain(config, slice_kg, out, tiny_model(), max_test_sentences=20, on_step=interrupt), out
    except KeyboardInterrupt:
        torch.manual_seed(123)  # a new process would not share the old RNG state
        return pretrain(config, slice_kg, out, tiny_model(), resume=True, max_test_sentences=20), out


def test_pretrain_installs_a_loadable_model_with_its_card_and_a_killed_run_resumes_to_the_same_weights(
    tmp_path, slice_kg, monkeypatch
):
    card, out = run(tmp_path, slice_kg, "kogner-bio")
    assert sorted(s.corpus for s in card.scores) == sorted(["ncbi-disease", "bc5cdr", "bc2gm", "jnlpba", "craft",
                                                            "bionlp13pc", "bionlp11id"])  # fmt: skip
    assert card.steps == 6 and card.examples_seen == 24 and set(card.gold_corpora) == set(CORPORA)
    assert set(card.kg_files) == {"ncbi-disease-train", "bionlp11id-train"} and card.label_texts["kg"]
    readme = (out / "README.md").read_text()
    for needed in ("Test F1 (strict", "| ncbi-disease |", "MTL-Bioinformatics-2016", "Hetionet", "disease"):
        assert needed in readme, needed
    assert json.loads((out / "card.json").read_text())["steps"] == 6
    monkeypatch.setenv("KOGNER_HOME", str(tmp_path))  # the named model resolves from $KOGNER_HOME/models
    model = KoGNER.from_pretrained("kogner-bio")
    assert {"disease", "organism"} <= set(model.default_labels().values())

    _, resumed = run(tmp_path, slice_kg, "resumed", interrupt_at=5)
    whole, again = load_file(out / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert whole.keys() == again.keys() and all(torch.equal(whole[k], again[k]) for k in whole)


def test_an_unbuilt_general_model_says_how_to_build_it_in_one_line(cli, tmp_path, monkeypatch):
    from kogner.errors import KognerError

    monkeypatch.setenv("KOGNER_HOME", str(tmp_path))
    with pytest.raises(KognerError, match=r"not built in .*; build it with `kogner pretrain`"):
        KoGNER.from_pretrained("kogner-bio")
    text = tmp_path / "a.txt"
    text.write_text("BRCA1 mutations cause breast cancer.\n")
    code, _, err = cli("predict", text, tmp_path / "out.jsonl", "--model", "kogner-bio")
    assert code == 2 and err.count("\n") == 1 and "kogner pretrain" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["train", "ncbi-disease"], ["pretrain"], ["quickstart"]])
def test_a_step_count_below_one_is_refused_in_one_line_by_every_training_command(cli, tmp_path, monkeypatch, command):
    monkeypatch.setenv("KOGNER_HOME", str(tmp_path / "home"))  # no kogner-bio: quickstart would train
    code, _, err = cli(*command, "--max-steps", "0", "--output" if command[0] != "pretrain" else "--run-dir", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "--max-steps must be at least 1, not 0" in err
    assert "Traceback" not in err
