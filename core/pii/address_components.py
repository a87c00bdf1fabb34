"""The components an address is chained from (core/pii/addresses.py): per script, a kind and a regex.

"street" and "unit" make a chain an address; "place" (city, region, postcode), "name" and "number" only extend
one.
"""

from __future__ import annotations

import re

from core.pii.names_latin import latin
from core.pii.places import COUNTRIES, RU_CITIES_LATIN

RU_UP = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*"
_RU_ANY = r"[А-ЯЁа-яё][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*"
# A street name in chat without its type: an adjective («тверская», «невский») or a name in the genitive («ленина»,
# «баумана», «малышева»); not a common word with the same ending («итого», «новый», «другой»)
RU_STREET = (r"(?<![А-ЯЁа-яё\-])(?!(?i:итого|всего|много|ничего|одного|нового|такой|какой|другой|новый|новая|новое|"
              r"большой|первый|второй|третий|каждый|каждой|следующий|этой|своей|моей|нашей|вашей|этого|того|"
              r"сегодня|доставка|ещё|еще)(?![а-яё]))"
              r"[А-ЯЁа-яё][а-яё]+(?![А-ЯЁа-яё\-])(?:(?<=ая|яя|ий|ый|ой|ое|ее|ей)|(?<=[иы]на|[оеё]ва|[аяе]на|йна|кса|ого|его))")
# A number followed by what it counts is no house number («москва 15 новых клиентов»)
NOT_COUNTED = r"(?!\s(?i:заказ|клиент|сотрудник|нов|товар|позици|единиц|мест|смен|дн|недел|месяц|шт|раз|час|км))"
RU_TYPE = (r"(?:ул(?:ица|ице|ицу|ицы|ицей)?|пр-т|пр-кт|просп(?:ект|екте|екта|ектом)?|пр|"
            r"пер(?:еулок|еулке|еулка)?|ш(?:оссе)?|наб(?:ережная|ережной|ережную)?|б-р|бульв(?:ар|аре|ара)?|"
            r"пл(?:ощадь|ощади)?|мкр(?:-н)?|микрорайон(?:е|а)?|проезд(?:е|а)?|туп(?:ик|ике)?|алле[яеи]|лини[яи]|кв-л|"
            r"квартал(?:е|а)?|тракт(?:е|а)?)")
# A number followed by a unit of measure or time is a quantity, not a house number: «54 кв. м», «дом 2 года»,
# «к 10 утра», «5 этажей».
_QTY = (r"(?!\d|\s?(?:кв\.?\s?м|м2|м²|метр\w*|км|кг|руб\w*|р\.|₽|%|лет|года?|раз\w*|минут\w*|час\w*|утра|вечера|"
        r"дня|ночи|шт|штук\w*|этаж(?:а|ей)|комнат\w*|человек\w*|чел)(?![А-ЯЁа-яё]))")
# A house number: "12", "12а", "14/2", "45/3/12" (Vienna: house/stair/flat), "123-II" and "27 hs" (Dutch floors),
# "12 bis"; not a quantity ("2 x 12")...
HOUSE_NUMBER = (r"\d{1,4}[А-ЯЁа-яёA-Za-z]?(?:(?:\s?(?:к|корп\.?|стр\.?)|с)\d{1,2}(?!\d))?"  # «101к2», «31с1», «12 к2»
        r"(?:\s?[/\-]\s?\d{1,4}[А-ЯЁа-яёA-Za-z]?){0,2}(?:(?<=\d)с\d{1,2}(?!\d))?(?:-(?:I{1,3}|IV|hs|H)|\s(?:hs|bis|ter))?"
        r"(?:\s[A-H]\s\d{1,3}(?![\d]|[.,:]\d))?(?![\dА-ЯЁа-яёA-Za-z]|\s?[x×]\s)"  # "12 B 34": Finnish stair + flat
        + _QTY)
_EN_TYPE = (r"(?:Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
            r"Square|Sq|Parkway|Pkwy|Highway|Hwy|Crescent|Cres|Close|Gardens|Gdns|Row|Walk|Hill|Circle|Cir|Trail|"
            r"Mews|Grove|Park|Broadway|Plaza|Esplanade|Quay|Wharf|Embankment|Rise|Vale|View|Green|Heights|Hts|Alley|"
            r"Loop|Pike|Turnpike|Tpke|Promenade|Parade|Pde|Causeway|Circus|Yard|Wynd|Gate|Fields|Meadows|Common|Cove|"
            r"Bend|Crossing|Ridge|Path|Expressway|Expy|Freeway|Fwy|Strand|Approach)")
