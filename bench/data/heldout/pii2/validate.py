#!/usr/bin/env python3
"""Validate messages.jsonl (stdlib only). Exit code 1 on any error."""
import json, sys, re, ipaddress, collections, os

TYPES = {"PERSON", "EMAIL", "PHONE", "CARD", "IBAN", "ADDRESS", "SECRET", "PASSPORT_RU",
         "SNILS", "INN", "IP_ADDRESS", "DATE_OF_BIRTH"}
LANGS = {"en", "ru", "mixed"}

def digits(s): return re.sub(r"\D", "", s)

def snils_ok(s):
    d = digits(s)
    if len(d) != 11: return False
    t = sum(int(c) * w for c, w in zip(d[:9], range(9, 0, -1)))
    c = t if t < 100 else (0 if t in (100, 101) else t % 101)
    if c == 100: c = 0
    return int(d[9:]) == c

def inn_ok(s):
    d = digits(s)
    def chk(ds, w): return sum(int(a) * b for a, b in zip(ds, w)) % 11 % 10
    if len(d) == 10: return chk(d, [2, 4, 10, 3, 5, 9, 4, 6, 8]) == int(d[9])
    if len(d) == 12:
        return (chk(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == int(d[10]) and
                chk(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == int(d[11]))
    return False

def luhn_ok(s):
    d = [int(c) for c in digits(s)]
    if not 12 <= len(d) <= 19: return False
    t = 0
    for i, x in enumerate(reversed(d)):
        if i % 2: x = x * 2 - 9 if x * 2 > 9 else x * 2
        t += x
    return t % 10 == 0

def iban_ok(s):
    s = s.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s): return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1

def occurrences(text, v):
    i, out = text.find(v), []
    while i != -1:
        out.append((i, i + len(v))); i = text.find(v, i + 1)
    return out

def main(path):
    errors, warns = [], []
    tcount = collections.Counter(); tlang = collections.defaultdict(collections.Counter)
    lcount = collections.Counter(); nopii = collections.Counter(); ndecoys = 0
    ids = set()
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if l.strip()]
    for ln, line in enumerate(lines, 1):
        r = json.loads(line)
        mid = r.get("id"); E = lambda m: errors.append(f"{mid}: {m}"); W = lambda m: warns.append(f"{mid}: {m}")
        if set(r) != {"id", "lang", "text", "entities", "decoys"}: E(f"bad keys {sorted(r)}")
        if mid in ids: E("duplicate id")
        ids.add(mid)
        if r["lang"] not in LANGS: E(f"bad lang {r['lang']}")
        text = r["text"]; lcount[r["lang"]] += 1
        if not r["entities"]: nopii[r["lang"]] += 1
        espans = []
        seen = set()
        for e in r["entities"]:
            t, v = e["type"], e["value"]
            if t not in TYPES: E(f"bad type {t}")
            if (t, v) in seen: E(f"duplicate entity {t} {v!r}")
            seen.add((t, v))
            if v != v.strip() or not v: E(f"value has outer whitespace/empty {v!r}")
            occ = occurrences(text, v)
            if not occ: E(f"{t} value not in text: {v!r}"); continue
            espans += [(a, b, t, v) for a, b in occ]
            tcount[t] += 1; tlang[t][r["lang"]] += 1
            if t == "SNILS" and not snils_ok(v): E(f"SNILS checksum {v}")
            if t == "INN" and not inn_ok(v): E(f"INN checksum {v}")
            if t == "IBAN" and not iban_ok(v): E(f"IBAN mod97 {v}")
            if t == "CARD" and not luhn_ok(v): E(f"CARD luhn {v}")
            if t == "PASSPORT_RU":
                if len(digits(v)) != 10: E(f"passport not 10 digits {v}")
                if v.isdigit() and inn_ok(v): W(f"unspaced passport passes INN-10 checksum {v}")
            if t == "IP_ADDRESS":
                try:
                    ip = ipaddress.ip_address(v)
                    doc = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
                    if not any(ip in n for n in doc): W(f"IP outside documentation ranges {v}")
                except ValueError: E(f"invalid IP {v}")
            if t == "PHONE" and not 7 <= len(digits(v)) <= 15: E(f"phone digit count {v}")
            if t == "EMAIL" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", v): E(f"email shape {v}")
        # overlapping distinct entities
        espans.sort()
        for (a1, b1, t1, v1), (a2, b2, t2, v2) in zip(espans, espans[1:]):
            if a2 < b1: E(f"entities overlap {v1!r} / {v2!r}")
        for d in r["decoys"]:
            ndecoys += 1
            occ = occurrences(text, d)
            if not occ: E(f"decoy not in text: {d!r}"); continue
            for a, b in occ:
                for ea, eb, t, v in espans:
                    if a < eb and ea < b: E(f"decoy {d!r} overlaps {t} {v!r}")
            dd = d.replace(" ", "")
            if re.fullmatch(r"[№#]?\d{10}", dd) and inn_ok(dd.lstrip("№#")): E(f"10-digit decoy passes INN checksum {d}")
            if re.fullmatch(r"\d{12}", dd) and inn_ok(dd): E(f"12-digit decoy passes INN checksum {d}")
            if re.fullmatch(r"\d{11}", dd) and snils_ok(dd): E(f"11-digit decoy passes SNILS checksum {d}")
            if re.fullmatch(r"\d{13,19}", dd) and luhn_ok(dd): E(f"long numeric decoy passes Luhn {d}")
            try:
                ipaddress.ip_address(d); W(f"decoy is a syntactically valid IP {d}")
            except ValueError: pass
    n = len(lines)
    print(f"messages: {n}")
    print("by lang:", dict(lcount), f"ru+mixed share: {(lcount['ru'] + lcount['mixed']) / n:.1%}")
    print("no-PII (decoys only) messages:", sum(nopii.values()), dict(nopii), f"share: {sum(nopii.values()) / n:.1%}")
    print("decoys:", ndecoys)
    print("entities by type (en/ru/mixed):")
    for t in sorted(TYPES):
        print(f"  {t:14s} {tcount[t]:4d}   " + " ".join(f"{l}={tlang[t][l]}" for l in ("en", "ru", "mixed")))
    print("total entities:", sum(tcount.values()))
    for w in warns: print("WARN", w)
    for e in errors: print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} ERRORS")
    return 1 if errors else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "messages.jsonl")))
