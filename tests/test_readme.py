"""The README's Python snippets run as written (model paths pointed at a tiny local checkpoint), and the output
its example shows is consistent with its input."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from kogner.data import read_corpus, write_corpus
from kogner.model import KoGNER

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


@pytest.fixture
def readme_cwd(tmp_path, monkeypatch, root, tiny_checkpoint):
    """A working folder where the README's relative paths exist: its model folders and its two corpus files."""
    for name in ("ncbi", "quickstart"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "best").symlink_to(tiny_checkpoint)
    (tmp_path / "home" / "models").mkdir(parents=True)  # the named general model, as `kogner pretrain` installs it
    (tmp_path / "home" / "models" / "kogner-bio").symlink_to(tiny_checkpoint)
    monkeypatch.setenv("KOGNER_HOME", str(tmp_path / "home"))
    gold = read_corpus(root / "ner/NCBI-disease/test.tsv").documents[:20]
    write_corpus(gold, tmp_path / "test.tsv")
    predicted = KoGNER.from_pretrained(tiny_checkpoint).predict_documents(gold, {"Disease": "disease"})
    write_corpus(predicted, tmp_path / "predictions.jsonl")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class _Frame:
    """Enough of a Spark DataFrame for the README's last two lines: the UDF runs on a batch of real texts."""

    def __init__(self, texts):
        self.columns = {"text": texts}

    def withColumn(self, name, expression):  # Spark's name
        make, column = expression
        self.columns[name] = make()(self.columns[column])  # one executor, one batch
        return self

    @property
    def write(self):
        return types.SimpleNamespace(parquet=lambda path: None)


def _fake_pyspark(monkeypatch) -> None:
    """pyspark is not a dependency: ``predict_batch_udf`` is replaced by one that calls the snippet's
    ``make_predict`` once and its ``predict`` on the batch, as Spark does per executor."""
    functions = types.ModuleType("pyspark.ml.functions")
    functions.predict_batch_udf = lambda make, return_type, batch_size: lambda column: (make, column)
    sql_types = types.ModuleType("pyspark.sql.types")
    sql_types.StringType = lambda: "string"
    for name, module in {
        "pyspark": types.ModuleType("pyspark"), "pyspark.ml": types.ModuleType("pyspark.ml"),
        "pyspark.ml.functions": functions, "pyspark.sql": types.ModuleType("pyspark.sql"),
        "pyspark.sql.types": sql_types,
    }.items():  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)


def test_every_python_snippet_runs(readme_cwd, tiny_checkpoint, monkeypatch, capsys):
    blocks = python_blocks()
    assert len(blocks) >= 4
    _fake_pyspark(monkeypatch)
    for block in blocks:
        scope: dict = {"df": _Frame(["Cisplatin causes nephrotoxicity.", "BRCA1 mutations cause breast cancer."])}
        if "pyspark" in block:
            block = block.replace("/models/kogner", str(tiny_checkpoint))
        exec(compile(block, "README.md", "exec"), scope)  # the README's own code
        if "pyspark" in block:
            found = scope["df"].columns["entities"]
            assert len(found) == 2 and all(isinstance(e, str) and e.startswith("[") for e in found)
    printed = capsys.readouterr().out.splitlines()
    assert any("'f1':" in line for line in printed)  # the evaluation snippet printed its micro scores
    assert any(line.startswith("[") for line in printed)  # the spaCy snippet printed its entities


def test_the_shown_output_matches_the_input_text():
    block = next(b for b in python_blocks() if "model.predict(" in b)
    text = re.search(r'model\.predict\("([^"]+)"', block).group(1)
    shown = re.findall(r"start=(\d+), end=(\d+), text='([^']+)'", block)
    assert shown
    for start, end, mention in shown:
        assert text[int(start) : int(end)] == mention