_EU_SUFFIX = (r"(?:straße|strasse|str\.|allee|weg|platz|gasse|damm|ufer|chaussee|gracht|laan|straat|kade|"
              r"plein|dijk|steeg|singel|markt|vej|vejen|gade|gaden|gatan|vägen|veien|gata|katu|tie|kuja|polku)")
_EU_SUFFIX_LOWER = r"(?:straße|strasse|str\.|allee|platz|gasse|gracht|straat|singel|laan|dijk|plein|steeg)"
_ROMANCE = (r"(?:rue|avenue|av\.|bd|boulevard|place|allée|chemin|chaussée|impasse|quai|route|cours|calle|c/|"
            r"avda\.?|avenida|paseo|plaza|via|viale|piazza|corso|rua|carrer|travessa|ul\.|ulica|aleja)")
_LAT_LOW = latin(r"[a-zà-ÿ][a-zà-ÿ'’]+")
_LAT_UP = latin(r"[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þa-zà-ÿ][a-zà-ÿ'’]+)*")  # also "Marszałkowska", "Vinohradská"
_PARTICLE = r"(?:de|du|des|la|le|l'|del|della|di|da|van|von|der|den|het|'t|St\.?|Saint|San|Santa)"

_US_STATES = (r"(?:al|ak|az|ar|ca|co|ct|de|fl|ga|hi|id|il|in|ia|ks|ky|la|me|md|ma|mi|mn|ms|mo|mt|ne|nv|nh|nj|nm|ny|"
              r"nc|nd|oh|ok|or|pa|ri|sc|sd|tn|tx|ut|vt|va|wa|wv|wi|wy|dc)")

# Words before a number that are no street ("Windows 10, 19045 Build") and after a number that are no city.
_NOT_STREET = (r"(?i:windows|office|version|model|build|release|section|page|chapter|room|floor|invoice|order|ticket|"
               r"sku|asset|item|step|level|phase|part|unit|top|iphone|pixel|galaxy|macos|ios|android|series|gen)")
