"""KoGNER proper: distillation into the student, entity-aware augmentation, KG ids on predictions."""

from __future__ import annotations

import json

import pytest
import torch

from kogner.data import Document, read_corpus, write_corpus
from kogner.encoder import load_encoder, load_tokenizer, tiny_encoder_config
from kogner.errors import KognerError
from kogner.kg.matcher import DictionaryMatcher
from kogner.model import KoGNER, ModelConfig
from kogner.model.student import SpanStudent, StudentOutput, distill_loss
from kogner.train.trainer import TrainConfig, Trainer

LABELS = {"Disease": "disease"}


def test_the_matcher_finds_aliases_but_not_ordinary_words_or_punctuation(linker):
    sentence = "Germline BRCA1 mutations cause breast cancer ; the cat was treated with cisplatin ."
    words = sentence.split()
    found = {" ".join(words[a:b]): linker.kg.types[n] for a, b, n in DictionaryMatcher(linker).find(words)}
    assert found == {"BRCA1": "Gene", "breast cancer": "Disease", "cisplatin": "Compound"}


def _student(**overrides) -> SpanStudent:
    config = ModelConfig(encoder_config=tiny_encoder_config(100, hidden=16), head_dim=8, **overrides)
    return SpanStudent(config, load_encoder(config.encoder, config.encoder_config)).eval()


def test_augmentation_changes_only_the_matched_words():
    torch.manual_seed(0)
    student = _student(teacher_dim=6, augment=True)
    words = torch.randn(1, 5, 16)
    mask = torch.tensor([[False, True, True, False, False]])
    out = student.inject(words, torch.randn(1, 5, 6), mask)
    assert torch.equal(out[0, [0, 3, 4]], words[0, [0, 3, 4]])
    assert not torch.allclose(out[0, 1:3], words[0, 1:3])


def test_distill_loss_is_the_mse_of_projected_labels_and_linked_spans():
    torch.manual_seed(0)
    student = _student(teacher_dim=6)
    spans, labels = torch.randn(2, 4, 12, 8), torch.randn(3, 8)
    output = StudentOutput(torch.zeros(2, 4, 12, 3), spans, labels, torch.ones(2, 4, 12, dtype=torch.bool), None)
    label_t, span_t = torch.randn(3, 6), torch.randn(1, 6)
    index = torch.tensor([[1, 2, 0]])  # batch 1, span starting at word 2, one word wide
    expected = torch.mean((student.distill_label(labels) - label_t) ** 2) + torch.mean(
        (student.distill_span(spans[1, 2, 0]) - span_t[0]) ** 2
    )
    assert torch.allclose(distill_loss(student, output, label_t, index, span_t), expected)


def test_the_mse_term_is_zero_when_projected_vectors_equal_teacher_vectors():
    torch.manual_seed(0)
    student = _student(teacher_dim=6)
    spans, labels = torch.randn(2, 4, 12, 8), torch.randn(3, 8)
    output = StudentOutput(torch.zeros(2, 4, 12, 3), spans, labels, torch.ones(2, 4, 12, dtype=torch.bool), None)
    index = torch.tensor([[0, 1, 2], [1, 3, 0]])
    with torch.no_grad():
        label_t = student.distill_label(labels)
        span_t = student.distill_span(spans[index[:, 0], index[:, 1], index[:, 2]])
    assert distill_loss(student, output, label_t, index, span_t).item() == 0.0


def _slice_config(path, out, **kw) -> TrainConfig:
    return TrainConfig(
        corpora=[str(path)], labels={str(path): LABELS}, output=str(out), epochs=1, batch_size=8, eval_every=1000,
        seed=1, **kw,
    )  # fmt: skip


def _tiny_model_config(**kw) -> ModelConfig:
    vocab = load_tokenizer("all-MiniLM-L6-v2").vocab_size
    return ModelConfig(encoder_config=tiny_encoder_config(vocab, hidden=32), head_dim=32, **kw)


@pytest.fixture(scope="module")
def ncbi_slice_file(root, tmp_path_factory):
    sents = [s for s in read_corpus(root / "ner/NCBI-disease/train.tsv").sentences if s.entities][:32]
    path = tmp_path_factory.mktemp("kogner") / "slice.tsv"
    write_corpus([Document.from_sentences("slice", sents)], path)
    return path


def test_with_lambda_0_and_augmentation_off_training_equals_the_plain_students(ncbi_slice_file, slice_kg, tmp_path):
    weights = []
    for kg in (None, str(slice_kg)):
        torch.manual_seed(0)
        config = _slice_config(ncbi_slice_file, tmp_path / str(bool(kg)), distill_lambda=0.0)
        trainer = Trainer(config, _tiny_model_config(kg=kg, augment=False))
        trainer.fit()
        weights.append(trainer.model.student.state_dict())
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_a_kg_training_step_runs_under_bf16_autocast(ncbi_slice_file, slice_kg, teacher_result, tmp_path, monkeypatch):
    """CUDA trains under bf16 autocast; the distillation heads must run inside it (CPU autocast stands in)."""
    import kogner.train.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "autocast", lambda device: torch.autocast("cpu", dtype=torch.bfloat16))
    config = _slice_config(ncbi_slice_file, tmp_path, distill_lambda=1.0, max_steps=2)
    trainer = Trainer(config, _tiny_model_config(kg=str(slice_kg), augment=True))
    plan = trainer_module.plan_epoch(trainer.corpora, 8, 0, 1, 0)[0]
    loss = trainer.train_step(plan.corpus, plan.sentences, plan.labels)
    assert torch.isfinite(torch.tensor(loss))


