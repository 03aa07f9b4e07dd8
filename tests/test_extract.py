"""The extractor on short articles written for these tests, and on bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.extract import EXTRACTOR_VERSION, Extractor
from monitor.extract.extractor import MAX_CHARS
from monitor.models import StoredItem

# (lang, published, title, text, platforms, practices, actions, effective date)
CHANGES = [
    ("en", "2024-02-10", "YouTube will demonetize channels that push election misinformation",
     "YouTube said on Friday that, starting March 1, it will strip monetization from channels "
     "that repeatedly publish election misinformation. Creators who break the rule three times "
     "will lose access to ad revenue. The Google-owned platform says the policy covers Shorts.",
     ["YouTube"], ["misinformation"], ["demonetization"], "2024-03-01"),
    ("de", "2024-05-02", "Instagram sperrt Konten mit gekauften Followern",
     "Instagram geht ab sofort härter gegen gekaufte Follower vor. Wer Follower oder Likes "
     "kauft, muss damit rechnen, dass sein Konto gesperrt wird. Die Meta-Tochter kündigte die "
     "neue Regel am Donnerstag an.",
     ["Instagram"], ["fake_engagement"], ["account_suspension"], "2024-05-02"),
    ("en", "2023-06-20", "Reddit bans scraping and threatens lawsuits against AI firms",
     "Reddit has updated its terms to prohibit scraping of its content without a license. The "
     "company said it will take legal action against firms that collect data from the site to "
     "train AI models. The new terms take effect on July 1.",
     ["Reddit"], ["scraping"], ["legal_action", "prohibition"], "2023-07-01"),
    ("de", "2024-11-15", "TikTok verbietet Glücksspielwerbung ab Januar",
     "TikTok wird ab Januar 2025 keine Werbung für Glücksspiel und Sportwetten mehr zulassen. "
     "Das Verbot gilt in allen Ländern der EU. Werbetreibende müssen laufende Kampagnen bis Ende "
     "Dezember beenden.",
     ["TikTok"], ["gambling_ads"], ["prohibition"], "2025-01"),
    ("en", "2024-10-01", "Disney+ begins its password sharing crackdown in Canada",
     "Disney+ subscribers in Canada who share their password with people outside their "
     "household will have to pay for an extra member starting November 1. The streaming "
     "service said it is clamping down on account sharing to protect revenue.",
     ["Disney+"], ["account_sharing"], ["restriction"], "2024-11-01"),
    ("de", "2023-03-01", "Twitch schränkt Links zu Konkurrenzplattformen ein",
     "Twitch begrenzt künftig Links zu Konkurrenzplattformen in Kanalbeschreibungen. Streamer, "
     "die trotzdem auf andere Plattformen verlinken, riskieren eine Sperrung ihres Kontos. Die "
     "Regel gilt ab dem 15. März 2023.",
     ["Twitch"], ["cross_platform_links"], ["account_suspension", "restriction"], "2023-03-15"),
    ("de", "2024-05-20", "YouTube wirft Impfgegner aus dem Partnerprogramm",  # compounds
     "Kanäle, die Falschinformationen über Impfungen verbreiten, werden ab dem 1. Juni vom "
     "YouTube-Partnerprogramm ausgeschlossen. YouTubes Richtlinie gilt weltweit.",
     ["YouTube"], ["misinformation"], ["demonetization"], "2024-06-01"),
    ("en", "2024-07-01", "Facebook stops creators who post fake reviews from earning ad revenue",
     "Facebook pages that sell or post bogus reviews will no longer monetize their videos. "
     "Meta said affected creators will be cut off from ads starting today.",
     ["Facebook"], ["fake_engagement"], ["demonetization"], "2024-07-01"),
    ("en", "2024-08-05", "Microsoft Store will de-list sexually explicit games",
     "Microsoft said adult-only games with sexually explicit scenes will soon be retired from "
     "sale in the Microsoft Store. Buyers keep access to titles they own.",
     ["Microsoft Store"], ["adult_content"], ["app_removal"], None),
    ("de", "2023-09-15", "Datenschutzbehörde verhängt Bußgeld gegen TikTok",  # a regulator
     "Die irische Datenschutzbehörde verhängt wegen mangelndem Kinderschutz eine Strafe in "
     "Höhe von 345 Millionen Euro gegen TikTok. Konten von unter 13-Jährigen seien öffentlich.",
     ["TikTok"], ["minor_safety"], ["fine"], None),
]  # fmt: skip

NOT_CHANGES = [
    ("en", "2024-03-03", "Snapchat launches new AR lenses for creators",
     "Snapchat introduced a new set of augmented reality lenses on Tuesday. The feature lets "
     "creators build effects without writing code and will roll out to all users next month.",
     ["Snapchat"]),
    ("de", "2023-10-25", "Spotify steigert Umsatz im dritten Quartal",
     "Spotify hat im dritten Quartal mehr Umsatz gemacht als von Analysten erwartet. Die Zahl "
     "der zahlenden Abonnenten stieg auf 226 Millionen, die Aktie legte nachbörslich zu.",
     ["Spotify"]),
    ("en", "2024-02-01", "X lifts its ban on political ads in the UK",
     "X is lifting its ban on political advertising in the United Kingdom. Candidates and "
     "parties will again be allowed to run ads on the platform ahead of the general election.",
     ["X"]),
    ("de", "2022-04-20", "Bericht: Netflix erwägt günstigeres Abo mit Werbung",
     "Netflix denkt offenbar über ein günstigeres Abo mit Werbung nach. Das berichtet ein "
     "US-Medium unter Berufung auf Insider. Offiziell bestätigt hat der Streamingdienst die "
     "Pläne nicht.",
     ["Netflix"]),
    ("de", "2021-06-01", "Google lockert Regeln für Krypto-Werbung",
     "Google lockert seine Richtlinien für Werbung mit Kryptowährungen. Ab August dürfen "
     "zertifizierte Börsen wieder Anzeigen schalten.",
     ["Google Ads"]),
    ("en", "2024-03-12", "Twitch backtracks on its ban on gambling streams",
     "Twitch apologized on Tuesday and said streamers may again show slot sites. The ban on "
     "gambling streams had lasted barely a week.",
     ["Twitch"]),
    ("de", "2024-03-12", "Facebook hebt Verbot von Krypto-Anzeigen wieder auf",
     "Facebook hebt sein Verbot von Werbung für Kryptowährungen auf. Zugelassene Börsen dürfen "
     "ab sofort wieder Anzeigen schalten.",
     ["Facebook"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def run(extractor, lang, published, title, text):
    return extractor.extract_text(text, lang, dt.date.fromisoformat(published), title)


@pytest.mark.parametrize("case", CHANGES, ids=[c[2][:40] for c in CHANGES])
def test_enforcement_changes(extractor, case):
    lang, published, title, text, platforms, practices, actions, date = case
    got = run(extractor, lang, published, title, text)
    assert got.status == "ok" and got.lang == lang
    assert got.enforcement_change and got.score > 0.5
    assert sorted(got.platforms) == platforms
    assert sorted(got.practices) == practices
    # steps are a learned choice among candidates: every stated step, at most one more
    assert set(actions) <= set(got.actions) and len(got.actions) <= len(actions) + 1
    assert got.effective_date == date
    assert got.evidence and any(kind == "practice" for e in got.evidence for kind, _ in e.spans)


@pytest.mark.parametrize("lang, published, title, text, platforms", NOT_CHANGES)
def test_features_earnings_rumours_and_relaxed_rules_are_not_changes(
    extractor, lang, published, title, text, platforms
):
    got = run(extractor, lang, published, title, text)
    assert not got.enforcement_change and got.score < 0.5
    assert list(got.platforms) == platforms
    assert got.practices == () and got.actions == () and got.effective_date is None


def test_owners_and_passing_mentions_are_not_subjects(extractor):
    got = run(
        extractor,
        "de",
        "2020-03-02",
        "Whatsapp verbietet Massennachrichten",
        "Der zu Facebook gehörende Messenger will ab April keine Massennachrichten mehr dulden "
        "und droht Versendern mit Klagen. Anders als Telegram setzt Whatsapp damit auf Verbote.",
    )
    assert got.platforms == ("WhatsApp",)
    assert {"Facebook", "Telegram"} <= set(got.mentions)


def test_platforms_given_as_examples_or_targets_are_mentions(extractor):
    got = run(
        extractor,
        "de",
        "2022-12-19",
        "Twitter verbietet Links zu Mastodon und Instagram",
        "Twitter untersagt ab sofort Beiträge, die nur dazu dienen, für andere soziale Netzwerke "
        "wie Mastodon, Facebook oder Instagram zu werben.",
    )
    assert got.enforcement_change and got.platforms == ("X",)
    assert got.practices == ("cross_platform_links",) and "prohibition" in got.actions
    assert {"Mastodon", "Facebook", "Instagram"} <= set(got.mentions)


def test_a_rule_that_also_applies_to_a_second_platform_makes_two_subjects(extractor):
    got = run(
        extractor,
        "en",
        "2022-03-01",
        "Facebook bans ads for gambling sites",
        "Facebook will no longer allow ads for online casinos and sports betting. The new rule "
        "also applies to Instagram, the company said.",
    )
    assert got.enforcement_change and set(got.platforms) == {"Facebook", "Instagram"}


def test_demands_by_others_are_not_changes(extractor):
    got = run(
        extractor,
        "en",
        "2023-03-01",
        "Lawmakers urge Meta to ban political deepfakes",
        "A group of US senators called on Meta to prohibit deepfakes in political ads. The "
        "company has not responded to the letter.",
    )
    assert not got.enforcement_change


def test_a_company_stands_for_its_product(extractor):
    got = run(
        extractor,
        "en",
        "2021-04-12",
        "Amazon sues sellers of counterfeit goods",
        "Amazon filed lawsuits on Monday against more than 50 sellers it accuses of listing "
        "counterfeit goods on its marketplace.",
    )
    assert got.enforcement_change and got.platforms == ("Amazon",)


def test_old_bans_mentioned_in_passing_are_not_changes(extractor):
    got = run(
        extractor,
        "en",
        "2021-11-10",
        "Bitcoin hits a record high",
        "Bitcoin climbed above $68,000 on Wednesday. Analysts pointed to inflation fears. Back "
        "in 2018, Facebook and Google banned crypto ads, but both have since relaxed those rules.",
    )
    assert not got.enforcement_change


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\x00\x01\x02\x7f",
        "<html><head><script>var x = 1;</script></head><body></body></html>",
    ],
)
def test_empty_input_is_empty(extractor, text):
    got = extractor.extract_text(text, "en")
    assert got.status == "empty" and not got.enforcement_change


def test_raw_html_is_read_as_text(extractor):
    html = (
        "<html><body><h1>TikTok verbietet Deepfakes</h1><p>TikTok verbietet ab sofort "
        "irreführende Deepfakes &amp; droht mit der Sperrung von Konten.</p></body></html>"
    )
    got = extractor.extract_text(html, "de")
    assert got.status == "ok" and got.enforcement_change
    assert "<" not in got.evidence[0].sentence


def test_five_megabytes_are_capped(extractor):
    text = "WhatsApp verbietet Massennachrichten ab sofort. " * 110_000
    assert len(text) > 5_000_000
    got = extractor.extract_text(text, "de")
    assert got.status == "ok" and got.truncated
    assert max(d.end for d in got.dates) <= MAX_CHARS if got.dates else True


@pytest.mark.parametrize(
    "text",
    [
        "\x00" * 5_000_000,  # control characters only
        "a" * 5_000_000,  # one endless word
        "<script>" * 600_000,  # unclosed blocks
        "<!--" * 1_000_000,
        " \n" * 2_500_000,
        "<" * 2_000_000 + ">" * 2_000_000,
    ],
)
def test_pathological_megabytes_finish(extractor, text):
    got = extractor.extract_text(text, "de")
    assert got.status in ("ok", "empty") and got.truncated


def test_control_characters_and_mixed_languages(extractor):
    text = (
        "Facebook\x00 bans\x1b political ads in the US from May 1, the company said.\u200b "
        "Facebook verbietet politische Werbung in den USA ab dem 1. Mai, teilte der Konzern mit. "
        "Facebook proíbe anúncios políticos."
    )
    got = extractor.extract_text(text, published=dt.date(2024, 4, 1))
    assert got.status == "ok" and got.lang in ("de", "en")
    assert got.platforms == ("Facebook",)


def test_unsupported_and_undetectable_languages(extractor):
    french = extractor.extract_text("La plateforme interdit les publicités politiques dès lundi.")
    assert french.status == "unsupported_language" and french.reason
    told = extractor.extract_text("Una piattaforma vieta la pubblicità.", lang="it")
    assert told.status == "unsupported_language" and "it" in told.reason


def item(item_id: int, title: str, content: str, language: str | None, **extra) -> StoredItem:
    fields = {
        "summary": "",
        "url": None,
        "published": "2024-05-02T08:00:00+00:00",
        "content_hash": f"h{item_id}",
        "first_seen": "2024-05-02T08:00:00+00:00",
    }
    return StoredItem(item_id, "feed", title, content=content, language=language, **fields | extra)


def test_extract_items_in_batches_with_failures_kept_on_their_item(extractor):
    items = [
        item(1, "Instagram sperrt Konten", CHANGES[1][3], "de-DE"),
        item(2, "", "", None),
        item(3, "Hello", "Bonjour tout le monde, la plateforme change ses règles.", None),
        item(4, "Broken", "text", "en", summary=123),  # not a string: an error, not a crash
        item(5, "Reddit bans scraping", CHANGES[2][3], None, summary=CHANGES[2][3][:40]),
    ]
    got = extractor.extract_items(items, batch_size=2)
    assert [e.item_id for e in got] == [1, 2, 3, 4, 5]
    assert [e.status for e in got] == ["ok", "empty", "unsupported_language", "error", "ok"]
    assert got[0].lang == "de" and got[0].enforcement_change
    assert got[3].reason and "TypeError" in got[3].reason
    assert got[4].lang == "en" and got[4].platforms == ("Reddit",)
    assert all(e.extractor_version == EXTRACTOR_VERSION for e in got)
    assert [e.content_hash for e in got] == ["h1", "h2", "h3", "h4", "h5"]


def test_pipelines_are_built_once_per_language(extractor):
    assert extractor.pipeline("de") is extractor.pipeline("de")
    assert extractor.pipeline("de") is not extractor.pipeline("en")


UNLISTED = [
    ("en", "Etsy bans fireworks from its marketplace",
     "Etsy will no longer allow sellers to list fireworks and firecrackers starting March 1. "
     "Listings that break the rule will be removed.", "fireworks"),
    ("de", "Vinted verbietet den Verkauf lebender Tiere",
     "Vinted verbietet ab 1. März den Verkauf lebender Tiere. Inserate, die gegen die Regel "
     "verstoßen, werden gelöscht.", "Tiere"),
]  # fmt: skip


@pytest.mark.parametrize("case", UNLISTED, ids=[c[0] for c in UNLISTED])
def test_conduct_that_no_practice_id_names_is_a_change_with_its_words(extractor, case):
    lang, title, text, word = case
    got = run(extractor, lang, "2025-02-01", title, text)
    assert got.enforcement_change and got.practices == ()
    assert any(word in term for term in got.practice_terms), got.practice_terms
    assert got.effective_date == "2025-03-01" and "prohibition" in got.actions


def test_practice_terms_are_left_out_when_an_id_names_the_conduct(extractor):
    got = run(
        extractor,
        "en",
        "2025-02-01",
        "TikTok bans political ads",
        "TikTok will no longer allow political ads from March 1.",
    )
    assert got.practices == ("political_ads",) and got.practice_terms == ()


TICKER = (
    "+++ 16:42 Uhr +++ Telegram meldet Störungen beim Versand von Sprachnachrichten. Nach einer "
    "Stunde lief der Dienst laut Statusseite wieder.\n\n"
    "+++ 14:10 Uhr +++ Pinterest verbietet ab dem 1. März Werbung für Glücksspiel. Anzeigen, "
    "die gegen die Regel verstoßen, werden gelöscht.\n\n"
    "+++ 11:25 Uhr +++ Bluesky zählt nach eigenen Angaben 40 Millionen Konten.\n\n"
    "+++ 09:03 Uhr +++ LinkedIn bringt seine KI-Stellensuche nach Deutschland."
)


def test_a_ticker_entry_that_reports_a_change_is_read_with_its_own_fields(extractor):
    got = run(extractor, "de", "2025-02-01", "Netzwelt-Ticker: Telegram, Bluesky, LinkedIn", TICKER)
    assert got.enforcement_change
    assert got.platforms == ("Pinterest",)  # not the platforms of the other entries
    assert got.practices == ("gambling_ads",) and got.effective_date == "2025-03-01"


def test_a_ticker_whose_entries_report_no_change_is_no_change(extractor):
    quiet = TICKER.replace(
        "Pinterest verbietet ab dem 1. März Werbung für Glücksspiel. Anzeigen, die gegen die "
        "Regel verstoßen, werden gelöscht.",
        "Pinterest stellt ein neues Design für Pinnwände vor.",
    )
    got = run(extractor, "de", "2025-02-01", "Netzwelt-Ticker: Telegram, Bluesky, LinkedIn", quiet)
    assert not got.enforcement_change


@pytest.mark.parametrize(
    ("title", "text", "kept", "never"),
    [
        (  # dates and amounts say when and how much
            "Kleinanzeigen verbietet den Welpenhandel ab Freitag",
            "Ab Freitag löscht Kleinanzeigen Inserate für Welpen. Wer trotzdem inseriert, "
            "zahlt bis zu sechs Millionen Euro Strafe.",
            {"Welpenhandel"},
            {"Freitag", "Millionen", "Euro"},
        ),
        (  # places, spans of time and half a compound say nothing of the conduct
            "Kleinanzeigen verbietet Hunde- und Katzenwelpen ohne Chip",
            "In zwei Wochen löscht Kleinanzeigen in Deutschland Inserate für "
            "Welpen ohne Chipnummer.",
            {"Katzenwelpen", "Chipnummer"},
            {"Hunde-", "Wochen", "Deutschland"},
        ),
    ],
)
def test_practice_term_candidates_name_only_the_conduct(extractor, title, text, kept, never):
    from monitor.extract.terms import term_candidates

    record = {"lang": "de", "published": "2023-08-01", "title": title, "text": text}
    (article,) = extractor.read_records([record])
    words = {w for chunk, _ in term_candidates(article) for w in chunk.split()}
    assert kept <= words
    assert not words & never
