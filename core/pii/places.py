"""Place names that are also given names or surnames ("Victoria", "Florence", "Sydney", "Jackson", "Lyon").

`drop_places` removes a one-word PERSON result joined by "&" to the same word or a company word (a firm:
"Johnson & Johnson", "Smith & Sons"), and one that is a listed place when the words before it say "place": a
preposition of place ("in", "to", "from", "near", "ship to") directly or through a list ("to Victoria, Florence
and Sydney"), or, for a place that is no listed given name ("Lyon", "Madrid"), anything but a greeting, a title or
a sign-off. "Hi Victoria", "ask Florence", "Victoria said" stay names.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

from core.pii.first_names import NOT_PEOPLE_NAMES, without_possessive

PLACES = frozenset("""
aberdeen abuja accra adelaide alexandria algiers almaty amsterdam anchorage ankara antwerp arizona arlington
athens atlanta auckland augusta austin baltimore bangalore bangkok barcelona basel beijing beirut belfast belgrade
bengaluru berlin bern birmingham bogota bologna bordeaux boston bradford bratislava brazil brighton brisbane bristol
brooklyn brussels bucharest budapest buffalo cairo calgary cambridge canberra cardiff carolina charleston charlotte
chelsea chennai chester chicago cincinnati cleveland cologne columbus copenhagen cork coventry dakota dallas
damascus darwin delaware delhi denver derby detroit devon doha dresden dubai dublin durban durham edinburgh
eindhoven essex eugene exeter florence florida frankfurt galway geneva genoa georgia ghent glasgow granada
hamburg hamilton hanoi hanover havana helena helsinki hobart houston hyderabad indiana istanbul jackson
jakarta jersey johannesburg jordan kent kentucky kiev kingston kolkata krakow kyiv lagos leeds leicester leipzig
lille lima lincoln lisbon liverpool ljubljana london lyon madison madrid malaga manchester manila marseille
maryland melbourne memphis miami milan milano minsk montana montgomery montreal moscow mumbai munich nairobi
nantes naples nashville nevada newcastle nice norfolk nottingham oakland odessa orlando osaka oslo ottawa oxford
palermo paris perth philadelphia phoenix pittsburgh plymouth porto portland prague pune quebec raleigh regina
richmond riga rio riyadh rochester roma rome rotterdam salem salzburg savannah seattle seoul seville shanghai
sheffield singapore sofia stockholm strasbourg stuttgart surrey sussex sydney taipei tallinn tampa tel texas tokyo
toronto toulouse trenton tripoli tulsa turin utrecht valencia vancouver venice verona victoria vienna vilnius
virginia warsaw washington wellington winnipeg york zagreb zurich
""".split())

_PREP = re.compile(r"(?:\b(?:in|at|near|via|into|around|across|outside|inside|throughout|"
                   r"(?:ships?|shipped|shipping|deliver(?:s|ed|ing|y)?|fly(?:ing)?|flights?|travel(?:l?ed|l?ing|s)?|mov(?:e|es|ed|ing)|"
                   r"relocat(?:e|ed|ing)|driv(?:e|ing))\s+to|"
                   r"based\s+in|located\s+in)|"
                   r"\b(?:offices?|stores?|branch(?:es)?|warehouses?|sites?|cities|city|locations?)\s+(?:in|at)?)\s*\Z",
                   re.IGNORECASE)
_LIST_ITEM = re.compile(r"(?:[A-Z][\w'’.-]*\s+){0,2}[A-Z][\w'’.-]*\s*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)\Z")
_CUE = re.compile(r"\b(?:hi|hello|hey|dear|thanks|thank you|cheers|regards|mr|mrs|ms|dr|prof)[\s,.!:]*\Z",
                  re.IGNORECASE)


def _place_context(before: str) -> bool:
    """The text before a word ends with a preposition of place, directly or through a list of capitalised words."""
    for _ in range(6):
        if _PREP.search(before):
            return True
        item = _LIST_ITEM.search(before)
        if not item:
            return False
        before = before[:item.start()]
    return False


_AMP_AFTER = re.compile(r"[ \t]*&[ \t]*([A-Z][\w'’]*)")
_AMP_BEFORE = re.compile(r"([A-Z][\w'’]*)[ \t]*&[ \t]*\Z")
_FIRM = frozenset({"co", "co.", "sons", "son", "partners", "associates", "company", "friends", "family"})


def _firm(text: str, r: RecognizerResult, given: object) -> bool:
    """A one-word name joined by & to the same word, a company word or a non-name: a firm ("Johnson & Johnson",
    "Procter & Gamble", "Smith & Sons"); "Anna & Mark" are people."""
    after = _AMP_AFTER.match(text, r.end)
    before = _AMP_BEFORE.search(text[max(0, r.start - 40):r.start])
    other = after.group(1) if after else before.group(1) if before else None
    if other is None:
        return False
    word = text[r.start:r.end]
    return (other.lower() == word.lower() or other.lower() in _FIRM
            or not (given(word) and given(other)))  # type: ignore[operator]


_NEXT = re.compile(r"[ \t]+&?[ \t]*([A-Z][\w'’]*)")
_PREV = re.compile(r"([A-Z][\w'’]*)[ \t]+&?[ \t]*\Z")


def _brand_half(text: str, r: RecognizerResult) -> bool:
    """Half of a brand named after a person: "Johnnie" of "Johnnie Walker", "Nichols" of "Harvey Nichols"."""
    word = _bare(text[r.start:r.end])
    nxt, prev = _NEXT.match(text, r.end), _PREV.search(text[max(0, r.start - 40):r.start])
    return bool((nxt and f"{word} {_bare(nxt.group(1))}" in NOT_PEOPLE_NAMES)
                or (prev and f"{_bare(prev.group(1))} {word}" in NOT_PEOPLE_NAMES))


def _bare(word: str) -> str:
    return without_possessive(word.lower())


def drop_places(text: str, results: list[RecognizerResult], given: object) -> list[RecognizerResult]:
    """`results` without one-word PERSON spans that are places here; `given(word)` says a word is a given name."""
    out = []
    for r in results:
        word = text[r.start:r.end]
        if r.entity_type == "PERSON" and " " not in word and (("&" in text and _firm(text, r, given))
                                                               or _brand_half(text, r)):
            continue
        if r.entity_type == "PERSON" and word.lower() in PLACES and " " not in word:
            before = text[max(0, r.start - 80):r.start]
            if text.startswith(("'s", "’s"), r.end):  # "in Victoria's team": a person's
                out.append(r)
                continue
            if _place_context(before):
                continue
            if not given(word.capitalize()) and not _CUE.search(before):
                continue
        out.append(r)
    return out


_RU_CITY_NAMES = """
москва мск спб с-пб питер санкт-петербург петербург екб екатеринбург нск новосибирск самара казань нижний челябинск
омск ростов ростов-на-дону уфа красноярск пермь воронеж волгоград краснодар саратов тюмень тольятти ижевск барнаул
иркутск хабаровск владивосток ярославль томск оренбург кемерово рязань пенза липецк тула калининград сочи мурманск
архангельск тверь курск брянск иваново белгород смоленск калуга чебоксары севастополь симферополь минск киев алматы
подольск химки балашиха мытищи королёв королев зеленоград люберцы красногорск одинцово
""".split()


def _city_forms(name: str) -> set[str]:
    """A city and its case forms as a message writes them («москве», «питере», «казани», «омске»)."""
    if name in ("мск", "спб", "с-пб", "екб", "нск", "нижний") or name[-1] in "иоу":
        return {name}
    if name[-1] == "а":
        return {name} | {name[:-1] + e for e in "еуы"}
    if name[-1] == "ь":
        return {name, name[:-1] + "и"}
    return {name, name + "е", name + "а", name + "у"}


# Russian cities as chat writes them (lower case, short forms: «спб», «мск», «екб», «питер»), in Cyrillic and in
# Latin letters. In an address they stand where «г. Самара» would; alone they are no address (core/pii/addresses.py).
# «нижний» counts only before «новгород».
RU_CITY_WORDS = frozenset(f for name in _RU_CITY_NAMES for f in _city_forms(name))
RU_CITIES_LATIN = (r"(?:moscow|moskva|msk|spb|st\.?\s?petersburg|saint[\s-]petersburg|sankt[\s-]peterburg|piter|"
                   r"samara|kazan|novosibirsk|yekaterinburg|ekaterinburg|ekb|nizhny\snovgorod|nizhniy\snovgorod|"
                   r"chelyabinsk|omsk|rostov-on-don|rostov-na-donu|krasnoyarsk|voronezh|volgograd|krasnodar|saratov|"
                   r"tyumen|tolyatti|togliatti|izhevsk|barnaul|irkutsk|khabarovsk|vladivostok|yaroslavl|tomsk|"
                   r"kaliningrad|sochi|murmansk|tver|minsk|kiev|kyiv|almaty)")
# Countries that close an address ("..., 75002 Paris, France", "London NW1 6XE, UK", «..., Россия»)
COUNTRIES = (r"(?:USA|U\.S\.A\.|U\.S\.|United\sStates(?:\sof\sAmerica)?|UK|U\.K\.|United\sKingdom|Great\sBritain|"
             r"England|Scotland|Wales|Northern\sIreland|Ireland|Canada|Australia|New\sZealand|Germany|Deutschland|"
             r"France|Belgium|Belgique|Belgi[eë]|(?:the\s)?Netherlands|Nederland|Switzerland|Schweiz|Suisse|Austria|"
             r"Österreich|Italy|Italia|Spain|España|Portugal|Poland|Polska|Russia|Czech\sRepublic|Czechia|Denmark|"
             r"Sweden|Norway|Finland|India|Mexico|Brazil|Brasil)")