def test_a_renamed_batch_supervises_the_variant_as_its_corpus_label(ncbi_slice_file, tmp_path, monkeypatch):
    """A gold batch that calls "disease" "disorder" trains "disorder" positive on the gold mentions and
    supervises it everywhere, as its own label; "disease" is not in that batch at all."""
    import kogner.train.trainer as trainer_module

    seen = {}
    real_targets, real_cells = trainer_module.span_targets, trainer_module.supervised_cells

    def targets(entities, labels, width, max_width):
        seen["labels"] = {e.label for ents in entities for e in ents}
        return real_targets(entities, labels, width, max_width)

    def cells(mask, targets, own):
        seen["own"] = own.tolist()
        return real_cells(mask, targets, own)

    monkeypatch.setattr(trainer_module, "span_targets", targets)
    monkeypatch.setattr(trainer_module, "supervised_cells", cells)
    trainer = Trainer(_slice_config(ncbi_slice_file, tmp_path, max_steps=1), _tiny_model_config())
    plan = trainer_module.plan_epoch(trainer.corpora, 8, 0, 1, 0)[0]
    loss = trainer.train_step(plan.corpus, plan.sentences, ("disorder", "gene"), (("disease", "disorder"),))
    assert torch.isfinite(torch.tensor(loss))
    assert seen == {"labels": {"disorder"}, "own": [True, False]}
    with pytest.raises(KognerError, match="label_variants"):
        TrainConfig(label_variants=1.5)


@pytest.fixture(scope="module")
def kogner_run(root, slice_kg, teacher_result, tmp_path_factory):
    """A tiny student trained with distillation and augmentation on 32 real NCBI sentences."""
    sents = [s for s in read_corpus(root / "ner/NCBI-disease/train.tsv").sentences if s.entities][:32]
    path = tmp_path_factory.mktemp("kogner") / "slice.tsv"
    write_corpus([Document.from_sentences("slice", sents)], path)
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        corpora=[str(path)], labels={str(path): LABELS}, output=str(out), epochs=3, batch_size=8,
        lr_encoder=3e-3, lr_heads=3e-3, eval_every=1000, seed=1, distill_lambda=1.0,
    )  # fmt: skip
    trainer = Trainer(config, _tiny_model_config(kg=str(slice_kg), augment=True))
    trainer.fit()
    return trainer, out, [Document.from_sentences("slice", sents)]


def test_training_with_distillation_and_augmentation_records_the_kg(kogner_run, teacher_result):
    trainer, out, _ = kogner_run
    kg = trainer.model.knowledge.teacher.kg
    links = [node for sent in trainer.kg.links[0] for _, _, node in sent]  # gold mentions -> distillation targets
    assert links and all(kg.types[n] in ("Disease", "Symptom") for n in links)
    assert sum(map(len, trainer.kg.matches[0])) >= len(links)  # dictionary matches: augmentation input
    config = KoGNER.from_pretrained(out / "best", kg=trainer.model.config.kg).config
    assert (config.teacher_dim, config.augment) == (teacher_result.index["dim"], True)


def test_an_augmented_model_reloads_with_its_kg_and_predicts_the_same(kogner_run):
    trainer, out, docs = kogner_run
    trainer.model.student.load_state_dict(KoGNER.from_pretrained(out / "best").student.state_dict())
    loaded = KoGNER.from_pretrained(out / "best")  # finds the KG it was trained with
    assert loaded.predict_documents(docs, LABELS) == trainer.model.predict_documents(docs, LABELS)


def test_an_augmented_model_without_its_kg_is_a_clear_error(kogner_run, tmp_path):
    _, out, _ = kogner_run
    with pytest.raises(KognerError, match="not a built KG"):
        KoGNER.from_pretrained(out / "best", kg=tmp_path)


def test_predicted_entities_carry_kg_ids_when_a_kg_is_attached(kogner_run, slice_kg):
    _, out, _ = kogner_run
    model = KoGNER.from_pretrained(out / "best", kg=slice_kg)
    text = "Patients with breast cancer and ovarian cancer were studied."
    preds = model.predict(text, LABELS, threshold=0.0, link_threshold=0.0)[0]
    linked = [p for p in preds if p.kg_id]
    assert linked and all(p.kg_id in model.knowledge.teacher.kg.index for p in linked)


