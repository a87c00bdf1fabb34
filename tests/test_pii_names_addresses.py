"""English names and European addresses as a user writes them (branch pii5): what reaches the model masked,
and what must stay readable (products, model numbers, brands)."""

from __future__ import annotations

import pytest

from core.pii.masker import Masker
from core.pii.options import BotPiiOptions

OPTIONS = BotPiiOptions(languages=("en", "ru"))


def spans(masker: Masker, text: str, entity: str) -> list[str]:
    _, results = masker.analyze_sync(text, OPTIONS)
    return sorted(text[r.start:r.end] for r in results if r.entity_type == entity)


@pytest.mark.parametrize("text, address", [
    ("Mariahilfer Straße 45/3/12, 1060 Wien", "Mariahilfer Straße 45/3/12, 1060 Wien"),
    ("my flat: Keizersgracht 123-II, 1015 CJ Amsterdam", "Keizersgracht 123-II, 1015 CJ Amsterdam"),
    ("Lieferadresse: Unter den Linden 77, 10117 Berlin", "Unter den Linden 77, 10117 Berlin"),
    ("deliver to 3000 El Camino Real, Palo Alto, CA 94306", "3000 El Camino Real, Palo Alto, CA 94306"),
    ("bâtiment B, 3 allée des Tilleuls, 69003 Lyon", "bâtiment B, 3 allée des Tilleuls, 69003 Lyon"),
    ("Calle de Alcalá 42, 3º izq, 28014 Madrid", "Calle de Alcalá 42, 3º izq, 28014 Madrid"),
    ("Via Roma 10, 00184 Roma RM", "Via Roma 10, 00184 Roma RM"),
    ("Damrak 1, 1012 LG Amsterdam", "Damrak 1, 1012 LG Amsterdam"),
    ("Vinohradská 12, 120 00 Praha 2", "Vinohradská 12, 120 00 Praha 2"),
    ("ul. Marszałkowska 10/12, 00-590 Warszawa", "ul. Marszałkowska 10/12, 00-590 Warszawa"),
    ("unit 7/22 Smith Street, Fitzroy VIC 3065", "unit 7/22 Smith Street, Fitzroy VIC 3065"),
    ("Flat 4/2, 18 Byres Road, Glasgow G11 5JY", "Flat 4/2, 18 Byres Road, Glasgow G11 5JY"),
    ("Avenida Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200",
     "Avenida Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200"),
    ("send it to 1200 lakeshore dr apt 5, chicago il 60610", "1200 lakeshore dr apt 5, chicago il 60610"),
    ("Mannerheimintie 12 B 34, 00100 Helsinki", "Mannerheimintie 12 B 34, 00100 Helsinki"),
])
def test_european_and_us_addresses_are_one_span(masker, text, address):
    assert spans(masker, text, "STREET_ADDRESS") == [address]


@pytest.mark.parametrize("text", [
    "Windows 10, 19045 Build is installed on 40 laptops",
    "Top 10, 2024 Report is attached",
    "ticket 4417 from Room 12, Floor 3 is about the printer",
])
def test_numbered_things_are_not_addresses(masker, text):
    assert spans(masker, text, "STREET_ADDRESS") == []


@pytest.mark.parametrize("text, name", [
    ("the technician bjorn said the router is fine", "bjorn"),
    ("my manager priya needs the Q4 report", "priya"),
    ("from Oluwaseun: the VPN keeps dropping", "Oluwaseun"),
    ("Ngozi's account was charged twice", "Ngozi"),
    ("the laptop for Zeynep Yılmaz arrived broken", "Zeynep Yılmaz"),
    ("Kenji's phone was wiped", "Kenji"),
    ("Hi team, Arash here, the build is red", "Arash"),
    ("the package for Yevhen is at reception", "Yevhen"),
    ("Takuma from Osaka needs a VPN account", "Takuma"),
    ("Hope this helps, Grace", "Grace"),
])
def test_names_in_running_text_are_masked(masker, text, name):
    assert name in spans(masker, text, "PERSON")


@pytest.mark.parametrize("text", [
    "Azure DevOps and Google Meet are both down",
    "Street Fighter 6 keeps crashing on my console",
    "livraison au bureau demain",
    "the agent will call back, my manager said so",
    "Globex Corporation and Wayne Enterprises renewed; Zoho Desk and Power Automate need updates",
    "Happy New Year! Christmas Eve shipping ends soon, the Summer Sale too",
    "Support here, the Today's order page and Microsoft's account portal are down",
])
def test_products_and_plain_words_stay_readable(masker, text):
    assert spans(masker, text, "PERSON") == []
