"""Helpers to build checksum-valid made-up identifiers (stdlib only)."""
import random, string
R = random.Random(20261203)

def snils_check(d9):
    s = sum(int(c) * w for c, w in zip(d9, range(9, 0, -1)))
    if s < 100: c = s
    elif s in (100, 101): c = 0
    else:
        c = s % 101
        if c == 100: c = 0
    return "%02d" % c

def snils(d9, fmt="dash"):
    c = snils_check(d9)
    if fmt == "dash": return f"{d9[:3]}-{d9[3:6]}-{d9[6:9]} {c}"
    if fmt == "dash2": return f"{d9[:3]}-{d9[3:6]}-{d9[6:9]}-{c}"
    if fmt == "space": return f"{d9[:3]} {d9[3:6]} {d9[6:9]} {c}"
    return d9 + c

def inn10(d9):
    w = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    return d9 + str(sum(int(a) * b for a, b in zip(d9, w)) % 11 % 10)

def inn12(d10):
    w1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    n11 = str(sum(int(a) * b for a, b in zip(d10, w1)) % 11 % 10)
    s = d10 + n11
    w2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    return s + str(sum(int(a) * b for a, b in zip(s, w2)) % 11 % 10)

def inn_valid(s):
    if len(s) == 10 and s.isdigit(): return inn10(s[:9]) == s
    if len(s) == 12 and s.isdigit(): return inn12(s[:10]) == s
    return False

def bad10(d10):
    """10-digit number guaranteed to FAIL the INN-10 checksum."""
    if inn10(d10[:9]) == d10:
        d10 = d10[:9] + str((int(d10[9]) + 1) % 10)
    return d10

def iban_num(s):
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s))

def iban(cc, bban, group=True):
    chk = 98 - iban_num(cc + "00" + bban) % 97
    s = f"{cc}{chk:02d}{bban}"
    if group: s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s

def iban_valid(s):
    s = s.replace(" ", "")
    return len(s) >= 15 and iban_num(s) % 97 == 1

def luhn_ok(s):
    d = [int(c) for c in s if c.isdigit()]
    tot = 0
    for i, x in enumerate(reversed(d)):
        if i % 2: x = x * 2 - 9 if x * 2 > 9 else x * 2
        tot += x
    return tot % 10 == 0

def card(prefix, length=16, groups=(4, 4, 4, 4), sep=" "):
    body = prefix
    while len(body) < length - 1:
        body += str(R.randint(0, 9))
    for c in "0123456789":
        if luhn_ok(body + c): body += c; break
    if not groups: return body
    out, i = [], 0
    for g in groups:
        out.append(body[i:i + g]); i += g
    return sep.join(out)

def rnd(n, alphabet=string.ascii_letters + string.digits):
    return "".join(R.choice(alphabet) for _ in range(n))

def b64u(n):
    return rnd(n, string.ascii_letters + string.digits + "-_")
