"""The student as a specification: it learns, saves, reloads, windows long input and never goes online."""

from __future__ import annotations

import socket
from itertools import pairwise

import pytest
import torch

from kogner.data import Document, read_corpus, text_to_document, write_corpus
from kogner.data.records import Entity, Sentence
from kogner.encoder import load_encoder, load_tokenizer, tiny_encoder_config
from kogner.errors import KognerError
from kogner.evaluate import evaluate_documents
from kogner.model import KoGNER, ModelConfig, SequenceTooLong
from kogner.model.collate import TextBatch
from kogner.model.student import SpanStudent, StudentOutput, supervised_cells
from kogner.model.windows import clip_words, plan_windows
from kogner.train.batching import CorpusData, corpus_quotas, negative_pool, plan_epoch
from kogner.train.trainer import TrainConfig, Trainer

LABELS = {"Disease": "disease"}


def tiny_config(**overrides) -> ModelConfig:
    vocab = load_tokenizer("all-MiniLM-L6-v2").vocab_size
    options = dict(
        encoder_config=tiny_encoder_config(vocab, hidden=64, layers=2), head_dim=64, width_dim=16, dropout=0.0
    )
    return ModelConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def ncbi_slice(tmp_path_factory, root):
    """32 real NCBI-disease training sentences that contain mentions."""
    sents = [s for s in read_corpus(root / "ner/NCBI-disease/train.tsv").sentences if s.entities][:32]
    path = tmp_path_factory.mktemp("slice") / "slice.tsv"
    write_corpus([Document.from_sentences("slice", sents)], path)
    return path, [Document.from_sentences("slice", sents)]


def train_config(path, out, **kw) -> TrainConfig:
    options = dict(epochs=40, batch_size=8, lr_encoder=3e-3, lr_heads=3e-3, warmup=0.05, eval_every=1000, seed=1)
    options.update(kw)
    return TrainConfig(corpora=[str(path)], labels={str(path): LABELS}, output=str(out), **options)


@pytest.fixture(scope="module")
def overfit(ncbi_slice, tmp_path_factory):
    path, _ = ncbi_slice
    out = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    trainer = Trainer(train_config(path, out), tiny_config())
    trainer.fit()
    return trainer.model, out


def test_overfitting_a_32_sentence_slice_reaches_train_f1_0_9(overfit, ncbi_slice):
    model, _ = overfit
    _, docs = ncbi_slice
    scores = evaluate_documents(docs, model.predict_documents(docs, LABELS))
    assert scores.micro.f1 >= 0.9, scores.micro


def test_save_then_load_gives_identical_predictions(overfit, ncbi_slice, tmp_path):
    model, _ = overfit
    _, docs = ncbi_slice
    model.save_pretrained(tmp_path / "ckpt")
    assert {p.name for p in (tmp_path / "ckpt").iterdir()} >= {"config.json", "labels.json", "model.safetensors"}
    loaded = KoGNER.from_pretrained(tmp_path / "ckpt")
    texts = [s.text for s in docs[0].sentences[:8]]
    assert loaded.predict(texts, ["disease"], threshold=0.3) == model.predict(texts, ["disease"], threshold=0.3)
    assert loaded.train_labels == {"slice": LABELS}


def test_best_and_last_checkpoints_are_written(overfit):
    _, out = overfit
    assert (out / "best" / "model.safetensors").is_file()
    assert (out / "last" / "optimizer.pt").is_file()
    assert (out / "metrics.jsonl").read_text().count("\n") == 160


def test_cached_and_uncached_label_embeddings_give_identical_scores(overfit, ncbi_slice):
    model, _ = overfit
    _, docs = ncbi_slice
    words = [s.tokens for s in docs[0].sentences[:6]]
    labels = ["disease", "gene", "chemical"]
    model.clear_label_cache()
    cached = model.predict_words(words, labels, threshold=0.2)
    assert set(labels) <= set(model._label_cache)
    again = model.predict_words(words, labels, threshold=0.2)
    model.student.eval()
    with torch.inference_mode():
        fresh = model.student.label_vectors(**model.tokenize_labels(labels))
    uncached = model.predict_words(words, labels, threshold=0.2, label_vectors=fresh)
    assert cached == again == uncached
    assert torch.equal(model.encode_labels(labels), fresh)