def test_kogner_predict_cli_writes_kg_ids_when_a_kg_is_given(kogner_run, slice_kg, cli, tmp_path):
    _, out, _ = kogner_run
    (tmp_path / "in.txt").write_text("Patients with breast cancer and ovarian cancer were studied.")
    options = ["--labels", "Disease=disease", "--threshold", "0", "--kg", slice_kg, "--link-threshold", "0"]
    code, _, err = cli("predict", tmp_path / "in.txt", tmp_path / "out.jsonl", "--model", out / "best", *options)
    assert code == 0, err
    entities = json.loads((tmp_path / "out.jsonl").read_text())["entities"]
    assert entities and all(e["kg_id"] and e["kg_name"] for e in entities if "kg_id" in e)
    assert any("kg_id" in e for e in entities)


def test_no_gold_label_reaches_the_model_at_inference(kogner_run, monkeypatch, tmp_path):
    """Annotations in the input and the gold corpus files on disk change nothing in the predictions."""
    _, out, docs = kogner_run
    model = KoGNER.from_pretrained(out / "best")
    bare = [d.with_sentences(s.with_entities([]) for s in d.sentences) for d in docs]
    with_gold = model.predict_documents(docs, LABELS, threshold=0.3)
    without = model.predict_documents(bare, LABELS, threshold=0.3)
    monkeypatch.setenv("KOGNER_DATA", str(tmp_path))  # no corpus files reachable at all
    no_files = KoGNER.from_pretrained(out / "best").predict_documents(bare, LABELS, threshold=0.3)
    assert with_gold == without == no_files


def test_distillation_on_kg_labelled_data_targets_each_label_texts_own_member_nodes(
    ncbi_slice_file, slice_kg, teacher_result, tmp_path, monkeypatch
):
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary, write_labelled
    from kogner.kg.teacher import Teacher

    # the tiny test teacher has no text encoder to reload: any text embeds as a fixed vector of its size
    size = teacher_result.index["parts"]["text"]
    monkeypatch.setattr(Teacher, "text_vector", lambda self, label: torch.full((size,), float(len(label))))
    docs = read_corpus(ncbi_slice_file).documents
    summary = LabelSummary()
    kg_file = tmp_path / "kg.jsonl"
    write_labelled(kg_file, KGLabeller.from_graph(KnowledgeGraph(slice_kg), 2).label(docs, summary), summary, 1)
    config = _slice_config(ncbi_slice_file, tmp_path / "run", distill_lambda=1.0, max_steps=2)
    config.corpora.append(str(kg_file))
    trainer = Trainer(config, _tiny_model_config(kg=str(slice_kg)))
    kg = trainer.kg
    members = {  # "protein": a label text of the KG data only ("disease" is the gold corpus's, on the same text)
        kg.knowledge.teacher.kg.row(e.kg_id)
        for s in read_corpus(kg_file).sentences for e in s.entities if e.label == "protein"
    }  # fmt: skip
    assert members
    target = kg.label_targets["protein"]  # len("protein") == 7: the text part of the stand-in teacher
    expected = kg.knowledge.teacher.vectors(sorted(members))[:, size:].mean(0)
    assert torch.equal(target[:size], torch.full((size,), 7.0)) and torch.allclose(target[size:], expected)
    assert kg.links[1] and any(kg.links[1])  # labelled spans are their nodes' distillation targets
    plan = next(p for p in trainer_module_plan(trainer) if p.corpus == 1)
    assert torch.isfinite(torch.tensor(trainer.train_step(plan.corpus, plan.sentences, plan.labels)))


def trainer_module_plan(trainer):
    from kogner.train.batching import plan_epoch

    return plan_epoch(trainer.corpora, 8, 0, 1, 0, kg_labels=6)


def test_the_kg_is_a_model_setting_and_the_callers_config_is_never_changed(ncbi_slice_file, slice_kg, tmp_path):
    given = _tiny_model_config(kg=str(slice_kg), augment=True)
    before = given.to_dict()
    trainer = Trainer(_slice_config(ncbi_slice_file, tmp_path, max_steps=1), given)
    assert given.to_dict() == before  # the trainer filled a copy
    assert trainer.model.config.teacher_dim == trainer.model.knowledge.dim and trainer.model.config.augment
    with pytest.raises(KognerError, match="model options"):
        TrainConfig.from_dict({"kg": str(slice_kg), "augment": True})


def test_inference_with_a_kg_imports_no_training_code(kogner_run, slice_kg):
    """The teacher's reader is apart from its writer: loading and predicting never import TransR, the GNN,
    torch_geometric or the trainer."""
    import subprocess
    import sys

    _, out, _ = kogner_run
    code = (
        "import sys; from kogner.model import KoGNER; "
        f"m = KoGNER.from_pretrained({str(out / 'best')!r}, kg={str(slice_kg)!r}); "
        "m.predict('Breast cancer in BRCA1 carriers.', ['disease']); "
        "print(sorted(n for n in sys.modules if n.startswith(('torch_geometric', 'kogner.train', 'kogner.kg.gnn', "
        "'kogner.kg.transr', 'kogner.kg.embed'))))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip().splitlines()[-1] == "[]"
