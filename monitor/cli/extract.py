"""Commands of the extraction: extract a text or a corpus, re-extract stored items, score."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from monitor.cli.context import AppContext, global_options
from monitor.models import Extraction
from monitor.store.extractions import evidence_records
from monitor.text import decode_bytes

DATE = click.DateTime(formats=["%Y-%m-%d"])
MAX_INPUT_BYTES = 8 * 1000 * 1000  # of one text or one corpus line; the extractor reads less
CORPUS_FIELDS = [
    "enforcement_change",
    "score",
    "platforms",
    "effective_date",
    "practices",
    "practice_terms",
    "actions",
    "evidence",
]


def extraction_json(extraction: Extraction) -> dict[str, Any]:
    """Every field of an extraction, as plain JSON values."""
    data = asdict(extraction)
    data["evidence"] = evidence_records(extraction)
    for key in ("platforms", "mentions", "practices", "practice_terms", "actions"):
        data[key] = list(data[key])
    return data


def corpus_json(record: dict[str, Any], extraction: Extraction) -> dict[str, Any]:
    """The fields of LABELS.md for one corpus record, with the id and the evidence."""
    data = extraction_json(extraction)
    return {"id": record.get("id"), **{key: data[key] for key in CORPUS_FIELDS}}


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.command()
@click.argument("source", type=click.File("rb"), required=False)
@click.option("--lang", help="Language of the text (de, en); detected when not given.")
@click.option("--published", type=DATE, help="Publication date (YYYY-MM-DD) for relative dates.")
@click.option("--title", default="", help="The article's title.")
@click.option(
    "--jsonl",
    type=click.File("rb"),
    help="A corpus in the LABELS.md format: print one JSON object per record.",
)
@global_options
def extract(source, lang: str | None, published, title: str, jsonl) -> None:
    """Extract one text (FILE, or - / nothing for stdin) and print the extraction as JSON.

    Input is read as bytes and decoded like a fetched page (byte-order mark, declared or
    detected encoding). With --jsonl, a line that is not a JSON object is reported on stderr
    with its number; the other lines are still extracted, and the exit code is 2."""
    from monitor.extract import Extractor

    extractor = Extractor()
    if jsonl is not None:
        records, broken = read_jsonl(jsonl)
        for line, reason in broken:
            click.echo(f"error: line {line}: {reason}", err=True)
        for record, extraction in zip(records, extractor.extract_records(records), strict=True):
            _echo_json(corpus_json(record, extraction))
        if broken:
            sys.exit(2)
        return
    data = (source or click.get_binary_stream("stdin")).read(MAX_INPUT_BYTES)
    date = published.date() if published else None
    _echo_json(extraction_json(extractor.extract_text(decode_bytes(data), lang, date, title)))


def read_jsonl(lines) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The records of a JSON Lines corpus, and (line number, reason) for each unusable line."""
    records, broken = [], []
    for number, raw in enumerate(lines, start=1):
        text = decode_bytes(raw[:MAX_INPUT_BYTES]).strip()
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            broken.append((number, f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(record, dict):
            broken.append((number, f"a JSON {type(record).__name__}, not an object"))
        elif not all(isinstance(record.get(k) or "", str) for k in ("title", "text", "lang")):
            broken.append((number, "title, text and lang must be strings"))
        else:
            records.append(record)
    return records, broken


@click.command()
@click.option("--since", type=DATE, help="Only items published on or after this date.")
@global_options
@click.pass_context
def reprocess(ctx: click.Context, since) -> None:
    """Extract every stored item again (after a data or extractor change). Idempotent."""
    from monitor.extract import Extractor
    from monitor.pipeline import reprocess_items

    obj = ctx.ensure_object(AppContext)
    settings, db = obj.config().alerts, obj.db()
    with _Progress("Re-extracting") as progress:
        since_text = since.date().isoformat() if since else None
        count, changes = reprocess_items(db, Extractor(), settings, since_text, progress)
    click.echo(f"{count} items re-extracted; {changes} changes after regrouping.")


class _Progress:
    """A click progress bar that opens when the first batch reports the total."""

    def __init__(self, label: str) -> None:
        self.label, self.bar = label, None

    def __call__(self, step: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(step)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@click.command("eval")
@click.argument("corpus", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option(
    "--teaser", is_flag=True, help="Score each article from its title and first 300 characters."
)
@global_options
@click.pass_context
def eval_(ctx: click.Context, corpus: str, as_json: bool, teaser: bool) -> None:
    """Score a labelled corpus (../shared/corpus/LABELS.md); -v/--verbose lists each article's
    misses, expected vs got."""
    from monitor.evaluate import as_teaser, load_corpus, run_evaluation
    from monitor.extract import Extractor

    verbose = ctx.ensure_object(AppContext).verbose > 0
    records = load_corpus(corpus)
    if teaser:
        records = [as_teaser(record) for record in records]
    evaluation = run_evaluation(records, Extractor())
    if as_json:
        report = dict(evaluation.report)
        if verbose:
            report["misses"] = evaluation.misses
        _echo_json(report)
        return
    click.echo(_table(evaluation.report))
    if verbose:
        for miss in evaluation.misses:
            click.echo(f"\n{miss['id']}: {miss.get('title') or ''}")
            for key, value in miss.items():
                if isinstance(value, dict):
                    click.echo(f"  {key}: expected {value['expected']}, got {value['got']}")


def _table(report: dict[str, Any]) -> str:
    decision = report["enforcement_change"]
    rows = [("enforcement_change", decision["precision"], decision["recall"], decision["f1"])]
    for key in ("platforms", "practices", "actions"):
        rows.append((key, report[key]["precision"], report[key]["recall"], report[key]["f1"]))
    table = tabulate(rows, headers=("field", "precision", "recall", "f1"), floatfmt=".3f")
    counts = ", ".join(f"{k} {decision[k]}" for k in ("tp", "fp", "fn", "tn"))
    return (
        f"{table}\n\neffective_date accuracy {report['effective_date']['accuracy']:.3f}\n"
        f"decision counts: {counts}\n"
        f"{report['articles']} articles, {report['docs_per_second']} docs/s"
        + _events_line(report.get("events"))
        + _calibration_line(report.get("calibration"))
    )


def _calibration_line(calibration: dict[str, Any] | None) -> str:
    """Score bins: mean score -> share of real changes (n), and the Brier score."""
    if not calibration:
        return ""
    bins = " · ".join(
        f"{b['bin']}: {b['mean_score']:.2f}->{b['positive_rate']:.2f} ({b['n']})"
        for b in calibration["bins"]
    )
    return f"\ncalibration (score -> share of changes): {bins}; Brier {calibration['brier']:.3f}"


def _events_line(events: dict[str, Any] | None) -> str:
    if not events:
        return ""
    return (
        f"\nevents: pairwise precision {events['pairwise_precision']:.3f}, pairwise recall "
        f"{events['pairwise_recall']:.3f}, {events['alerts']} alerts for "
        f"{events['gold_events']} gold events"
    )


@click.command()
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A labelled corpus to learn from (repeatable; default: the training corpora).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the weights, the lemma tables beside them (default: the package's data).",
)
@click.option("--no-teasers", is_flag=True, help="Do not also learn each article as a teaser.")
@click.option("--json", "as_json", is_flag=True, help="Print the training report as JSON.")
@global_options
def train(corpora, out, no_teasers: bool, as_json: bool) -> None:
    """Learn the extraction's weights from labelled corpora (deterministic, fixed seed)."""
    from monitor.extract.model import MODEL_FILE, save_models
    from monitor.extract.train import default_corpora
    from monitor.extract.train import train as learn

    paths = list(corpora) or default_corpora()
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        click.echo(f"error: corpus not found: {', '.join(missing)}", err=True)
        sys.exit(2)
    target = out or MODEL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        models, report = learn(paths, target.parent, teasers=not no_teasers)
    except (ValueError, KeyError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    save_models(models, target)
    if as_json:
        _echo_json(report)
        return
    decision = report["decision"]
    click.echo(f"trained on {models.info['articles']} articles from {len(paths)} corpora")
    click.echo(
        f"decision, out of fold: F1 {decision['out_of_fold_f1']:.3f} (precision "
        f"{decision['precision']:.3f}, recall {decision['recall']:.3f}); Brier "
        f"{report['calibration']['brier']:.3f}"
    )
    for name in ("platform", "practice", "action", "date", "term"):
        part = report[name]
        click.echo(
            f"{name}: threshold {part['threshold']:.2f}, out of fold {part['out_of_fold']:.3f} "
            f"({part['examples']} candidates)"
        )
    tables = ", ".join(f"{lang} {n} forms" for lang, n in report["lemmas"].items())
    click.echo(f"weights written to {target}; lemma tables ({tables}) beside it")


COMMANDS = [extract, reprocess, eval_, train]