def test_thousands_of_labels_work(overfit):
    model, _ = overfit
    labels = [f"entity type {i}" for i in range(2000)]
    assert model.encode_labels(labels).shape == (2000, model.config.head_dim)
    model.predict_words([["a", "b"]], labels, threshold=0.99)


def test_overflow_error_raises_and_window_does_not(overfit):
    model, _ = overfit
    words = ["disease"] * 1200
    with pytest.raises(SequenceTooLong):
        model.predict_words([words], ["disease"], on_overflow="error")
    model.predict_words([words], ["disease"], on_overflow="window")


class KeywordStudent(torch.nn.Module):
    """A deterministic stand-in scorer: the span 'heart disease' (two words) scores 1, everything else 0."""

    def __init__(self, config: ModelConfig, first_id: int, second_id: int) -> None:
        super().__init__()
        self.config, self.first_id, self.second_id = config, first_id, second_id
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def label_vectors(self, input_ids, attention_mask):
        return torch.zeros(len(input_ids), 1)

    def forward(self, batch: TextBatch, label_vectors, knowledge=None) -> StudentOutput:
        ids = torch.gather(batch.input_ids, 1, batch.word_starts)  # first subword of each word
        b, w = ids.shape
        logits = torch.full((b, w, self.config.max_width, len(label_vectors)), -20.0)
        hit = (ids[:, :-1] == self.first_id) & (ids[:, 1:] == self.second_id)
        logits[:, :-1, 1, :][hit] = 20.0
        return StudentOutput(
            logits, logits, label_vectors, torch.ones(b, w, self.config.max_width, dtype=torch.bool), ids
        )


def test_a_mention_straddling_a_window_boundary_is_found_once_with_its_offsets():
    config = tiny_config()
    tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    first, second = (tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in ("heart", "disease"))
    model = KoGNER(KeywordStudent(config, first, second), tokenizer)
    words = ["the"] * 5000
    windows = plan_windows([1] * 5000, config.max_subwords - 2, config.window_overlap)
    at = windows[0][1] - 1  # "heart" is the last word of the first window, "disease" the first after it
    words[at], words[at + 1] = "heart", "disease"
    assert windows[1][0] < at and len(windows) > 5
    text = " ".join(words)
    found = model.predict(text, ["disease"])[0]
    start = len(" ".join(words[:at])) + 1
    assert [(p.start, p.end, p.text) for p in found] == [(start, start + len("heart disease"), "heart disease")]
    with pytest.raises(SequenceTooLong):
        model.predict(text, ["disease"], on_overflow="error")


def test_killed_and_resumed_training_ends_with_the_same_weights(ncbi_slice, tmp_path):
    path, _ = ncbi_slice

    def run(out, interrupt_at=None):
        torch.manual_seed(0)
        trainer = Trainer(train_config(path, out, epochs=3, eval_every=4), tiny_config(dropout=0.1))

        def kill(step):
            if step == interrupt_at:
                raise KeyboardInterrupt  # like a kill: no save after the last checkpoint (step 4)

        try:
            trainer.fit(on_step=kill)
        except KeyboardInterrupt:
            torch.manual_seed(123)  # a new process would not share the old RNG state
            trainer = Trainer(train_config(path, out, epochs=3, eval_every=4), tiny_config(dropout=0.1))
            trainer.fit(resume=True)
        return trainer.model.student.state_dict()

    whole = run(tmp_path / "whole")
    resumed = run(tmp_path / "resumed", interrupt_at=6)
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key


def test_resuming_an_early_stopped_run_trains_no_further(tmp_path):
    config = TrainConfig(
        corpora=["ncbi-disease"], output=str(tmp_path), epochs=3, batch_size=8, eval_every=1, patience=1,
        lr_encoder=0.0, lr_heads=0.0, max_train_sentences=16, max_devel_sentences=8,
    )  # fmt: skip
    first = Trainer(config, tiny_config()).fit()  # no learning: the second evaluation gains nothing and stops
    assert first.evals_without_gain == 1 and first.step == 2
    again = Trainer(config, tiny_config()).fit(resume=True)
    assert again.step == first.step


