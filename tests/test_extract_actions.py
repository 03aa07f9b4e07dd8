"""Secondary enforcement steps: a sentence naming only a step counts when the article's
practice and platform are established elsewhere, not when it is background on another topic."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.extract import Extractor

# (lang, published, title, text): the step sentence is background on another platform
BACKGROUND = [
    (
        "de",
        "2025-04-03",
        "YouTube verbietet Werbung für Krypto-Betrug",
        "YouTube verbietet ab Mai Werbung für Krypto-Betrug. Die Plattform kündigte das am "
        "Dienstag an. Facebook hatte im vergangenen Jahr tausende Konten gesperrt.",
    ),
    (
        "en",
        "2025-04-03",
        "YouTube bans crypto scam ads",
        "YouTube will no longer allow ads for crypto scams starting next month. The platform made "
        "the announcement on Tuesday. Elsewhere, Facebook removed thousands of accounts last year.",
    ),
]


def test_the_apps_removed_for_breaking_the_rule_are_an_action(extractor):
    got = run(
        extractor,
        "en",
        "2025-04-03",
        "Apple bans apps that track users without consent",
        "Apple will ban apps that track users without asking for consent, starting in "
        "June. The rule is part of the App Store guidelines. Apps that break the rule "
        "will be removed from the store.",
    )
    assert got.enforcement_change and "app_removal" in got.actions


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def run(extractor, lang, published, title, text):
    return extractor.extract_text(text, lang, dt.date.fromisoformat(published), title)


@pytest.mark.parametrize("case", BACKGROUND, ids=[c[0] for c in BACKGROUND])
def test_steps_in_background_on_other_platforms_are_no_action(extractor, case):
    got = run(extractor, *case)
    assert got.enforcement_change and got.actions == ("prohibition",)


# the title names the main action, so the top action scores high; the step-only sentence
# right after the core sentence (late in the article, low weight) falls under the share
DE_LEAD = (
    "TikTok verbietet ab Juni den Kauf von Followern und Likes. Das teilte das Unternehmen am "
    "Freitag mit. Betroffen sind alle Nutzer in Europa. Die Plattform will so das Vertrauen "
    "stärken. Gekaufte Follower sind auf TikTok künftig verboten. "
)
EN_LEAD = (
    "Instagram will ban bought followers and fake likes starting in June. The company announced "
    "the change on Friday. It applies to all users in Europe. The platform wants to restore "
    "trust. Buying followers will no longer be allowed on Instagram. "
)
DE_TITLE = "TikTok verbietet gekaufte Follower"
EN_TITLE = "Instagram bans bought followers"
TAIL = {"de": "Zahlen nannte die Plattform nicht.", "en": "The company gave no figures."}

BESIDE_CORE = [
    ("de", DE_TITLE, DE_LEAD + "Wer dagegen verstößt, muss mit einer Kontosperre rechnen. "),
    ("en", EN_TITLE, EN_LEAD + "Repeat offenders will have their accounts suspended. "),
]
BACKGROUND_BESIDE_CORE = [
    ("de-other", DE_TITLE, DE_LEAD + "Facebook hatte tausende Konten gesperrt. "),
    ("de-past", DE_TITLE, DE_LEAD + "Im vergangenen Jahr wurden bereits Konten gesperrt. "),
    ("en-other", EN_TITLE, EN_LEAD + "Last year, YouTube suspended thousands of accounts. "),
    ("en-past", EN_TITLE, EN_LEAD + "In 2019, accounts were suspended in a similar purge. "),
]


@pytest.mark.parametrize("case", BESIDE_CORE, ids=[c[0] for c in BESIDE_CORE])
def test_a_step_beside_the_core_sentence_is_kept_under_a_strong_title(extractor, case):
    lang, title, text = case
    got = run(extractor, lang, "2025-05-02", title, text + TAIL[lang])
    assert got.enforcement_change and got.practices == ("fake_engagement",)
    assert got.actions == ("prohibition", "account_suspension")


@pytest.mark.parametrize("case", BACKGROUND_BESIDE_CORE, ids=[c[0] for c in BACKGROUND_BESIDE_CORE])
def test_background_steps_beside_the_core_sentence_add_nothing(extractor, case):
    lang, title, text = case[0][:2], case[1], case[2]
    got = run(extractor, lang, "2025-05-02", title, text + TAIL[lang])
    assert got.enforcement_change and got.actions == ("prohibition",)


def test_a_change_takes_at_most_three_steps(extractor):
    got = run(
        extractor,
        "en",
        "2025-04-03",
        "YouTube bans crypto scam ads",
        "YouTube will no longer allow ads for crypto scams from May. Offending ads will be "
        "removed, repeat offenders' channels suspended and demonetized, the worst sued, and "
        "their reach limited while a review runs. Their apps will be pulled from the store.",
    )
    assert got.enforcement_change and 1 <= len(got.actions) <= 3
    assert "prohibition" in got.actions


def test_extensions_removed_from_an_add_on_store_are_app_removals(extractor):
    got = run(
        extractor,
        "de",
        "2025-05-05",
        "Mozilla wirft Scraping-Erweiterungen aus Firefox Add-ons",
        "Seit dem 3. Mai entfernt Mozilla Erweiterungen aus Firefox Add-ons, die Seiteninhalte "
        "automatisiert auslesen und an fremde Server schicken.",
    )
    assert got.enforcement_change and "app_removal" in got.actions
    assert "content_removal" not in got.actions


@pytest.mark.parametrize("amount", ["€290m", "£5m", "$1.2bn", "290 million euro"])
def test_a_fine_with_its_amount_is_a_fine(extractor, amount):
    got = run(
        extractor,
        "en",
        "2024-08-26",
        f"Dutch watchdog slaps {amount} fine on Uber over driver data",
        f"The Dutch data protection authority has imposed a {amount} fine on Uber for sending "
        "European drivers' personal data to servers in the US without adequate safeguards.",
    )
    assert got.enforcement_change and "fine" in got.actions