_NOT_CITY = r"(?i:build|units?|items?|pcs|reports?|edition|version|users?|orders?|tickets?|seats?|licen[cs]es?)"
# (kind, script, regex): "street" and "unit" make a chain an address; "place" (city, region, postcode) and "number"
# only extend one. A "cyrillic" component is skipped for a message without Cyrillic letters, a "latin" one for a
# message without Latin letters; "any" (digits only: 6-digit postcodes, house numbers) always runs.
COMPONENTS: list[tuple[str, str, re.Pattern[str]]] = [(k, script, re.compile(p)) for k, script, p in (
    # Russian
    ("street", "cyrillic", rf"(?<![А-ЯЁа-яё])(?i:{RU_TYPE})(?:\.\s?|\s)"
               rf"(?:\d{{1,3}}(?:-?(?:я|й|го|е))?\s(?:лет\s)?(?=[А-ЯЁ]))?{_RU_ANY}"
               rf"(?:\s{RU_UP}){{0,2}}(?:(?:\s{_RU_ANY}){{0,2}}?(?:,?\s|,)(?:(?i:д|дом)\.?\s?)?{HOUSE_NUMBER}|"
               rf"(?:\s{_RU_ANY}){{0,2}}?)(?![\w])"),
    ("street", "cyrillic", rf"(?:{RU_UP}|\d{{1,2}}-?(?:я|й|го))(?:\s{RU_UP})?\s(?i:проспект[еа]?|пр-т|пр-кт|"
               rf"пр\.|просп\.|шоссе|ш\.|"
               rf"набережн(?:ая|ой|ую)|наб\.|бульвар[еа]?|б-р|переул(?:ок|ке)|пер\.|проезд[еа]?|улиц[аеуы]|ул\.|площад[ьи]|"
               rf"лини[яи]|тракт[еа]?)(?:,?\s(?:(?i:д|дом)\.?\s?)?{HOUSE_NUMBER})?"),
    # lower-case chat, an adjective before its type, with the house number: «ленинский пр-т 45», «тверская ул 7»
    ("street", "cyrillic",
     rf"(?<![А-ЯЁа-яё])[а-яё]{{3,}}(?:ий|ый|ой|ая|ое|ого|ом|ей)\s(?:пр-т|пр-кт|проспект[еа]?|просп\.|"
               rf"шоссе|ш\.|"
               rf"бульвар[еа]?|б-р|переул(?:ок|ке)|пер\.|проезд[еа]?|наб\.|набережн(?:ая|ой)|улиц[аеы]|ул\.?|пл\.)"
               rf",?\s(?:(?:д|дом)\.?\s?)?{HOUSE_NUMBER}"),
    ("unit", "cyrillic",
     r"(?<![А-ЯЁа-яё])(?i:д|дом|доме|кв|квартир[аеуы]|корп|корпус[еа]?|стр|строени[еия]|оф|офис[еа]?|помещение|"
             r"пом|лит|литера|подъезд[еа]?|под|этаж[еа]?|эт|уч|участ(?:ок|ке|ка))"
             r"\.?\s?(?:№\s?)?\d{1,4}[А-ЯЁа-яёA-Za-z]?(?:[/\-]\d{1,4})?(?![\w])" + _QTY),
    ("unit", "cyrillic", r"(?<![\w])к\.?\s?\d{1,2}(?![\d.,]\d|\d)" + _QTY
             + r"|(?<![\w])(?i:лит|литера)\.?\s?[А-ЯЁA-Z](?![\w])"),  # «лит. А»
    ("place", "cyrillic",
     rf"(?<![А-ЯЁа-яё])(?:(?i:г|гор|пос|п|с|дер|д|пгт|рп|ст)\.\s?|(?i:г|город|пос[её]лок|село|деревня|"
              rf"дер|пгт|рп|станица|хутор)\s){RU_UP}(?:[\s-]{RU_UP})?|(?<![А-ЯЁа-яё])(?:г|пос|с|д)\.\s?[а-яё]{{3,}}"),
    ("place", "cyrillic", rf"{RU_UP}\s(?i:обл(?:асть)?|край|р-н|район|респ(?:ублика)?|АО)\.?|"
              rf"(?<![А-ЯЁа-яё])(?:(?i:респ|обл|р-н)\.?\s?|(?i:район|область|республика)\s){RU_UP}|"
              r"(?<![А-ЯЁа-яё])(?:МО|ЛО)(?![А-ЯЁа-яё])"),  # Московская / Ленинградская область
    ("place", "any", r"(?<![\d\-])[1-9]\d{5}(?![\d\-])"),
    # garden and cottage partnerships: «СНТ «Ромашка»», «ДНТ Лесное» (their plots are units: «уч. 45»)
    ("place", "cyrillic", rf"(?<![А-ЯЁа-яё])(?:СНТСН|СНТ|ДНТ|ТСН|ДПК)\s?[«\"“]?{RU_UP}(?:[\s-]{RU_UP})?[»\"”]?"),
    ("name", "cyrillic", rf"{RU_UP}(?:[\s-]{RU_UP})?(?:\s{HOUSE_NUMBER}(?![\d.,:]\d))?"),
    # English / European
    ("street", "latin", rf"(?:(?i:unit|flat|apt)\.?\s?)?(?:\d{{1,4}}/)?\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?,?\s"
               rf"(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s)?"
               rf"(?:(?:{_LAT_UP}|[A-Z]\.?|Jr\.?|\d{{1,3}}(?:st|nd|rd|th))\s){{1,4}}{_EN_TYPE}\b\.?"
               r"(?:\s(?:NW|NE|SW|SE|N|S|E|W)\b)?"),
    # lower-case chat: "12 high street", "4 mill lane"
    ("street", "latin",
     r"(?<![\d.,])\d{1,5}[a-z]?\s(?:(?:[a-z]{2,}|\d{1,3}(?:st|nd|rd|th))\s){1,3}(?:street|road|avenue|lane|drive|close|crescent|"
               r"terrace|boulevard|way|place|court|gardens|square)\b"),
    # and abbreviated, only before a unit or "city st 12345": "1200 lakeshore dr apt 5, chicago il 60610"
    ("street", "latin",
     rf"(?<![\d.,])\d{{1,5}}[a-z]?\s(?:[nsew]\.?\s)?(?:(?:[a-z]{{2,}}|\d{{1,3}}(?:st|nd|rd|th))\s){{1,2}}(?:st|rd|ave|ln|dr|blvd|ct|pl|ter|pkwy|hwy)"
               rf"\b\.?(?=\s(?:apt|unit|suite|ste|#)|,?\s(?:[a-z]{{3,}},?\s){{1,2}}{_US_STATES}\s\d{{5}})"),
    ("unit", "latin", r"\b(?i:p\.?\s?o\.?\s?box|post office box)\s?\d{1,6}\b"),
    # "boston ma" after a flat: a lower-case city and state without its ZIP (only extends an address; not the states
    # that are English words: in, or, me, oh, hi, ok, id, de, al, co, la, pa)
    ("place", "latin", r"(?<![\w.])(?!(?:and|the|then|for|but|not|you|with|from|now|here|there|call|text|send|ask|"
                       r"tell|back|also)\s)[a-z]{3,}\s(?:ak|az|ar|ca|ct|fl|ga|il|ia|ks|ky|md|ma|mi|mn|ms|mo|mt|ne|nv|"
                       r"nh|nj|nm|ny|nc|nd|ri|sc|sd|tn|tx|ut|vt|va|wa|wv|wi|wy|dc)(?![\w'’-])"),
    # a Russian street in Latin letters with an English street type: "Tverskaya st. 7", "Lenina street 5"
    ("street", "latin", r"(?<![^\W\d_])[A-Z][a-z]+(?:aya|iy|yy|oy|ya|ina|ova|eva|ogo)\s(?i:st|str|street|ave|avenue|"
                        r"rd|road|prospect|prosp)\.?,?\s(?:(?i:d|dom|house)\.?\s?)?\d{1,4}[A-Za-z]?(?:[/\-]\d{1,4})?(?![\w])"),
    # Compound street names: "Kastanienallee 12", "Prinsengracht 263", "Kaiserring 4"; lower case only with an
    # unambiguous suffix ("kastanienallee 12"), and -ring only after a consonant ("during 3", "Offering 2" are not).
    ("street", "latin", rf"(?:{_LAT_UP}\s(?:{_PARTICLE}\s)*)?(?<![^\W\d_])(?:[A-ZÀ-Ý][a-zà-ÿ]{{2,}}{_EU_SUFFIX}|"
               rf"[a-zà-ÿ]{{3,}}{_EU_SUFFIX_LOWER}|[A-ZÀ-Ý][a-zà-ÿ]+[b-df-hj-np-tv-zß]ring)(?![^\W\d_])(?:\s{HOUSE_NUMBER})?"),
    # German street names in two words: "Berliner Straße 45", "Kölner Str. 8", "Am Markt 3"
    ("street", "latin",
     rf"{_LAT_UP}\s(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee)\s{HOUSE_NUMBER}"),
    # German street names after a preposition ("Unter den Linden 77", "Am Markt 3"), only before a postcode + city
    ("street", "latin",
     rf"(?<![^\W\d_])(?:Am|An\sder|An\sden|Auf\sder|Auf\sdem|Im|In\sder|Unter\sden|Zum|Zur|Hinter\sder|"
               rf"Vor\sdem|Alt|Alte)\s{_LAT_UP}(?:\s{_LAT_UP})?\s{HOUSE_NUMBER}(?=,?\s\d{{4,5}}\s[A-ZÀ-Ý])"),
    # A street name without a type before a postcode and a city: "Damrak 1, 1012 LG Amsterdam", "Vinohradská 12,
    # 120 00 Praha 2"
    ("street", "latin", rf"(?<![^\W\d_])(?!{_NOT_STREET}\b){_LAT_UP}(?:\s{_LAT_UP})?\s{HOUSE_NUMBER}"
               rf"(?=,\s(?:\d{{5}}|\d{{4}}\s?[A-Z]{{2}}|\d{{3}}\s\d{{2}}|\d{{2}}-\d{{3}}|\d{{4}}-\d{{3}})\s(?!{_NOT_CITY}\b)[A-ZÀ-Þ])"),
    # A US street without a street type ("3000 El Camino Real"), only before "City, ST 12345"
    ("street", "latin", rf"(?<![\d.,])\d{{1,5}}[A-Za-z]?\s(?:{_LAT_UP}\s){{0,3}}{_LAT_UP}"
               rf"(?=,?\s(?:{_LAT_UP}\s){{0,2}}{_LAT_UP},?\s[A-Z]{{2}}\s\d{{5}}\b)"),
    # French, Spanish, German and Austrian flat parts: "bâtiment B", "esc. 2", "3º izq", "Whg. 4", "Top 12"
    ("unit", "latin", r"(?<![^\W\d_])(?i:bâtiment|batiment|bât\.|bat\.|escalier|esc\.|appartement|appt\.?|étage|"
             r"whg\.|wohnung|stiege|bte|boîte)\s?[A-Z\d]{1,3}(?![\w])|(?<![\d.,])\d{1,2}[º°ª]\s?"
             r"(?:(?i:izq(?:da|uierda)?|dcha|der(?:echa)?|centro|puerta\s\d{1,2})|[A-H](?![\w]))?\.?"),
    ("street", "latin",
     rf"(?:\d{{1,4}}(?:\s?bis)?,?\s)?(?<![^\W\d_])(?i:{_ROMANCE})\s(?:{_PARTICLE}\s)*(?:[ldLD]['’])?{_LAT_UP}"
               rf"(?:\s(?:{_PARTICLE}\s)*{_LAT_UP}){{0,3}}(?:,?\s(?:n[º°o]\.?\s?)?{HOUSE_NUMBER}(?![\d.,:]\d))?"),
    ("unit", "latin", r"(?i:apt|apartment|unit|suite|ste|flat)\.?\s?[A-H](?![\w'’])|"  # "Unit B", "Apt. C"
             r"(?i:apt|apartment|unit|suite|ste|flat|piso)\.?\s?#?\s?\d{1,4}[A-Za-z]?(?:/\d{1,3})?\b|"
             r"#\s?\d{1,4}[A-Za-z]?\b|\b\d{1,2}\.\s?(?:OG|Stock|Etage)\b|"  # "Flat 4/2", "2. OG"
             r"(?<=\d\s)(?:m\.|lok\.)\s?\d{1,4}\b"),  # Polish flats after the house number: "Długa 5 m. 3"
    # A room or a floor alone is not an address ("Room 4B, 3rd floor"); it only extends one.
    ("place", "latin", r"(?i:fl|floor|room|rm|bldg|building|étage|etage|office|level|lvl)\.?\s?#?\s?\d{1,4}[A-Za-z]?\b|"
              r"\d{1,2}(?:st|nd|rd|th)\s(?i:floor|fl\b\.?)|\d{1,2}(?:e|er|ème|eme|de|ste)\s(?i:étage|etage|verdieping)|"
              r"\b\d{1,2}[\s-]hoog\b"),
    ("place", "latin", r"\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b|\b(?:NSW|VIC|QLD|TAS|ACT|SA|WA|NT)\s\d{4}\b"),
    # A street named without its house number ("Quay Street", "14th Cross Road") only extends an address.
    ("place", "latin", rf"(?:\d{{1,3}}(?:st|nd|rd|th)\s)?(?:(?:{_LAT_UP}|[A-Z]{{1,3}})\s){{1,3}}{_EN_TYPE}\b\.?"),
    # A UK street without a street type ("12 Kingsway"), only before "City POSTCODE"
    ("street", "latin", rf"(?<![\d.,])\d{{1,5}}[A-Za-z]?\s(?:{_LAT_UP}\s){{0,2}}{_LAT_UP}"
               rf"(?=,?\s{_LAT_UP}(?:\s{_LAT_UP})?,?\s[A-Z]{{1,2}}\d[A-Z\d]?\s\d[A-Z]{{2}}\b)"),
    ("place", "latin", rf"{_LAT_UP}(?:\s{_LAT_UP})?\s[1-9]\d{{2}}\s?\d{{3}}\b"),  # Indian state or city + PIN code
    # Indian house and sector numbers: "B-45, Sector 62", "Phase 2"
    ("unit", "latin", r"(?<![\w\-])[A-Z]-\d{1,4}(?![\w\-])|\b(?i:sector|phase)\s\d{1,3}\b|"
             r"\b(?i:house|h\.|plot|door|shop)\s?(?i:no\.?|number|#)\s?\d{1,4}[A-Za-z]?\b"),  # "House No. 12"
    ("place", "latin", rf"{_LAT_UP}(?:\s{_LAT_UP})?\s\d{{5}}(?:-\d{{4}})?\b"),  # "Texas 75201"
    ("place", "latin",
     r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|\b(?:[A-Z]{2}\s)?[A-Z]\d[A-Z]\s\d[A-Z]\d\b"),  # UK, Canada
    ("place", "latin", r"(?<![\w.])(?:[a-z]{3,}\s)?[a-z]{1,2}\d[a-z\d]?\s\d[a-z]{2}\b"),  # "oxford ox1 4ag"
    ("place", "latin", rf"(?<![\d\-])\d{{4}}-\d{{3}}\s{_LAT_UP}|(?<![\d\-])\d{{2}}-\d{{3}}\s{_LAT_UP}"),  # PT, PL
    ("place", "latin", r"\b[ACDEFHKNPRTVWXY]\d{2}\s[A-Z0-9]{4}\b"),  # Irish Eircode
    ("place", "latin",
     rf"(?<![\d\-])\d{{3}}\s\d{{2}}\s{_LAT_UP}(?:\s\d{{1,2}}(?![\d.,:]))?"),  # CZ, SK, SE: "111 22 Stockholm"
    ("place", "latin", rf"(?<![\d\-.,])(?:\b(?:D|A|CH|F|B|L|I|E|NL|DK|S|N|FIN|PL|CZ)-)?\d{{4,5}}(?:\s?[A-Z]{{2}})?"
                       rf"\s{_LAT_UP}(?:[\s-]{_LAT_UP})?"
              rf"(?:\s(?:am|an\sder|im|upon|on|sur|en)\s{_LAT_UP})?"
              r"(?:\s\(?[A-ZØ]{1,2}\)?(?![\w]))?"),  # "60311 Frankfurt am Main", "00184 Roma RM", "2200 København N"
    ("place", "latin",
     rf"(?<![\d\-.,])\d{{4,5}}\s{_LAT_UP}\s(?:de|del|di|la|sur)\s{_LAT_UP}"),  # "06600 Ciudad de México"
    ("place", "latin", rf"(?i:col\.|colonia|bairro)\s{_LAT_UP}(?:\s{_LAT_UP})?"),  # Mexican colonia
    ("place", "latin", r"(?<![\d\-])\d{5}-\d{3}(?![\d\-])|(?<=-\s)[A-Z]{2}(?![\w])"),  # Brazil: "01310-200", "- SP"
    # lower-case chat, continental: "4 rue de rivoli 75001 paris" (a house number first: "rue" alone is a word)
    ("street", "latin", r"(?<![\d.,])\d{1,4}(?:\s?bis)?,?\s(?:rue|avenue|boulevard|bd|allée|chemin|impasse|quai|calle|"
               r"avenida|paseo|via|viale|piazza|corso|rua)\s(?:(?:de|du|des|la|le|del|della|di|da|dos|das)\s)*"
               r"(?:[ld]['’])?[a-zà-ÿ]{3,}"),
    ("place", "latin", r"(?<![\d\-.,])\d{5}\s[a-zà-ÿ]{3,}(?:[\s-][a-zà-ÿ]{3,})?"),  # "75001 paris"
    ("place", "latin", r"(?<![\w.])[a-zà-ÿ]{3,}\s\d{5}(?![\d\-])"),  # "paris 75002"
    # "springfield il 62704", "chicago, il 60661"; "Springfield IL" without its ZIP
    ("place", "latin", rf"(?:[a-z]{{3,}}\s){{0,2}}(?:[a-z]{{3,}},\s)?{_US_STATES}\s\d{{5}}(?:-\d{{4}})?\b|"
                       rf"(?<![\w-]){_US_STATES.upper()}(?![\w-])"),
    # Business parks and estates have no house number: "Unit 12, Sandyford Business Park, Dublin 18"
    ("street", "latin", rf"(?:{_LAT_UP}\s){{1,3}}(?i:business|industrial|retail|technology|science|office|enterprise)\s"
               r"(?i:park|estate|centre|center|campus)\b"),
    ("place", "latin", r"\bDublin\s\d{1,2}[Ww]?\b"),  # Dublin postal districts
    ("unit", "latin", r"\b(?:Block|BLOCK|block|Blk)\s[A-Z\d]{1,3}\b"),
    # Russian addresses written in Latin letters: "g. Samara, ul. Lenina, d. 12, kv. 45", "Nevsky pr. 28, office 4",
    # "ulitsa Pushkina, dom 5, kvartira 10", "nab. reki Fontanki 10"
    ("street", "latin",
     rf"(?<![^\W\d_])(?:(?i:ul\.|ulitsa|ulitsy|ulitse|ulica|pr-t|pr-kt|prosp\.|prospekt|prospekte|nab\.|"
               rf"naberezhnaya|pereulok|shosse|proezd|mkr\.|mikrorayon|bulvar|b-r|ploshchad)\s?"
               rf"(?:{_LAT_LOW}\s){{0,2}}|(?:pr\.|per\.|sh\.|pl\.)\s?){_LAT_UP}(?:\s{_LAT_UP}){{0,2}}?"
               rf"(?:,?\s(?:(?i:d|dom)\.?\s?)?{HOUSE_NUMBER})?(?![\w])"),
    ("street", "latin",
     rf"(?<![^\W\d_])(?:{_LAT_UP}|\d{{1,2}}-?(?:ya|y|iy|aya))(?:\s{_LAT_UP})?\s(?i:prospekt|pr-t|pr-kt|pr\.|"
               rf"prosp\.|shosse|sh\.|naberezhnaya|nab\.|bulvar|b-r|pereulok|per\.|proezd|ulitsa|ul\.|ploshchad|pl\.)"
               rf"(?:,?\s(?:(?i:d|dom)\.?\s?)?{HOUSE_NUMBER})?(?![\w])"),
    ("street", "latin",
     r"(?<![^\W\d_])(?i:ul\.?|ulitsa|prospekt|pr-t|nab\.)\s?[a-z]{3,}(?:\s[a-z]{3,})?,?\s(?:d\.?\s?|dom\s)?"
               r"\d{1,4}[a-z]?(?:[/\-]\d{1,4})?(?![\w])"),  # lower case, with its house number: "ul. lenina 5"
    ("unit", "latin", r"(?<![^\W\d_])(?:(?i:d\.|dom|kv\.?|kvartira|korp\.?|korpus|k\.|str\.|stroenie|of\.|ofis|pom\.|"
             r"etazh|podyezd|pod\.|lit\.|litera)\s?(?:№\s?)?\d{1,4}[A-Za-z]?(?:[/\-]\d{1,4})?)(?![\w])"),
    ("place", "latin", rf"(?<![^\W\d_])(?i:g|gor|pos|der|pgt|rp)\.\s?{_LAT_UP}(?:[\s-]{_LAT_UP})?|"
              rf"{_LAT_UP}\s(?i:oblast|obl\.|region|kray|krai|rayon|r-n|respublika)(?![\w])"),
    ("name", "latin", rf"{_LAT_UP}(?:\s{_LAT_UP})?(?:\s(?:-\s)?\d{{6}})?"),
    ("place", "latin", rf"(?<![^\W\d_])(?i:{RU_CITIES_LATIN})(?![^\W\d_])|(?<![^\W\d_]){COUNTRIES}(?![^\W\d_])"),
    ("place", "latin", r"(?<![\w.])(?:[a-z]{3,}\s)?(?:[a-z]{2}\s)?[a-z]\d[a-z]\s\d[a-z]\d\b|"  # "toronto on m4w 2b9"
                       r"(?<![\d\-.,])\d{4}\s?(?!(?:in|on|at|to|by|of|or|is|as|an|am|pm|we|it|my|no|so|up|us|me|be|do|go)\s)"
                       r"[a-z]{2}\s[a-z]{3,}"),  # "3011 ad rotterdam"
    ("number", "any", r"(?<![\d.,])\d{1,4}[A-Za-zА-Яа-я]?(?:[/\-]\d{1,4})?(?![\d.,:]\d|\s?(?:₽|руб|€|\$|£|%))"
                      r"(?![A-Za-zА-Яа-яЁё])" + _QTY),
)]