def test_no_network_while_loading_and_predicting(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = KoGNER.from_config(ModelConfig())  # the default MiniLM, from the installed wheel
    model.save_pretrained(tmp_path / "m")
    loaded = KoGNER.from_pretrained(tmp_path / "m")
    assert isinstance(loaded.predict("Cystic fibrosis is caused by CFTR mutations.", ["disease"]), list)


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("runs/nope", "no such checkpoint folder"),  # a typo: no minute of Hub retries, no traceback
        ("all-MiniLM-L6-v2", "a bare bert encoder, not a kogner model"),  # no heads: would predict at random
    ],
)
def test_a_model_that_is_not_a_kogner_checkpoint_fails_in_one_line_without_network(
    cli, monkeypatch, tmp_path, model, problem
):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    (tmp_path / "t.txt").write_text("BRCA1 mutations cause breast cancer.")
    code, out, err = cli("predict", tmp_path / "t.txt", tmp_path / "o.jsonl", "--model", model, "--labels", "disease")
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    assert not (tmp_path / "o.jsonl").exists()


def test_a_named_model_is_found_in_the_kogner_home(monkeypatch, tmp_path, tiny_checkpoint):
    import shutil

    monkeypatch.setenv("KOGNER_HOME", str(tmp_path))
    shutil.copytree(tiny_checkpoint, tmp_path / "models" / "my-model")
    assert KoGNER.from_pretrained("my-model").predict("Breast cancer.", ["disease"]) is not None


def test_predict_cli_on_an_abstract_longer_than_512_tokens_finds_its_last_sentence(cli, overfit, ncbi_slice, tmp_path):
    _, out = overfit
    _, docs = ncbi_slice
    sentences = docs[0].sentences
    text = " ".join(s.text for s in sentences)  # 32 sentences, far more than 512 subwords
    assert len(load_tokenizer("all-MiniLM-L6-v2")(text)["input_ids"]) > 512
    (tmp_path / "abstract.txt").write_text(text)
    code, _, err = cli(
        "predict", tmp_path / "abstract.txt", tmp_path / "out.jsonl", "--model", out / "best", "--labels", "disease"
    )
    assert code == 0, err
    doc = read_corpus(tmp_path / "out.jsonl").documents[0]
    last_start = len(text) - len(sentences[-1].text)
    found = [(m.start, m.end) for m in doc.mentions() if m.start >= last_start]
    gold = [(a + last_start, b + last_start) for a, b in (sentences[-1].char_span(e) for e in sentences[-1].entities)]
    assert found and set(found) <= set(gold) | set(found)
    assert set(gold) & set(found)


