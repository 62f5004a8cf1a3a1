"""`kogner quickstart` on a fresh home: no general model, so it trains the quick recipe (a real run of the
MiniLM encoder on the four corpora) and its demo finds the genes and the organism of its own abstract."""

from __future__ import annotations

import json

from kogner.model import KoGNER

GENES = {"BRCA1", "BRCA2", "Brca1", "TP53"}


def test_quickstart_on_a_fresh_home_trains_the_quick_recipe_and_finds_the_genes_of_its_demo(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KOGNER_HOME", str(tmp_path / "home"))  # no kogner-bio there
    # two thirds of the recipe's 600 steps, to keep the suite short (the full recipe: README, "Quickstart")
    code, stdout, err = cli("quickstart", "--output", tmp_path / "run", "--max-steps", "400", "--json")
    assert code == 0, err
    assert "no kogner-bio" in err and "model: " in err and "ncbi-disease, bc5cdr, bc2gm, craft" in err
    found = json.loads(stdout)
    genes = {m["text"] for m in found if m["label"] == "gene or gene product"}
    assert len(genes & GENES) >= 2, found
    assert {m["label"] for m in found} >= {"disease", "chemical", "gene or gene product"}
    assert KoGNER.from_pretrained(tmp_path / "run" / "best").default_labels()["Taxon"] == "organism"

    again, _, err = cli("quickstart", "--output", tmp_path / "run", "--json")  # reused, and said so
    assert again == 0 and "training" not in err and "a quickstart run of 400 steps" in err
