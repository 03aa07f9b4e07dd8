"""Date expressions: forms, roles, false friends, bad input, and accuracy on the dev corpus.

Expected values are worked out from the calendar: 2019-06-12 was a Wednesday, so "next week"
starts on Monday 2019-06-17 and "on Monday" (past) was 2019-06-10.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from monitor.extract.dates import find_dates

PUB = dt.date(2019, 6, 12)  # a Wednesday
SHARED = Path(__file__).resolve().parents[2] / "shared"


def only(text: str, lang: str, published: dt.date | None = PUB) -> tuple[str, str, str]:
    dates = find_dates(text, lang, published)
    assert len(dates) == 1, dates
    return dates[0].value, dates[0].precision, dates[0].role


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("Facebook will ab dem 7. Dezember 2019 klagen.", "2019-12-07", "day"),
        ("Das gilt ab dem 7.12.2019 weltweit.", "2019-12-07", "day"),
        ("Stichtag ist der 07.12.19.", "2019-12-07", "day"),
        ("Das gilt ab 7. Dez. 2019.", "2019-12-07", "day"),
        ("Ab Dezember 2019 drohen Klagen.", "2019-12", "month"),
        ("Die Werbung kommt Anfang 2020.", "2020", "year"),
        ("Die Regel greift Mitte Oktober.", "2019-10", "month"),
        ("Das Verbot greift ab nächsten Monat.", "2019-07", "month"),
        ("Ab kommender Woche gilt die Regel.", "2019-06-17", "day"),
        ("Die Regel tritt morgen in Kraft.", "2019-06-13", "day"),
        ("Ab heute nimmt Twitter keine Anzeigen mehr an.", "2019-06-12", "day"),
        ("Ab sofort ist das verboten.", "2019-06-12", "day"),
        ("In zwei Wochen ist Schluss.", "2019-06-26", "day"),
        ("Das Unternehmen entschied am Montag.", "2019-06-10", "day"),
        ("Ab Montag gilt die Regel.", "2019-06-17", "day"),
        ("Am kommenden Freitag ist es so weit.", "2019-06-14", "day"),
        ("Ab 2020 erscheinen Anzeigen.", "2020", "year"),
        ("Die Apps müssen bis 2023 umgestellt sein.", "2023", "year"),
        ("Die Frist endet im ersten Quartal 2020.", "2020", "year"),
        ("Die Änderung kommt Q1 2020.", "2020", "year"),
        ("Im dritten Quartal sollen die Apps verschwinden.", "2019", "year"),
        ("Ab dem ersten Quartal gilt die Regel.", "2020", "year"),  # Q1 2019 is over
        ("Im Herbst wird die Regel eingeführt.", "2019", "year"),
        ("Ab dem Frühjahr sperrt die Plattform solche Konten.", "2020", "year"),
        ("Im Winter 2021 kommt die Pflicht.", "2021", "year"),
        ("Bis Ende des Jahres soll alles umgesetzt sein.", "2019", "year"),
        ("Das Limit gilt seit Juli vergangenen Jahres.", "2018-07", "month"),
        ("Die Regeln gelten ab 2019-12-07.", "2019-12-07", "day"),
    ],
)
def test_german_forms(text: str, value: str, precision: str) -> None:
    assert only(text, "de")[:2] == (value, precision)


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("WhatsApp will sue abusers starting December 7th.", "2019-12-07", "day"),
        ("The ban takes effect on December 7, 2019.", "2019-12-07", "day"),
        ("The rules apply from 7 December 2019.", "2019-12-07", "day"),
        ("The rules apply from Dec. 7 in all markets.", "2019-12-07", "day"),
        ("The rules apply from 2019-12-07.", "2019-12-07", "day"),
        ("The policy changes in December 2019.", "2019-12", "month"),
        ("Ads will appear in early 2020.", "2020", "year"),
        ("The ban starts mid-October.", "2019-10", "month"),
        ("The ban kicks in next month.", "2019-07", "month"),
        ("The new rules apply next week.", "2019-06-17", "day"),
        ("The ban takes effect tomorrow.", "2019-06-13", "day"),
        ("Starting today, Instagram removes fake likes.", "2019-06-12", "day"),
        ("The cap takes effect immediately.", "2019-06-12", "day"),
        ("The rules go into force in two weeks.", "2019-06-26", "day"),
        ("The ban goes live a week from today.", "2019-06-19", "day"),
        ("The ban takes effect next Monday.", "2019-06-17", "day"),
        ("The company said on Monday that it is done.", "2019-06-10", "day"),
        ("Political ads will be banned from 2021.", "2021", "year"),
        ("Apps must comply by the end of 2019.", "2019", "year"),
        ("The change lands in Q1 2020.", "2020", "year"),
        ("The change lands in the first quarter of 2020.", "2020", "year"),
        ("Starting in the third quarter, such apps will be removed.", "2019", "year"),
        ("The ban starts this fall.", "2019", "year"),
        ("By next summer the rule applies everywhere.", "2020", "year"),
        ("From the spring, sellers must verify their identity.", "2020", "year"),
        ("The ban is effective 12/07/2019.", "2019-12-07", "day"),
    ],
)
def test_english_forms(text: str, value: str, precision: str) -> None:
    assert only(text, "en")[:2] == (value, precision)


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("Die Regel gilt ab 7. Januar.", "de", "2020-01-07"),
        ("The rule applies from 7 January.", "en", "2020-01-07"),
        ("The rule applies from January.", "en", "2020-01"),
        ("Die Bafin hatte im November gewarnt.", "de", "2019-11"),
        ("Facebook banned the ads in October.", "en", "2019-10"),
    ],
)
def test_year_less_dates_roll_over_by_context(text: str, lang: str, value: str) -> None:
    # published 2019-11-20: January ahead is next year's; October behind stays this year's
    assert only(text, lang, dt.date(2019, 11, 20))[0] == value


@pytest.mark.parametrize(
    ("text", "lang", "role"),
    [
        ("Ab dem 1. Juli gilt das Verbot.", "de", "effective"),
        ("Die Regel tritt am 1. Juli in Kraft.", "de", "effective"),
        ("Seit 2016 verbietet Facebook solche Anzeigen.", "de", "past"),
        ("In Indien gilt das Limit bereits seit Juli vergangenen Jahres.", "de", "past"),
        ("Das Unternehmen teilte am Montag mit, dass es klagt.", "de", "other"),
        ("Google will ban the ads from July.", "en", "effective"),
        ("The ban will take effect on July 1.", "en", "effective"),
        ("Google has banned such ads since 2016.", "en", "past"),
        ("Facebook banned crypto ads in January 2018.", "en", "past"),
        ("The company said on Tuesday that it will act.", "en", "other"),
        ("Indonesia holds general elections in April.", "en", "other"),
        ("Twitter plans to publish the full policy on November 15th.", "en", "other"),
        ("The company said it will ban the apps in 30 days.", "en", "effective"),
    ],
)
def test_roles_from_context(text: str, lang: str, role: str) -> None:
    assert only(text, lang)[2] == role


def test_recent_since_is_when_the_change_took_effect() -> None:
    # "Seit Montag lässt sich ..." in an article of Tuesday 2019-01-22 reports a change that
    # started the day before: that is the effective date (dev-038, dev-035, dev-019).
    text = "Seit Montag lässt sich eine Nachricht nur noch an fünf Chats weiterleiten."
    assert only(text, "de", dt.date(2019, 1, 22)) == ("2019-01-21", "day", "effective")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("2019 Nutzer haben sich beschwert.", "de"),
        ("Das Abo kostet 5.000 Euro.", "de"),
        ("Ein Zusatzmitglied kostet 4,99 Euro.", "de"),
        ("Die Version 3.11 behebt Fehler.", "de"),
        ("Betroffen sind die Versionen 4.3.0 bis 4.3.16.", "de"),
        ("Die Sitzung beginnt um 10.30 Uhr.", "de"),
        ("Die Aktie fiel um 20 Prozent.", "de"),
        ("Der Konzern beschäftigt bis zu 2000 Menschen.", "de"),
        ("Die Gründer Jan Koum und Brian Acton gingen.", "de"),
        ("Wir trafen uns am Morgen.", "de"),
        ("2019 users complained.", "en"),
        ("Premium now costs $13.99 a month.", "en"),
        ("Python 3.11 is out; install version 3.11.2.", "en"),
        ("The meeting is at 10.30am.", "en"),
        ("Shares rose 2.5% in 2000 cases.", "en"),
        ("May I ask a question?", "en"),
        ("Black Friday sales were strong.", "en"),
        ("Unemployment is at its lowest level in 24 years.", "en"),
        ("Shares closed at the closing time of 1900 GMT.", "en"),
    ],
)
def test_numbers_that_are_no_dates(text: str, lang: str) -> None:
    assert find_dates(text, lang, PUB) == []


def test_morgen_is_tomorrow_only_as_an_adverb() -> None:
    assert only("Heute Morgen kündigte Meta an.", "de")[:2] == ("2019-06-12", "day")
    assert only("Das Verbot gilt ab morgen.", "de")[:2] == ("2019-06-13", "day")


def test_mentions_carry_text_and_offsets_in_order() -> None:
    text = "Facebook hat am Dienstag angekündigt, ab dem 7. Dezember 2019 zu klagen."
    dates = find_dates(text, "de", PUB)
    assert [d.text for d in dates] == ["Dienstag", "7. Dezember 2019"]
    assert all(text[d.start : d.end] == d.text for d in dates)
    assert [d.role for d in dates] == ["other", "effective"]


def test_without_publication_date_only_absolute_dates() -> None:
    text = "Ab nächsten Monat, spätestens aber ab dem 7. Dezember 2019."
    assert [d.value for d in find_dates(text, "de", None)] == ["2019-12-07"]


@pytest.mark.parametrize("text", ["", "\x00\x01\x02\x7f\x1b[0m", "ab \x00 7. \x00 Dezember"])
def test_empty_and_control_characters(text: str) -> None:
    assert isinstance(find_dates(text, "de", PUB), list)


def test_odd_publication_dates() -> None:
    text = "Ab morgen gilt die Regel, in 999 Jahren nicht mehr."
    assert find_dates(text, "de", dt.date(9999, 12, 31)) == []
    noon = dt.datetime(2019, 12, 31, 12, 0)
    assert [d.value for d in find_dates(text, "de", noon)] == ["2020-01-01"]


def test_unknown_language_has_no_dates() -> None:
    assert find_dates("à partir du 7 décembre 2019", "fr", PUB) == []
    assert find_dates("ab dem 7. Dezember 2019", "../de", PUB) == []


def test_five_megabytes_of_garbage() -> None:
    rnd = random.Random(7)
    garbage = "".join(
        rnd.choice("0123456789. -/:ab Januar Mai heute in\x00\n") for _ in range(5_000_000)
    )
    dates = find_dates(garbage, "de", PUB)
    assert all(1900 <= int(d.value[:4]) <= 2099 for d in dates)
    assert len(find_dates("7.12.2019 " * 200_000, "de", PUB)) <= 1000


def test_real_news_gives_no_absurd_years() -> None:
    files = sorted((SHARED / "data" / "news").glob("*.jsonl"))
    if not files:
        pytest.skip("no news sample in shared/data/news")
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for date in find_dates(row["text"], row["lang"], PUB):
                assert 1900 <= int(date.value[:4]) <= 2099, date


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("The games will be retired from sale on September 1.", "en", "2025-09-01"),
        ("Old accounts are going to be deleted on March 3.", "en", "2026-03-03"),
        ("The feature is set to be discontinued on March 3.", "en", "2026-03-03"),
        ("Die Funktion wird am 1. März eingeführt.", "de", "2026-03-01"),
        ("Die Funktion soll am 1. März eingeführt werden.", "de", "2026-03-01"),
    ],
)
def test_future_passive_looks_ahead(text: str, lang: str, value: str) -> None:
    assert only(text, lang, dt.date(2025, 6, 10)) == (value, "day", "effective")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The feature was retired on March 3.", "en"),
        ("Die Funktion wurde am 1. März eingeführt.", "de"),
    ],
)
def test_past_passive_still_looks_back(text: str, lang: str) -> None:
    value, _, role = only(text, lang, dt.date(2025, 6, 10))
    assert value.startswith("2025-03") and role == "past"


def test_a_season_needs_its_leading_word():
    assert find_dates("Prices fall sharply as spring sales end.", "en", PUB) == []
    assert find_dates("Der Sommer war heiß.", "de", PUB) == []
