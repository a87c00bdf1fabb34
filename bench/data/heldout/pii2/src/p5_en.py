from lib import *
M = []
def m(lang, text, ents=(), decoys=()):
    M.append({"lang": lang, "text": text, "entities": [{"type": t, "value": v} for t, v in ents], "decoys": list(decoys)})

C = card("4916", 16)
m("en", f"Hi, pls refund to my card {C}, the one ending 7720 is expired. thx, Kofi",
  [("CARD", C), ("PERSON", "Kofi")], ["7720"])
C = card("3566", 16)
m("en", f"JCB card {C} got charged ¥12,000 for nothing",
  [("CARD", C)], ["¥12,000"])
C = card("36", 14, groups=(4, 6, 4))
m("en", f"Diners Club {C} — can you check the pending auth?",
  [("CARD", C)], ["Diners Club"])
C = card("6759", 19, groups=(4, 4, 4, 4, 3))
m("en", f"Maestro: {C}", [("CARD", C)])
C = card("5100", 16, groups=None)
m("en", f"Card on file: **** **** **** 1123. New card: {C}. Please replace.",
  [("CARD", C)], ["**** **** **** 1123"])
IB = iban("GB", "BARC20035338445566")
m("en", f"Bank details for the payout:\nName: Rebecca Lawson\nIBAN: {IB}\nSort code: 20-00-35\nRef: PAYOUT-7781",
  [("PERSON", "Rebecca Lawson"), ("IBAN", IB)], ["20-00-35", "PAYOUT-7781"])
IB = iban("IT", "X0542811101000000123456")
m("en", f"the italian supplier's IBAN is {IB}, invoice 2024/118",
  [("IBAN", IB)], ["2024/118"])
IB = iban("BE", "539007547034", group=False)
m("en", f"Belgian account {IB} belongs to Pieter Janssens? No — to Lotte Peeters.",
  [("IBAN", IB), ("PERSON", "Pieter Janssens"), ("PERSON", "Lotte Peeters")])
IB = iban("CH", "0483000000123456789")
m("en", f"Swiss IBAN {IB}, beneficiary: Noah Keller, Zürich",
  [("IBAN", IB), ("PERSON", "Noah Keller")], ["Zürich"])
IB = iban("PL", "109010140000071219812874")
m("en", f"Polish account for Tomasz Kowalczyk: {IB}",
  [("IBAN", IB), ("PERSON", "Tomasz Kowalczyk")])
IB = iban("SE", "50000000058398257466", group=False)
m("en", f"iban:{IB}", [("IBAN", IB)])
m("en", "Failed SSH logins from 203.0.113.99, 203.0.113.100 and 2001:db8:1234::beef overnight.",
  [("IP_ADDRESS", "203.0.113.99"), ("IP_ADDRESS", "203.0.113.100"), ("IP_ADDRESS", "2001:db8:1234::beef")])
m("en", "My home IP is 192.0.2.201, can you whitelist it? Running app version 8.1.0.2035.",
  [("IP_ADDRESS", "192.0.2.201")], ["8.1.0.2035"])
m("en", "Ship to Apartment 12, 400 Ocean Ave, Santa Monica, CA 90402, USA",
  [("ADDRESS", "Apartment 12, 400 Ocean Ave, Santa Monica, CA 90402, USA")])
m("en", "Address on file: 5 Rue des Lilas, Bât. B, 69003 Lyon. Customer since 2016.",
  [("ADDRESS", "5 Rue des Lilas, Bât. B, 69003 Lyon")], ["2016"])
m("en", "send to Kastanienallee 12, Hinterhaus 2. OG, 10435 Berlin, c/o Mia Schulz",
  [("ADDRESS", "Kastanienallee 12, Hinterhaus 2. OG, 10435 Berlin"), ("PERSON", "Mia Schulz")])
m("en", "1207 Maple Drive, Suite 4A, Austin, TX 78701 — please correct the typo in 'Mapel'",
  [("ADDRESS", "1207 Maple Drive, Suite 4A, Austin, TX 78701")], ["Mapel"])
m("en", "Carrer de Mallorca 401, 2n 1a, 08013 Barcelona",
  [("ADDRESS", "Carrer de Mallorca 401, 2n 1a, 08013 Barcelona")])
m("en", "the customer's address: 31 Wellington St, Fitzroy VIC 3065, Australia. DOB 17/05/1994.",
  [("ADDRESS", "31 Wellington St, Fitzroy VIC 3065, Australia"), ("DATE_OF_BIRTH", "17/05/1994")])
m("en", "Date of birth: January 9, 1981\nMember since: March 2, 2015\nTier: Gold",
  [("DATE_OF_BIRTH", "January 9, 1981")], ["March 2, 2015", "Gold"])
m("en", "Helpdesk note: user Wanjiru Kamau (wanjiru.k@example.org) locked out after 5 attempts.",
  [("PERSON", "Wanjiru Kamau"), ("EMAIL", "wanjiru.k@example.org")], ["5 attempts"])
m("en", "From: noreply@example.com\nTo: Emeka Obi <emeka.obi@example.net>\nSubject: Your order 66120 has shipped",
  [("EMAIL", "noreply@example.com"), ("PERSON", "Emeka Obi"), ("EMAIL", "emeka.obi@example.net")], ["66120"])
m("en", "github token: ghp_" + (g := rnd(36)) + "\nnpm token is in 1Password, not here.",
  [("SECRET", "ghp_" + g)], ["1Password"])
m("en", "DB_PASSWORD=" + (pw := rnd(32, string.ascii_letters + string.digits + "!@#%^*")) + "\nDB_HOST=db.internal\nDB_PORT=5432",
  [("SECRET", pw)], ["db.internal", "5432"])
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(rnd(70, string.ascii_letters + string.digits + "+/") for _ in range(4)) + "\n-----END OPENSSH PRIVATE KEY-----"
m("en", f"oops, pasted the wrong thing:\n{PEM}",
  [("SECRET", PEM)])
m("en", "Reminder: the quarterly review is on 2024-12-19 at 14:00 GMT in the Dublin office.",
  [], ["2024-12-19", "14:00 GMT", "Dublin office"])
m("en", "Ticket #45120 merged into #45102. Root cause: cache TTL set to 0.",
  [], ["#45120", "#45102"])
m("en", "We ordered 40 Dell OptiPlex units, PO 7781-22, unit price $612.00.",
  [], ["Dell OptiPlex", "PO 7781-22", "$612.00"])
m("en", "The Jordan 1 Retro High (size 10) is out of stock, restock expected Feb 2025.",
  [], ["Jordan 1 Retro High", "Feb 2025"])
m("en", "Kernel 6.1.0.1017 panics on boot; firmware 2.10.3.4412 is fine.",
  [], ["6.1.0.1017", "2.10.3.4412"])
m("en", "Is the Wells Fargo ACH file ready? Batch 0009 failed at 02:14.",
  [], ["Wells Fargo", "Batch 0009", "02:14"])
m("en", "Can you resend the tracking link? The package was supposed to arrive last Thursday.",
  [], ["last Thursday"])
m("en", "Our Paris and Madrid stores open at 9am on Sundays.",
  [], ["Paris and Madrid stores", "9am"])
m("en", "Subscription renews on 01/02/2025 for $9.99/mo; card **** 0042 will be charged.",
  [], ["01/02/2025", "$9.99/mo", "**** 0042"])
m("en", "Lincoln Navigator rental for the Chicago trip, confirmation RES-55190.",
  [], ["Lincoln Navigator", "Chicago trip", "RES-55190"])