def test_labels_default_to_the_checkpoints_own_and_a_model_without_any_asks_for_them(
    cli, overfit, tiny_checkpoint, tmp_path
):
    _, out = overfit
    (tmp_path / "t.txt").write_text("Germline mutations of APC cause familial adenomatous polyposis .")
    code, _, err = cli("predict", tmp_path / "t.txt", tmp_path / "a.jsonl", "--model", out / "best")
    assert code == 0, err
    given = ("--model", out / "best", "--labels", "Disease=disease")
    code, _, err = cli("predict", tmp_path / "t.txt", tmp_path / "b.jsonl", *given)
    assert code == 0 and (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    code, _, err = cli("predict", tmp_path / "t.txt", tmp_path / "c.jsonl", "--model", tiny_checkpoint)
    assert code == 2 and "records no label texts; pass --labels" in err and not (tmp_path / "c.jsonl").exists()


def test_merged_labels_name_each_label_text_once():
    from kogner.model.checkpoints import merge_labels

    recorded = {
        "bc2gm": {"GENE": "gene or gene product"},
        "craft": {"GGP": "gene or gene product", "CL": "cell type"},
        "bc5cdr": {"Chemical": "chemical"},
        "bionlp11id": {"Chemical": "chemical", "Organism": "organism"},
    }
    assert merge_labels(recorded) == {"GENE": "gene or gene product", "CL": "cell type", "Chemical": "chemical",
                                      "Organism": "organism"}  # fmt: skip


def test_raw_text_offsets_are_exact(overfit):
    model, _ = overfit
    text = "  Ataxia-telangiectasia (A-T) is a recessive disorder.\n\nIt causes cancer.  "
    doc = text_to_document("t", text)
    for sent in doc.sentences:
        for tok, (a, b) in zip(sent.tokens, sent.spans, strict=True):
            assert text[sent.offset + a : sent.offset + b] == tok
    for p in model.predict(text, ["disease"], threshold=0.0)[0]:
        assert text[p.start : p.end] == p.text


def test_a_short_form_defined_in_a_text_gets_its_long_forms_type_unless_turned_off(tiny_checkpoint, monkeypatch):
    model = KoGNER.from_pretrained(tiny_checkpoint)
    text = "Von Hippel-Lindau disease (VHL) is rare. VHL patients"

    def found(sequences, options, **_):  # the model finds only the long form: words 0-4 of the first sentence
        return [[(0, 5, "disease", 0.9)] if words[0] == "Von" else [] for words in sequences]

    monkeypatch.setattr(model, "predict_words", found)
    mentions = model.predict(text, LABELS)[0]
    assert [(m.text, m.label, m.score) for m in mentions] == [
        ("Von Hippel-Lindau disease", "Disease", 0.9), ("VHL", "Disease", 0.9), ("VHL", "Disease", 0.9),
    ]  # fmt: skip
    assert [m.text for m in model.predict(text, LABELS, short_forms=False)[0]] == ["Von Hippel-Lindau disease"]


def test_train_evaluate_and_quickstart_commands(cli, ncbi_slice, overfit, tmp_path):
    import json

    path, _ = ncbi_slice
    vocab = load_tokenizer("all-MiniLM-L6-v2").vocab_size
    options = {"max_steps": 3, "batch_size": 8, "model": {"encoder_config": tiny_encoder_config(vocab), "head_dim": 32}}
    (tmp_path / "train.json").write_text(json.dumps(options))
    args = [
        "train",
        path,
        "--label",
        "Disease=disease",
        "--config",
        tmp_path / "train.json",
        "--output",
        tmp_path / "run",
    ]
    code, _, err = cli(*args)
    assert code == 0, err
    assert (tmp_path / "run/best/model.safetensors").is_file()

    _, out = overfit
    args = ["evaluate", "--gold", path, "--model", out / "best", "--labels", "Disease=disease", "--json"]
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert json.loads(stdout)["micro"]["f1"] >= 0.9
    assert cli("evaluate", "--gold", path, "--model", out / "best")[0] == 2  # no label texts for a plain file

    quick = tmp_path / "quick"
    KoGNER.from_pretrained(out / "best").save_pretrained(quick / "best")
    code, stdout, err = cli("quickstart", "--output", quick, "--json")
    assert code == 0, err
    assert all({"start", "end", "text", "label", "score"} <= set(p) for p in json.loads(stdout))


def test_over_long_training_sentences_are_windowed_keeping_whole_mentions():
    from kogner.data.records import Entity, Sentence
    from kogner.model.windows import plan_windows
    from kogner.train.batching import window_long_sentences

    words = [f"w{i}" for i in range(300)]
    sent = Sentence.from_tokens(words, [Entity(95, 99, "X"), Entity(250, 252, "X")])
    windows = window_long_sentences([sent], lambda ws: plan_windows([1] * len(ws), 100, 16))
    assert len(windows) > 3 and all(len(w.tokens) <= 100 for w in windows)
    found = {(w.tokens[e.start], w.tokens[e.end - 1]) for w in windows for e in w.entities}
    assert found == {("w95", "w98"), ("w250", "w251")}


def test_a_short_sentence_of_long_words_is_still_windowed(overfit):
    model, _ = overfit
    words = ["dimethylaminopropylcarbodiimidehydrochloride"] * 40  # 40 words, far over 510 subwords
    assert len(model.windows(words)) > 1
    with pytest.raises(SequenceTooLong):
        model.predict_words([words], ["disease"], on_overflow="error")


def test_windows_of_long_words_still_advance_when_they_cannot_overlap_fully():
    # 100-subword words: 5 per window of 510, fewer than the 16-word overlap: each window starts later anyway
    windows = plan_windows([100] * 12, 510, 16)
    assert windows[0] == (0, 5) and windows[-1][1] == 12
    assert all(b[0] > a[0] and b[0] < a[1] for a, b in pairwise(windows))
    with pytest.raises(ValueError, match="word 1 alone needs 600 subwords"):
        plan_windows([1, 600], 510, 16)


def test_words_over_the_cap_are_seen_by_their_prefix_and_keep_their_place():
    words, counts = clip_words(["ok", "x" * 300, "fine"], [1, 300, 1], 100, len)
    assert words == ["ok", "x" * 100, "fine"] and counts == [1, 100, 1]
    # a tokenizer that spends 3 pieces per character (byte-level BPE on CJK): the prefix is halved until it fits
    words, counts = clip_words(["\u4e2d" * 700], [2100], 100, lambda w: 3 * len(w))
    assert counts[0] <= 100 and words[0] == "\u4e2d" * (counts[0] // 3)


def test_a_word_longer_than_the_encoder_window_is_predicted_not_fatal(overfit):
    model, _ = overfit
    text = "Breast cancer " + "\u4e2d" * 700 + " and colon cancer ."
    (found,) = model.predict_words([text.split()], ["disease"])
    assert (4, 6) in [(a, b) for a, b, *_ in found]  # "colon cancer", after the 700-character word
    assert "colon cancer" in [e.text for e in model.predict(text, ["disease"])[0]]  # the raw-text path too


def test_span_vectors_equal_the_head_applied_to_start_end_and_width_concatenated():
    """The factorised first layer is an optimisation, not a different model."""
    torch.manual_seed(0)
    config = ModelConfig(encoder_config=tiny_encoder_config(100, hidden=16))
    student = SpanStudent(config, load_encoder(config.encoder, config.encoder_config)).eval()
    words = torch.randn(2, 7, 16)
    b, w, d, k = 2, 7, 16, config.max_width
    end = (torch.arange(w)[:, None] + torch.arange(k)[None]).clamp(max=w - 1)
    width = student.width_embedding.weight[None, None].expand(b, w, k, -1)
    concatenated = torch.cat([words.unsqueeze(2).expand(b, w, k, d), words[:, end], width], -1)
    assert torch.allclose(student.span_vectors(words), student.span_head(concatenated), atol=1e-5)


def test_labels_from_other_corpora_are_supervised_only_on_this_sentences_gold_mentions():
    span_mask = torch.ones(1, 3, 2, dtype=torch.bool)
    span_mask[0, 2, 1] = False  # a span past the end
    targets = torch.zeros(1, 3, 2, 2)  # labels: own "gene", foreign "disease"
    targets[0, 1, 0, 0] = 1.0  # word 1 is a gold gene
    cells = supervised_cells(span_mask, targets, torch.tensor([True, False]))
    assert torch.equal(cells[..., 0], span_mask)  # the own label: every valid span
    expected = torch.zeros(1, 3, 2, dtype=torch.bool)
    expected[0, 1, 0] = True
    assert torch.equal(cells[..., 1], expected)  # the foreign label: only on the gold gene ("not a disease")


def test_negatives_never_share_a_kg_type_with_the_corpus_labels():
    texts = ["cell type", "chemical", "disease", "gene or gene product", "protein"]
    assert negative_pool({"gene or gene product"}, texts) == ["cell type", "chemical", "disease"]
    assert negative_pool({"protein", "cell type"}, texts) == ["chemical", "disease"]
    assert negative_pool({"disease"}, [*texts, "my custom label"]) == [
        "cell type", "chemical", "gene or gene product", "protein", "my custom label"
    ]  # fmt: skip


def test_corpus_quotas_share_one_epoch_by_size_to_the_exponent():
    assert corpus_quotas([10, 90], 1.0) == [10, 90]
    assert corpus_quotas([10, 90], 0.0) == [50, 50]
    assert sorted(corpus_quotas([1, 1000], 0.0)) == [500, 501]  # the total is kept, the odd batch goes to one
    assert sum(corpus_quotas([7, 30, 64], 0.5)) == 101
    assert corpus_quotas([0, 5], 0.0) == [0, 5]  # an empty corpus gets nothing
    assert corpus_quotas([10, 90], 0.0, total=20) == [10, 10]  # a given total is shared instead


def test_a_kg_share_gives_kg_labelled_corpora_that_share_of_the_batches_together():
    from kogner.train.batching import shared_quotas

    # two gold corpora and two KG-labelled files, equal shares: a quarter of 400 batches to the KG files
    assert shared_quotas([100, 100, 100, 100], [False, False, True, True], 0.0, 0.25) == [150, 150, 50, 50]
    assert shared_quotas([10, 300, 50, 40], [False, False, True, True], 0.0, 0.5) == [100, 100, 100, 100]
    gold = CorpusData("gold", {"T": "disease"}, [Sentence.from_tokens([f"g{i}"], []) for i in range(30)], [])
    kg_train = [Sentence.from_tokens([f"k{i}"], []) for i in range(30)]
    kg = CorpusData("kg", {"gene": "gene"}, kg_train, [], families={"gene": frozenset({"gene"})})
    plans = plan_epoch([gold, kg], 2, 0, seed=1, epoch=0, exponent=0.0, kg_share=0.2)
    assert len(plans) == 30 and sum(p.corpus == 1 for p in plans) == 6  # not half, as equal shares would give
    from kogner.errors import KognerError
    from kogner.train.trainer import TrainConfig

    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(KognerError, match="kg_share"):
            TrainConfig(kg_share=bad)


def test_equal_corpus_shares_repeat_the_small_corpus_and_cut_the_large_one():
    def corpus(name, n):
        train = [Sentence.from_tokens([f"{name}{i}"], []) for i in range(n)]
        return CorpusData(name, {"T": name}, train, [])

    small, large = corpus("disease", 4), corpus("gene", 40)
    by_size = plan_epoch([small, large], 2, 0, seed=1, epoch=0)
    assert sorted(sum(len(p.sentences) for p in by_size if p.corpus == c) for c in (0, 1)) == [4, 40]
    equal = plan_epoch([small, large], 2, 0, seed=1, epoch=0, exponent=0.0)
    assert len(equal) == len(by_size) == 22
    assert sum(p.corpus == 0 for p in equal) == sum(p.corpus == 1 for p in equal) == 11
    seen = [i for p in equal if p.corpus == 0 for i in p.sentences]
    assert sorted(set(seen)) == [0, 1, 2, 3] and len(seen) == 22  # whole passes, reshuffled
    assert equal == plan_epoch([small, large], 2, 0, seed=1, epoch=0, exponent=0.0)  # replayable


def test_a_word_budget_makes_batches_of_long_sentences_smaller_and_keeps_every_sentence_once():
    from kogner.train.batching import cut_batches

    lengths = [5, 5, 5, 5, 30, 30, 100]  # ascending, as plan_epoch sorts a pool
    items = list(range(len(lengths)))
    assert cut_batches(items, lengths, 4) == [[0, 1, 2, 3], [4, 5, 6]]  # no budget: by count only
    assert cut_batches(items, lengths, 4, max_words=60) == [[0, 1, 2, 3], [4, 5], [6]]  # 100 words: alone
    train = [Sentence.from_tokens(["w"] * n, []) for n in (3, 3, 3, 3, 40, 40, 40, 40)]
    plans = plan_epoch([CorpusData("c", {"T": "t"}, train, [])], 4, 0, seed=1, epoch=0, max_words=80)
    assert max(len(p.sentences) * max(len(train[i].tokens) for i in p.sentences) for p in plans) <= 80
    assert sorted(i for p in plans for i in p.sentences) == list(range(8))


def test_words_are_split_as_in_training_and_entities_come_back_on_the_callers_words():
    torch.manual_seed(0)
    model = KoGNER.from_config(tiny_config())
    options = {"threshold": 0.0, "flat": False}
    (whole,) = model.predict_words([["IL-2"]], ["protein"], **options)[0]
    split = model.predict_words([["IL", "-", "2"]], ["protein"], **options)[0]
    assert whole[:2] == (0, 1) and whole[3] == pytest.approx(dict(((s, e), p) for s, e, _, p in split)[(0, 3)])
    assert len(split) > 1  # "IL", "- 2"...: such spans inside the caller's one word are never output
    bigger = model.predict_words([["binds", "NF-kappa", "B", "."]], ["protein"], **options)[0]
    assert bigger and all(0 <= s < e <= 4 for s, e, _, _ in bigger)  # on the 4 given words, not the 8 split
    assert ModelConfig().word_split == "word"
    saved_before = {k: v for k, v in ModelConfig().to_dict().items() if k != "word_split"}
    assert ModelConfig.from_dict(saved_before).word_split is None  # trained on the corpora's own words


def test_mean_pooling_is_the_default_but_configs_saved_before_keep_first_subword_pooling():
    assert ModelConfig().word_pooling == "mean"
    saved_before = {k: v for k, v in ModelConfig().to_dict().items() if k != "word_pooling"}
    assert ModelConfig.from_dict(saved_before).word_pooling == "first"


def test_label_variants_come_from_the_kg_type_and_never_confuse_two_types_of_one_corpus():
    from kogner.kg.labelling import label_variants

    assert label_variants({"Disease": "disease"}) == {"disease": ("disorder",)}
    assert label_variants({"GENE": "gene or gene product"}) == {
        "gene or gene product": ("gene", "protein", "gene product")
    }
    # JNLPBA: protein, DNA and RNA are all genes to the KG, so none of them may be called "gene"
    assert label_variants({"protein": "protein", "DNA": "DNA", "RNA": "RNA"}) == {}
    assert label_variants({"Taxon": "organism"}) == {}  # a text without a KG type keeps its one name


def test_a_variant_rate_renames_the_own_labels_of_that_share_of_gold_batches_and_replays():
    train = [Sentence.from_tokens([f"w{i}"], [Entity(0, 1, "Disease")]) for i in range(200)]
    gold = CorpusData("ncbi", {"Disease": "disease"}, train, [])
    other = CorpusData("bc2gm", {"GENE": "gene"}, train[:2], [])
    plain = plan_epoch([gold, other], 2, 1, seed=1, epoch=0)
    assert all(p.renames == () for p in plain)
    assert plan_epoch([gold, other], 2, 1, seed=1, epoch=0, variant_rate=0.0) == plain  # old runs replay
    varied = plan_epoch([gold, other], 2, 1, seed=1, epoch=0, variant_rate=0.5)
    renamed = [p for p in varied if p.renames]
    assert 30 <= len(renamed) <= 70 and all(p.corpus == 0 for p in renamed)  # about half of the 100 gold batches
    for p in renamed:
        assert p.renames == (("disease", "disorder"),) and p.labels[0] == "disorder" and "disease" not in p.labels
    assert varied == plan_epoch([gold, other], 2, 1, seed=1, epoch=0, variant_rate=0.5)


def test_kg_labelled_data_can_leave_the_gold_corpora_their_own_label_texts():
    from kogner.train.batching import kg_without_gold_texts

    gold = CorpusData("jnlpba", {"protein": "protein", "DNA": "DNA"}, [], [])
    mention = [Entity(0, 1, "protein"), Entity(0, 1, "gene product"), Entity(2, 3, "enzyme")]
    families = {t: frozenset({"gene"}) for t in ("protein", "gene product", "enzyme")}
    kg = CorpusData(
        "kg", {t: t for t in families}, [Sentence.from_tokens(["IL-2", "and", "kinase"], mention)], [], families
    )
    kept_gold, kept_kg = kg_without_gold_texts([gold, kg])
    assert kept_gold is gold
    assert set(kept_kg.families) == set(kept_kg.labels) == {"gene product", "enzyme"}
    assert [(e.start, e.label) for e in kept_kg.train[0].entities] == [(0, "gene product"), (2, "enzyme")]
    assert [e.label for e in kg.train[0].entities] == ["protein", "gene product", "enzyme"]  # the input is kept


def test_a_kg_labelled_sentence_a_gold_corpus_annotates_takes_its_gold_for_that_corpuss_label_texts():
    from kogner.train.batching import kg_with_own_gold

    tokens = ["IL-2", "in", "LPS", "-", "treated", "monocytes"]
    gold = CorpusData(
        "jnlpba",
        {"protein": "protein", "cell_type": "cell type"},
        [Sentence.from_tokens(tokens, [Entity(0, 1, "protein"), Entity(4, 6, "cell_type")])],
        [],
    )
    families = {"protein": frozenset({"gene"}), "gene product": frozenset({"gene"}), "cell type": frozenset({"cell"})}
    matched = [Entity(0, 1, "gene product"), Entity(2, 3, "protein"), Entity(2, 3, "gene product")]
    matched += [Entity(5, 6, "cell type"), Entity(0, 1, "protein", kg_id="Gene::3558")]
    other = Sentence.from_tokens(["LPS", "binds"], [Entity(0, 1, "protein")])
    kg = CorpusData("kg", {t: t for t in families}, [Sentence.from_tokens(tokens, matched), other], [], families)
    kept_gold, owned = kg_with_own_gold([gold, kg])
    assert kept_gold is gold
    assert [(e.start, e.end, e.label, e.kg_id) for e in owned.train[0].entities] == [
        (0, 1, "gene product", None),  # the dictionary's other label texts stay
        (0, 1, "protein", "Gene::3558"),  # gold and dictionary agree: the node stays, a distillation target
        (2, 3, "gene product", None),  # "LPS" is no protein to the annotators: it keeps only its other labels
        (4, 6, "cell type", None),  # the annotators' span, not the dictionary's "monocytes"
    ]
    assert owned.train[1] is other  # no gold corpus holds this sentence: the dictionary's labels stand
    assert owned.families == kg.families and owned.labels == kg.labels
    assert [e.label for e in kg.train[0].entities] == [
        "gene product",
        "protein",
        "gene product",
        "cell type",
        "protein",
    ]


def _kg_corpus(n_common: int, n_rare: int) -> CorpusData:
    gene = [Sentence.from_tokens(["IL-2", "binds"], [Entity(0, 1, "protein")]) for _ in range(n_common)]
    rna = [Sentence.from_tokens(["IL-2", "mRNA"], [Entity(0, 2, "RNA")]) for _ in range(n_rare)]
    families = {"protein": frozenset({"gene"}), "RNA": frozenset({"RNA"}), "DNA": frozenset({"DNA"})}
    vocabulary = {t: t for t in [*families, *(f"class {i}" for i in range(40))]}
    classes = dict.fromkeys((t for t in vocabulary if t.startswith("class")), frozenset({"chemical"}))
    return CorpusData("kg", vocabulary, gene + rna, [], families={**families, **classes})


def test_family_balance_draws_a_rare_familys_sentences_more_often_and_zero_keeps_the_uniform_pass():
    from kogner.train.batching import family_weights

    kg = _kg_corpus(n_common=99, n_rare=1)
    weights = family_weights(kg, 0.5)
    assert weights[0] == 1.0 and weights[-1] == pytest.approx(99**0.5)  # (commonest / rarest) ** 0.5
    uniform = plan_epoch([kg], 4, 0, seed=1, epoch=0)
    assert sorted(i for p in uniform for i in p.sentences) == list(range(100))  # one pass, each sentence once
    rare_draws = [sum(i == 99 for p in plan_epoch([kg], 4, 0, seed=s, epoch=0, kg_balance=0.5) for i in p.sentences)
                  for s in range(20)]  # fmt: skip
    assert 5 < sum(rare_draws) / 20 < 15  # about 100 * 9.95 / (99 + 9.95) = 9.1 draws per pass instead of one
    assert plan_epoch([kg], 4, 0, seed=1, epoch=0, kg_balance=0.5) == plan_epoch([kg], 4, 0, 1, 0, kg_balance=0.5)


def test_type_label_slots_name_every_kg_family_in_every_kg_batch_one_phrasing_each():
    import random

    from kogner.train.batching import kg_batch_labels

    kg = _kg_corpus(n_common=4, n_rare=0)
    shared = {"nucleic acid": frozenset({"DNA", "RNA"}), "drug": frozenset()}  # "drug": no family
    kg.families.update({"gene": frozenset({"gene"}), "gene product": frozenset({"gene"}), **shared})
    kg.labels.update({t: t for t in ("gene", "gene product", *shared)})
    vocabulary = sorted(kg.label_texts)
    plain = [kg_batch_labels(kg, [0, 1], random.Random(s), 8, vocabulary) for s in range(200)]
    typed = [kg_batch_labels(kg, [0, 1], random.Random(s), 8, vocabulary, type_labels=3) for s in range(200)]
    assert all(len(labels) == 8 and "protein" in labels for labels in plain + typed)  # the positive is kept
    assert sum("RNA" in labels for labels in plain) < 50  # drawn from 46 texts: in about one batch of six
    gene = {"protein", "gene", "gene product"}
    for labels in typed:  # three families, three slots: one phrasing of each, never a second gene phrasing
        assert labels[1] in {"RNA", "DNA"} | gene and {"RNA", "DNA"} <= set(labels[:3])
        assert len(gene & set(labels[:3])) == 1 and not set(shared) & set(labels[:3])  # shared or none: later
    assert len({labels[:3] for labels in typed}) > 3  # families and phrasings in random order
    two_rounds = kg_batch_labels(kg, [0, 1], random.Random(0), 8, vocabulary, type_labels=5)
    assert {"RNA", "DNA", "nucleic acid"} <= set(two_rounds[:5]) and len(gene & set(two_rounds[:5])) == 2
    with pytest.raises(KognerError, match="kg_type_labels"):
        TrainConfig(kg_labels=8, kg_type_labels=9)
    with pytest.raises(KognerError, match="kg_balance"):
        TrainConfig(kg_balance=-1.0)
