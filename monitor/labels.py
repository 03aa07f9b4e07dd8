"""The label set of ../shared/corpus/LABELS.md: the ids a practice or an enforcement step can
have. Configuration checks its filters against them; the extraction and its data use them."""

PRACTICE_IDS = (
    *("bulk_messaging", "automated_messaging", "non_personal_use", "political_ads"),
    *("crypto_ads", "gambling_ads", "scraping", "third_party_clients", "fake_accounts"),
    *("account_sharing", "hate_speech", "misinformation", "synthetic_media", "fake_engagement"),
    *("adult_content", "predatory_lending", "external_payments", "ad_blocking", "minor_safety"),
    *("weapons", "counterfeits", "cross_platform_links", "data_sharing"),
)
ACTION_IDS = (
    *("legal_action", "account_suspension", "content_removal", "prohibition", "restriction"),
    *("app_removal", "demonetization", "fine"),
)
