"""The extract, eval and reprocess commands, through click's runner on the real CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner

from monitor.cli import main

ARTICLE = (
    "Whatsapp verbietet ab dem 1. März 2024 Massennachrichten. Wer den Dienst trotzdem für "
    "Massenversand nutzt, muss mit Klagen rechnen."
)
CORPUS = [
    {
        "id": "t-1",
        "lang": "de",
        "published": "2024-02-01",
        "title": "Whatsapp geht gegen Massennachrichten vor",
        "text": ARTICLE,
        "gold": {
            "enforcement_change": True,
            "platforms": ["WhatsApp"],
            "effective_date": "2024-03-01",
            "practices": ["bulk_messaging"],
            "actions": ["legal_action", "prohibition"],
        },
    },
    {
        "id": "t-2",
        "lang": "en",
        "published": "2024-03-03",
        "title": "Snapchat launches new AR lenses",
        "text": "Snapchat introduced new lenses on Tuesday. The feature lets creators build "
        "effects without writing code.",
        "gold": {"enforcement_change": False, "platforms": ["Snapchat"], "effective_date": None},
    },
]


def write_corpus(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in CORPUS) + "\n")
    return path


def test_extract_reads_stdin_and_prints_one_json_object():
    result = CliRunner().invoke(
        main,
        ["extract", "-", "--lang", "de", "--published", "2024-02-01", "--title", "Whatsapp"],
        input=ARTICLE,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["enforcement_change"] is True and data["status"] == "ok"
    assert data["platforms"] == ["WhatsApp"] and data["effective_date"] == "2024-03-01"
    assert data["evidence"][0]["spans"]


def test_extract_reads_a_file(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lang"] == "de"


def test_extract_jsonl_prints_one_object_per_record(tmp_path):
    result = CliRunner().invoke(main, ["extract", "--jsonl", str(write_corpus(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["id"] for line in lines] == ["t-1", "t-2"]
    assert set(lines[0]) == {
        "id",
        "enforcement_change",
        "score",
        "platforms",
        "effective_date",
        "practices",
        "practice_terms",
        "actions",
        "evidence",
    }
    assert lines[0]["practices"] == ["bulk_messaging"] and lines[1]["enforcement_change"] is False


def test_eval_json_is_exactly_one_report(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(write_corpus(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {
        "articles",
        "enforcement_change",
        "platforms",
        "practices",
        "actions",
        "effective_date",
        "docs_per_second",
        "events",
        "calibration",  # added in 0.2.0; the keys of 0.1.0 stay as they were
    }
    assert report["articles"] == 2
    assert set(report["events"]) == {
        "pairwise_precision",
        "pairwise_recall",
        "alerts",
        "gold_events",
    }
    assert set(report["enforcement_change"]) == {
        "precision",
        "recall",
        "f1",
        "tp",
        "fp",
        "fn",
        "tn",
    }
    assert report["enforcement_change"]["tp"] == 1 and report["enforcement_change"]["tn"] == 1
    assert set(report["practices"]) == {"precision", "recall", "f1"}
    assert set(report["effective_date"]) == {"accuracy"}


def test_eval_table_and_verbose_misses(tmp_path):
    corpus = write_corpus(tmp_path)
    lines = corpus.read_text().splitlines()
    wrong = json.loads(lines[0])
    wrong["gold"]["platforms"] = ["Instagram"]
    corpus.write_text(json.dumps(wrong) + "\n" + lines[1] + "\n")
    result = CliRunner().invoke(main, ["eval", str(corpus), "--verbose"])
    assert result.exit_code == 0, result.output
    assert "enforcement_change" in result.output and "effective_date accuracy" in result.output
    assert "t-1" in result.output and "expected ['Instagram'], got ['WhatsApp']" in result.output
    assert "t-2" not in result.output  # a negative's platforms are not scored


def test_reprocess_extracts_every_item_and_is_idempotent(db, tmp_path):
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO feeds (name, url, language, interval_seconds, created_at) "
            "VALUES ('f', 'https://example.invalid/f.xml', 'de', 1800, '2024-01-01')"
        )
        for n, published in enumerate(("2024-02-01T08:00:00+00:00", "2024-03-01T08:00:00+00:00")):
            conn.execute(
                "INSERT INTO items (feed, guid, title, content, published, content_hash, "
                "first_seen, last_changed) VALUES ('f', ?, ?, ?, ?, ?, ?, ?)",
                (f"g{n}", "Whatsapp geht vor", ARTICLE, published, f"h{n}", published, published),
            )
    args = ["reprocess", "--db", str(db.path)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "2 items re-extracted" in first.output
    snapshot = [tuple(r) for r in db.query("SELECT * FROM extractions ORDER BY item_id")]
    platforms = [tuple(r) for r in db.query("SELECT * FROM item_platforms ORDER BY item_id")]
    assert len(snapshot) == 2 and snapshot[0][6] == 1
    second = CliRunner().invoke(main, [*args, "--since", "2024-02-15"])
    assert "1 items re-extracted" in second.output
    assert [tuple(r) for r in db.query("SELECT * FROM extractions ORDER BY item_id")] == snapshot
    assert [
        tuple(r) for r in db.query("SELECT * FROM item_platforms ORDER BY item_id")
    ] == platforms


def test_extract_decodes_bytes_like_the_reader(tmp_path):
    article = ARTICLE + " Für Verstöße drohen Sperren."
    for encoding, prefix in (("latin-1", b""), ("utf-16", b""), ("utf-8", b"\xef\xbb\xbf")):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(prefix + article.encode(encoding))
        result = CliRunner().invoke(main, ["extract", str(path), "--published", "2024-02-01"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["lang"] == "de" and data["enforcement_change"] is True
        sentences = " ".join(e["sentence"] for e in data["evidence"])
        assert "Verstöße" in sentences or "Massenversand" in sentences, encoding
    declared = b'<meta charset="iso-8859-1"><p>' + article.encode("latin-1")
    result = CliRunner().invoke(main, ["extract", "-", "--lang", "de"], input=declared)
    assert "Verstöße" in result.output or "Massenversand" in result.output


def test_extract_turns_random_bytes_into_a_result_not_a_traceback():
    random = bytes((n * 7919 + 13) % 256 for n in range(20_000))  # every byte value, no text
    for data in (random, b"\xff\xfe\x00", b"\x00" * 100, b""):
        result = CliRunner().invoke(main, ["extract", "-"], input=data)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        if result.exit_code == 0:
            assert json.loads(result.output)["enforcement_change"] is False
        else:
            assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_extract_jsonl_reports_broken_lines_and_reads_the_others(tmp_path):
    good = [json.dumps(record, ensure_ascii=False).encode() for record in CORPUS]
    lines = [good[0], b'{"id": "cut', b"[1, 2]", b"", good[1], b'{"id": "t-3", "text": 5}']
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\xff\xfe garbage \x00\n")
    result = CliRunner().invoke(main, ["extract", "--jsonl", str(path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["t-1", "t-2"]
    errors = result.stderr.splitlines()
    assert [e.split(":")[1].strip() for e in errors] == ["line 2", "line 3", "line 6", "line 7"]
    assert "not JSON" in errors[0] and "not an object" in errors[1] and "strings" in errors[2]


def test_eval_teaser_scores_title_and_first_300_characters(tmp_path):
    long = dict(CORPUS[0], text=("Filler sentence without any news in it. " * 12) + ARTICLE)
    corpus = tmp_path / "long.jsonl"
    corpus.write_text(json.dumps(long, ensure_ascii=False) + "\n")
    full = json.loads(CliRunner().invoke(main, ["eval", str(corpus), "--json"]).output)
    teaser = json.loads(
        CliRunner().invoke(main, ["eval", str(corpus), "--json", "--teaser"]).output
    )
    assert set(teaser) == set(full)
    assert full["effective_date"]["accuracy"] == 1.0  # the date is in the body
    assert teaser["effective_date"]["accuracy"] == 0.0  # ... beyond the first 300 characters
