"""The committed corpus of hostile inputs (``tests/hostile/cases.jsonl``), one test per case.

CLI cases: exit code 2, one line ``error: ...`` naming the problem (and ``file:line`` where the case says
where), no traceback, nothing written, nothing that existed changed or deleted. Usage errors (an option out of
its range) are answered by the option parser: exit 2 and the option named. Annotate records: each poison
record among valid ones becomes a reject with its reason, locally and on Ray, and the valid ones are
annotated. REST bodies: the 4xx status with a reason.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import write_abstracts_jsonl

HOSTILE = Path(__file__).parent / "hostile" / "cases.jsonl"
CASES = [json.loads(line) for line in HOSTILE.read_text(encoding="utf-8").splitlines() if line.strip()]
CLI = [c for c in CASES if c["kind"] == "cli"]
RECORDS = [c for c in CASES if c["kind"] == "record"]
REST = [c for c in CASES if c["kind"] == "rest"]


def test_the_corpus_is_large_and_every_case_is_named_once():
    assert len(CASES) >= 80 and len({c["id"] for c in CASES}) == len(CASES)


def _materialise(case: dict, folder: Path) -> None:
    for name, content in case["files"].items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            path.write_bytes(bytes.fromhex(content["hex"]))
        else:
            path.write_text(content, encoding="utf-8")
    kind, _, name = (case.get("setup") or "").partition(":")
    if kind == "symlink-loop":
        os.symlink(name, folder / name)  # a link to itself
    elif kind == "dir":
        (folder / name).mkdir()
        (folder / name / "precious.txt").write_text("mine\n")
    (folder / "sentinel.txt").write_text("not kogner's\n")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def places(tiny_checkpoint, built):
    return {"{model}": str(tiny_checkpoint), "{kg}": str(built)}


@pytest.mark.parametrize("case", CLI, ids=[c["id"] for c in CLI])
def test_cli(cli, tmp_path, places, case):
    folder, out = tmp_path / "case", tmp_path / "out"
    folder.mkdir()
    _materialise(case, folder)
    before = _snapshot(folder)
    subs = {**places, "{dir}": str(folder), "{out}": str(out)}
    argv = [_fill(a, subs) for a in case["argv"]]
    code, stdout, err = cli(*argv)
    assert code == 2, (code, stdout, err)
    assert "Traceback" not in err + stdout
    assert case["problem"].lower() in err.lower(), err
    if not case["usage"]:
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("repaired")]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    if case["at"]:
        where = f"{folder / case['at']}:{case['line']}:" if case["line"] else str(folder / case["at"])
        assert where in err, err
    assert _snapshot(folder) == before  # nothing existing changed or deleted, nothing written beside it
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]  # nothing written


def _fill(arg: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        arg = arg.replace(key, value)
    return arg


@pytest.fixture(scope="module")
def poisoned(abstracts, tmp_path_factory):
    """Six valid abstracts with every poison record after the third: {line number: case}."""
    path = write_abstracts_jsonl(tmp_path_factory.mktemp("poison") / "in.jsonl", abstracts[:6], bad=False)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = {4 + i: case for i, case in enumerate(RECORDS)}
    poison = [case["raw"] + "\n" for case in RECORDS]
    path.write_text("".join(lines[:3] + poison + lines[3:]), encoding="utf-8")
    return path, at


def _rejects(out: Path) -> dict[int, str]:
    rows = [json.loads(line) for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["line"]: row["reason"] for row in rows}


def test_annotate_records(cli, tmp_path, tiny_checkpoint, poisoned):
    path, at = poisoned
    code, out, err = cli("annotate", path, tmp_path / "job", "--model", tiny_checkpoint, "--labels", "disease",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["documents"] == 6
    rejects = _rejects(tmp_path / "job")
    assert sorted(rejects) == sorted(at)
    for line, case in at.items():
        assert case["reason"] in rejects[line], (case["id"], rejects[line])


def test_annotate_records_on_ray(cli, tmp_path, tiny_checkpoint, poisoned):
    pytest.importorskip("ray")
    path, _ = poisoned
    code, _, err = cli("annotate", path, tmp_path / "local", "--model", tiny_checkpoint, "--labels", "disease")
    code_ray, out_ray, err_ray = cli("annotate", path, tmp_path / "ray", "--model", tiny_checkpoint, "--labels",
                                     "disease", "--engine", "ray", "--num-workers", "1", "--json")  # fmt: skip
    assert (code, code_ray) == (0, 0), err + err_ray
    assert json.loads(out_ray)["documents"] == 6
    assert _rejects(tmp_path / "ray") == _rejects(tmp_path / "local")


@pytest.fixture(scope="module")
def client(tiny_checkpoint):
    from fastapi.testclient import TestClient

    from kogner.model import KoGNER
    from kogner.serve.app import ServeConfig, create_app

    model = KoGNER.from_pretrained(tiny_checkpoint)
    config = ServeConfig(max_texts=8, max_labels=4, max_text_chars=5000, max_body_bytes=30_000)
    with TestClient(create_app(lambda: model, config)) as test_client:
        for _ in range(600):
            if test_client.get("/ready").status_code == 200:
                break
            time.sleep(0.05)
        yield test_client


@pytest.mark.parametrize("case", REST, ids=[c["id"] for c in REST])
def test_rest(client, case):
    body = case["body"]
    if "raw" in body:
        answer = client.post("/v1/annotate", content=body["raw"], headers={"content-type": "application/json"})
    else:
        answer = client.post("/v1/annotate", json=body["json"])
    assert answer.status_code == case["status"], answer.text
    detail = json.dumps(answer.json()["detail"])
    assert case["problem"].lower() in detail.lower(), detail
