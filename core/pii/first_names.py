"""Given names (a gazetteer) and the product and company names that are never a person.

`first_names.txt` holds ~16,200 Latin-script given names of many countries, taken from Faker's person
providers (MIT; regenerate with `python -m core.pii.data.make_first_names`), and `more_first_names.txt` ~200 written
by hand for the countries Faker covers thinly ("Chidi", "Gurpreet", "Kees", "Iñigo"); an accented name counts as
its unaccented form ("Siobhán"). A capitalised word from the list starts a name ("Aoife", "Kwame Mensah", "Priya
Raghunathan") unless it is also a common English word ("Will", "May", "Grace", "Bill"): those count only with a
capitalised surname after them ("Will Turner").
`NOT_PEOPLE`: brands, products and services that people mention in support chats and that the small spaCy
model tags as persons ("Jira", "Grafana", "Kubernetes").
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

# Given names that are also English words, months or days: a name only with a surname after them.
COMMON_WORDS = frozenset("""
abbey accept dutch english french german irish roman welsh
admiral advice ali alpha amber angel angle apple april art ash asia august autumn avery baby bailey
bane banks baker bay beau bell belle berry best bill birch bishop blair blaze blessing bliss blue bo bond
booker brand brandy brook brooke brown bud buddy burns butler cam can candy cannon carter case cash chance
chase cherry china city clay cliff coal cole cook cooper copper coral cotton crystal dale dash
dawn day dean del dell delta destiny diamond dixie dolly don dot dove drew duke dusty earl easter ebony echo
eden ember emerald ever faith fall fame fancy favour favor fern fisher fleming flint flora ford forest fortune
fox frank free friday gale garnet gay gem gene gift ginger glad glen glory golden grace grant gray green grey
guy hale hall happy harbor harmony harper haven hazel heart heath heather herb hill holly honey honor hope
hunter india iris ivory ivy jack january jade jay jewel joy judge july june justice kale king kit
knight lace lake lane lark laurel lavender law lee legend lemon liberty light lily lincoln link lord love
lucky mac major march marina mark marsh marshall mason may meadow melody mercy merit miles mint
misty monday money moon morgan moss music mustard navy nelson noble north november oak ocean october
olive onyx page palmer paris park parker patience peace pearl penny pepper phoenix pierce pine
piper pixie poppy porter precious prince princess queen rain rainbow ray reed rich river robin rock
rocky rose rosemary royal ruby rush rusty sage saint sandy santa saturday savannah scout september shade
sharp shelby sierra silver sky skye snow sol sorrow spring star sterling stone storm strong summer
sunday sunny sunshine swift tailor tanner taylor temple tiger thursday trinity tuesday tucker tyler unity
urban van vice violet virgo wade walker ward warren wednesday wells west white will willow winter wolf wood
woody wren young york zen
""".split())

NOT_PEOPLE = frozenset("""
amazon android apple asana atlassian aws azure bitbucket bose canon chrome chromebook confluence
copilot cortana datadog dell docker dropbox edge excel facebook figma firefox gemini github gitlab gmail
google grafana hubspot icloud instagram intellij ios ipad iphone jenkins jira kafka kibana kubernetes lenovo
linkedin linux macbook mailchimp notion nginx okta oracle outlook paypal postgres powerpoint prometheus python
quickbooks redis safari salesforce samsung sap sentry shopify skype slack snowflake sony spotify stripe
teams telegram terraform tesla trello twilio twitter ubuntu uber vercel visa vpn whatsapp windows word
workday xero youtube zendesk zoom onedrive sharepoint office365 airtable clickup netsuite magento wordpress
squarespace godaddy cloudflare heroku mongodb mysql elasticsearch splunk pagerduty servicenow freshdesk intercom
pipedrive zapier canva miro webex citrix vmware cisco fortinet meraki netgear huawei xiaomi oneplus thinkpad
xbox playstation nintendo netflix revolut monzo venmo klarna fedex dhl usps tesco walmart costco ikea ebay etsy
aliexpress airbnb expedia lyft deliveroo doordash instacart marriott hilton hyatt bonvoy sheraton
microsoft adobe ibm intel nvidia amd asus acer logitech garmin fitbit philips bosch siemens nokia
motorola toyota bmw audi volkswagen acrobat photoshop illustrator autocad tableau looker bamboohr gusto
""".split())


# Companies and brands named after people: never a person here.
NOT_PEOPLE_NAMES = frozenset({
    "morgan stanley", "goldman sachs", "wells fargo", "charles schwab", "dow jones", "john lewis",
    "marks spencer", "johnson johnson", "calvin klein", "ralph lauren", "hugo boss", "louis vuitton",
    "tommy hilfiger", "ben jerry", "jack daniels", "estee lauder", "harley davidson", "rolls royce",
    "mercedes benz", "aston martin", "dolce gabbana", "tim hortons", "ted baker", "william hill",
    "harvey nichols", "johnnie walker", "jack daniel", "kate spade", "michael kors", "tory burch", "vera wang",
    "giorgio armani", "paul smith", "ben sherman", "fred perry", "stella mccartney", "jimmy choo", "marc jacobs",
    "tom ford", "levi strauss", "john deere", "walt disney", "christian dior", "jo malone", "laura ashley",
    "ann taylor", "steve madden", "kenneth cole", "alexander mcqueen", "dorothy perkins", "mary kay", "tommy bahama",
    "charles tyrwhitt", "ray ban", "hilton garden", "jack wolfskin", "karl lagerfeld", "papa john", "ernst young",
})
# A last word that makes a run of capitalised words a company, a product or an event, not a person
# ("Globex Corporation", "Zoho Desk", "Power Automate", "Summer Sale"). No common surnames here (Day, Hall, Park).
NOT_PEOPLE_TAILS = frozenset("""corp corporation inc ltd llc plc gmbh ag sa bv nv enterprises industries group holdings
systems solutions technologies technology labs logistics traders trading partners consulting insurance airlines
airways motors foods pharma pharmaceuticals media studios ventures capital services software networks
telecom energy electric bank university college institute foundation council ministry agency
desk hub cloud drive automate pro plus suite online connect pay mail docs sheets slides forms meet chat
workspace server portal dashboard app apps assistant pipeline builder analytics ads sale sales offer deal
conference summit webinar edition premium ultra lite mini series server studio hospital clinic school church hotel
museum library airport station centre center floor room roadmap report features
lead head director officer analyst engineer coordinator specialist supervisor administrator consultant developer
designer executive representative intern manager master owner success service admin financial finance
associate advisor adviser architect accountant auditor recruiter planner strategist technician operator controller
tea coffee latte oil soap candle candles mug mugs tote totes wallet hoodie jacket shirt bag backpack lamp zoo mall
cafe restaurant inn boots shoes sneakers""".split())
# A given name that is also a word is no person before these ("Rose Gold", "Ruby Red", "Olive Green").
COLOUR_TAILS = frozenset("gold silver bronze platinum pink red blue green black white grey gray quartz".split())
# A given name after these is part of a place ("South Emily", "Port Elizabeth", "Lake Louise").
PLACE_PREFIXES = frozenset({"north", "south", "east", "west", "port", "lake", "mount", "mt", "new", "fort",
                            "saint", "st", "san", "santa", "los", "las", "el", "cape", "glen", "point",
                            "christmas"})  # and a day: "Christmas Eve"


def word_list(name: str) -> frozenset[str]:
  """One word per line of core/pii/data/`name` (the gazetteers, rebuilt by the make_*.py scripts beside them; lines
  starting with # are comments)."""
  path = Path(__file__).with_name("data") / name
  return frozenset(w for line in path.read_text(encoding="utf-8").splitlines() if (w := line.strip())
                   and not w.startswith("#"))


@cache
def first_names() -> frozenset[str]:
  return word_list("first_names.txt") | word_list("more_first_names.txt")


def unaccented(word: str) -> str:
  """ "Siobhán" -> "Siobhan", "Iñigo" -> "Inigo": the letters without their accents."""
  return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@cache
def english_words() -> frozenset[str]:
  """Common English words (lower case) that no gazetteer lists as a given name or surname (make_english_words)."""
  return word_list("english_words.txt")


def without_possessive(word: str) -> str:
  """ "Ngozi's" -> "Ngozi" (straight or curly apostrophe)."""
  return word.removesuffix("'s").removesuffix("’s")


def is_given_name(word: str) -> bool:
  """A capitalised given name from the list (not one that is a common word)."""
  names = first_names()
  return (word in names or (not word.isascii() and unaccented(word) in names)) \
      and word.lower() not in COMMON_WORDS and word.lower() not in NOT_PEOPLE


def is_ambiguous_given_name(word: str) -> bool:
  """A given name that is also a common word: a name only with a surname after it."""
  return word in first_names() and word.lower() in COMMON_WORDS


def given_name_start(words: list[str]) -> int | None:
    """Index of the word that starts a person's name in a run of capitalised words, if any.

    A listed given name starts one; a given name that is a common word only with a capitalised word after it.
    """
    words = [w.title() if w.isupper() else w for w in words]  # "KWAME MENSAH" in a message written in capitals
    for i, word in enumerate(words):
        if word.lower().strip(".") in PLACE_PREFIXES:
            return None
        if i + 1 < len(words) and f"{word} {words[i + 1]}".lower().replace("&", "").strip(",") in NOT_PEOPLE_NAMES:
            return None
        word = without_possessive(word)  # "Ngozi's account"
        first = word.split("-")[0] if "-" in word else word
        if is_given_name(word) or is_given_name(first):
            return i
        if i + 1 < len(words) and is_ambiguous_given_name(word) and words[i + 1][:1].isupper() \
                and words[i + 1].lower() not in NOT_PEOPLE and len(words[i + 1]) > 2:
            return i
    return None
