"""``kogner data``: corpus statistics and format conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from kogner.cli.common import err_console, print_json, print_table, report_repairs
from kogner.data.corpora import CORPORA, SPLITS, get_corpus
from kogner.data.formats import FORMATS, read_corpus, write_corpus
from kogner.data.stats import corpus_stats
from kogner.data.tokenize import TokenizerName
from kogner.errors import KognerError

app = typer.Typer(help="Corpus statistics and format conversion.", no_args_is_help=True)

TokenizerOpt = Annotated[str | None, typer.Option(help="Tokenizer for raw-text formats: word (default) or whitespace.")]


def _targets(names: list[str]) -> list[tuple[str, str, Path]]:
    """(corpus, split, path) for registry names (all splits) and file paths."""
    targets = []
    for name in names or list(CORPORA):
        if Path(name).is_file():
            targets.append((Path(name).parent.name, Path(name).stem, Path(name)))
            continue
        try:
            info = get_corpus(name)
        except KognerError:
            raise KognerError(f"{name!r} is neither a file nor a registered corpus ({', '.join(CORPORA)})") from None
        targets += [(info.name, split, info.path(split)) for split in SPLITS]
    return targets


def _tokenizer(name: str | None) -> TokenizerName | None:
    if name not in (None, "word", "whitespace"):
        raise KognerError(f"unknown tokenizer {name!r}; choose word or whitespace")
    return name  # type: ignore[return-value]


@app.command()
def stats(
    names: Annotated[
        list[str] | None, typer.Argument(help="Registered corpora or files (default: every corpus).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    fmt: Annotated[str | None, typer.Option("--from", help=f"Input format: {', '.join(FORMATS)}.")] = None,
    strict: Annotated[bool, typer.Option(help="Refuse repairable defects instead of fixing them.")] = False,
) -> None:
    """Documents, sentences, tokens and mentions per type for every split."""
    records = []
    for corpus, split, path in tqdm(_targets(names or []), desc="reading", unit="file", disable=None, leave=False):
        data = read_corpus(path, fmt, strict=strict)
        report_repairs(data.repairs)
        records.append({"corpus": corpus, "split": split, "path": str(path), **corpus_stats(data).to_dict()})
    if json_out:
        print_json(records)
        return
    print_table(
        "kogner corpora",
        ["corpus", "split", "documents", "sentences", "tokens", "mentions"],
        (
            [
                r["corpus"],
                r["split"],
                r["documents"],
                r["sentences"],
                r["tokens"],
                ", ".join(f"{k} {v}" for k, v in r["mentions"].items()) or "-",
            ]
            for r in records
        ),
    )


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="Input file.")],
    dst: Annotated[Path, typer.Argument(help="Output file (written atomically).")],
    to: Annotated[
        str | None, typer.Option(help=f"Output format: {', '.join(FORMATS)} (default: from DST's name).")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--from", help="Input format (default: from SRC's name).")] = None,
    tokenizer: TokenizerOpt = None,
    strict: Annotated[bool, typer.Option(help="Refuse repairable defects instead of fixing them.")] = False,
) -> None:
    """Convert between CoNLL/IOB, JSONL, PubTator, BioC XML and BioC JSON."""
    for name in (to, fmt):
        if name is not None and name not in FORMATS:
            raise KognerError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    corpus = read_corpus(src, fmt, tokenizer=_tokenizer(tokenizer), strict=strict)
    report_repairs(corpus.repairs)
    dropped = write_corpus(corpus.documents, dst, to)
    n_mentions = sum(len(s.entities) for s in corpus.sentences)
    sizes = f"{len(corpus.documents)} documents, {len(corpus.sentences)} sentences, {n_mentions - dropped} mentions"
    err_console.print(f"wrote {dst}: {sizes}")
    if dropped:
        err_console.print(
            f"[yellow]{dropped} overlapping mention(s) could not be written in this format and were left out[/yellow]"
        )
