from lib import *
M = []
def m(lang, text, ents=(), decoys=()):
    M.append({"lang": lang, "text": text, "entities": [{"type": t, "value": v} for t, v in ents], "decoys": list(decoys)})

m("en", "Hi, this is Eleanor Whitfield. My order #A-55821 arrived damaged, please call me on 07700 900123.",
  [("PERSON", "Eleanor Whitfield"), ("PHONE", "07700 900123")], ["#A-55821"])
m("en", "Dr Eleanor Whitfield asked for the invoice to be re-sent to e.whitfield@example.co.uk",
  [("PERSON", "Eleanor Whitfield"), ("EMAIL", "e.whitfield@example.co.uk")])
m("en", "our driver Tom will pick up the parcel between 2pm and 4pm tomorrow",
  [("PERSON", "Tom")], ["2pm", "4pm"])
m("en", "Please ship to 742 Evergreen Terrace, Apt 3B, Springfield, IL 62704. Thanks!",
  [("ADDRESS", "742 Evergreen Terrace, Apt 3B, Springfield, IL 62704")])
m("en", "address: 2750 Oak Meadow Pkwy, Suite 210, Mountain View, CA 94043 (ask for Priya Raghunathan at reception)",
  [("ADDRESS", "2750 Oak Meadow Pkwy, Suite 210, Mountain View, CA 94043"), ("PERSON", "Priya Raghunathan")])
m("en", "New address is 221B Baker Street, London NW1 6XE. Phone +44 7700 900456.",
  [("ADDRESS", "221B Baker Street, London NW1 6XE"), ("PHONE", "+44 7700 900456")])
m("en", "Deliver to Flat 4, 18 Victoria Road, Manchester M14 5RT please, not to our Leeds office.",
  [("ADDRESS", "Flat 4, 18 Victoria Road, Manchester M14 5RT")], ["our Leeds office"])
m("en", "Customer Jan-Willem van der Berg lives at Prinsengracht 417-2, 1016 HR Amsterdam.",
  [("PERSON", "Jan-Willem van der Berg"), ("ADDRESS", "Prinsengracht 417-2, 1016 HR Amsterdam")])
m("en", "Invoice to: Friedrichstraße 123, 10117 Berlin, attn. Lukas Hoffmann. Our Berlin office is closed on Friday.",
  [("ADDRESS", "Friedrichstraße 123, 10117 Berlin"), ("PERSON", "Lukas Hoffmann")], ["Our Berlin office"])
m("en", "Return label should go to 15 rue de la Paix, 75002 Paris, France — recipient Amélie Dubois.",
  [("ADDRESS", "15 rue de la Paix, 75002 Paris, France"), ("PERSON", "Amélie Dubois")])
m("en", "Calle de Alcalá 45, 3º izq., 28014 Madrid — that's where Javier Fernández López wants the replacement.",
  [("ADDRESS", "Calle de Alcalá 45, 3º izq., 28014 Madrid"), ("PERSON", "Javier Fernández López")])
m("en", "ship it to Via Roma 12, int. 5, 20121 Milano MI, c/o Giulia Bianchi",
  [("ADDRESS", "Via Roma 12, int. 5, 20121 Milano MI"), ("PERSON", "Giulia Bianchi")])
m("en", "Address: 350 Rue Sainte-Catherine Ouest, Unit 1204, Montréal, QC H3B 1A1, Canada",
  [("ADDRESS", "350 Rue Sainte-Catherine Ouest, Unit 1204, Montréal, QC H3B 1A1, Canada")])
m("en", "Our warehouse manager Kwame Mensah will sign for it at Unit 7, 42 Smith Street, Collingwood VIC 3066.",
  [("PERSON", "Kwame Mensah"), ("ADDRESS", "Unit 7, 42 Smith Street, Collingwood VIC 3066")], ["warehouse manager"])
m("en", "Please update my address to 88 Pine St #402, Seattle, WA 98101",
  [("ADDRESS", "88 Pine St #402, Seattle, WA 98101")])
m("en", "My name is Nguyen Thi Thu Hang and my date of birth is 14/08/1991. Ticket TKT-30918.",
  [("PERSON", "Nguyen Thi Thu Hang"), ("DATE_OF_BIRTH", "14/08/1991")], ["TKT-30918"])
m("en", "Hi, Zhang Wei here, I was born on 3 March 1985 and the system says I'm underage?!",
  [("PERSON", "Zhang Wei"), ("DATE_OF_BIRTH", "3 March 1985")])
m("en", "DOB: 1990-07-14. Account created 2023-02-01. Last login 2024-11-30 08:15 UTC.",
  [("DATE_OF_BIRTH", "1990-07-14")], ["2023-02-01", "2024-11-30 08:15 UTC"])
m("en", "Mehmet Yılmaz and Ayşe Demir from the Istanbul team will join the call at 10:30 CET.",
  [("PERSON", "Mehmet Yılmaz"), ("PERSON", "Ayşe Demir")], ["Istanbul team", "10:30 CET"])
m("en", "Can you add Krzysztof Wiśniewski to the shared mailbox? He replaces Agnieszka Nowak from Monday.",
  [("PERSON", "Krzysztof Wiśniewski"), ("PERSON", "Agnieszka Nowak")])
m("en", "Escalating on behalf of Oluwaseun Adeyemi — refund REF-8812 still pending after 14 days.",
  [("PERSON", "Oluwaseun Adeyemi")], ["REF-8812", "14 days"])
m("en", "Per Ingrid Johansson, the Oslo rollout is delayed to v2.3.1.",
  [("PERSON", "Ingrid Johansson")], ["v2.3.1"])
m("en", "Spoke with Ahmed Al-Mansouri, he confirmed the contract renewal at $1,250/month.",
  [("PERSON", "Ahmed Al-Mansouri")], ["$1,250/month"])
m("en", "The account holder is Sergei Ivanovich Kuznetsov (transliterated from the passport).",
  [("PERSON", "Sergei Ivanovich Kuznetsov")])
m("en", "ping @rahul.sharma? no wait — Rahul Sharma is on leave, ask Ananya Iyer instead",
  [("PERSON", "Rahul Sharma"), ("PERSON", "Ananya Iyer")])
M[-1]["text"] = "ping rahul? no wait — Rahul Sharma is on leave, ask Ananya Iyer instead"
M[-1]["entities"].append({"type": "PERSON", "value": "rahul"})
m("en", "Best regards,\nMaria José Gutiérrez\nAccount Manager, Morgan Stanley\n+1 (212) 555-0147\nmj.gutierrez@example.com",
  [("PERSON", "Maria José Gutiérrez"), ("PHONE", "+1 (212) 555-0147"), ("EMAIL", "mj.gutierrez@example.com")], ["Account Manager", "Morgan Stanley"])
m("en", "Call me at (415) 555-0132 or 415.555.0188, whichever works.",
  [("PHONE", "(415) 555-0132"), ("PHONE", "415.555.0188")])
m("en", "German customer, phone +49 30 23125678, prefers email: k.schmidt@example.de",
  [("PHONE", "+49 30 23125678"), ("EMAIL", "k.schmidt@example.de")])
m("en", "French number: +33 1 99 00 12 34, mobile 06 39 98 45 21",
  [("PHONE", "+33 1 99 00 12 34"), ("PHONE", "06 39 98 45 21")])
m("en", "her mobile is 030 23125 412 (Berlin landline actually) and office ext. 4471",
  [("PHONE", "030 23125 412")], ["ext. 4471"])
m("en", "Contact Siobhan O'Connor on +353 85 555 0199 regarding the Dublin lease.",
  [("PERSON", "Siobhan O'Connor"), ("PHONE", "+353 85 555 0199")])
C = card("4539", 16)
m("en", f"I paid with my Visa {C} but the receipt shows **** 9921. Order ORD-2024-11873.",
  [("CARD", C)], ["**** 9921", "ORD-2024-11873"])
C = card("37", 15, groups=(4, 6, 5))
m("en", f"Amex {C}, exp 11/26 — charged twice for the Ford Focus rental.",
  [("CARD", C)], ["11/26", "Ford Focus"])
C = card("5412", 16, sep="-")
m("en", f"card no. {C} declined at checkout, cart total €89.90",
  [("CARD", C)], ["€89.90"])
C = card("6011", 16, groups=None)
m("en", f"discover card {C} please remove it from my profile",
  [("CARD", C)])
IB = iban("GB", "NWBK60161331926819")
m("en", f"Refund to IBAN {IB}, account name Oliver Bennett.",
  [("IBAN", IB), ("PERSON", "Oliver Bennett")])
IB = iban("DE", "500105175407324931", group=False)
m("en", f"iban {IB} (no spaces) bic INGDDEFFXXX",
  [("IBAN", IB)], ["INGDDEFFXXX"])
IB = iban("NL", "ABNA0417164300")
m("en", f"Dutch account {IB}, t.n.v. Sanne de Vries",
  [("IBAN", IB), ("PERSON", "Sanne de Vries")])
IB = iban("FR", "20041010050500013M02606")
m("en", f"Virement sur {IB} svp, merci — Camille",
  [("IBAN", IB), ("PERSON", "Camille")])
IB = iban("ES", "21000418450200051332")
m("en", f"Spanish IBAN: {IB}",
  [("IBAN", IB)])
m("en", "Our Stripe key leaked in the logs: sk_live_" + (k := rnd(24)) + " — rotate ASAP",
  [("SECRET", "sk_live_" + k)])
m("en", "restricted key rk_live_" + (k2 := rnd(32)) + " is used by the billing worker",
  [("SECRET", "rk_live_" + k2)], ["billing worker"])
AK = "AKIA" + rnd(16, string.ascii_uppercase + "234567"); SK = rnd(40, string.ascii_letters + string.digits + "/+")
m("en", f"aws_access_key_id = {AK}\naws_secret_access_key = {SK}\nregion = eu-west-1",
  [("SECRET", AK), ("SECRET", SK)], ["eu-west-1"])
m("en", "GitLab token glpat-" + (g := rnd(20, string.ascii_letters + string.digits + "-_")) + " was pasted into the ticket by mistake.",
  [("SECRET", "glpat-" + g)])
SL = f"xoxb-{R.randint(10**11, 10**12-1)}-{R.randint(10**12, 10**13-1)}-{rnd(24)}"
m("en", f"Slack bot token: {SL}  (channel #ops-alerts)",
  [("SECRET", SL)], ["#ops-alerts"])
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + b64u(60) + "." + b64u(43)
m("en", f"Authorization: Bearer {JWT}\nUser-Agent: curl/8.4.0",
  [("SECRET", JWT)], ["curl/8.4.0"])
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(rnd(64, string.ascii_letters + string.digits + "+/") for _ in range(5)) + "\n" + rnd(24, string.ascii_letters + string.digits + "+/") + "==\n-----END RSA PRIVATE KEY-----"
m("en", f"here's the deploy key, don't share:\n{PEM}\nthanks",
  [("SECRET", PEM)])
m("en", "temp password for the new hire: Xq7!rT2#pLm9@Vz4 — change on first login",
  [("SECRET", "Xq7!rT2#pLm9@Vz4")], ["new hire"])
m("en", "The VPN gateway is 203.0.113.10 and the backup is 2001:db8:85a3::8a2e:370:7334.",
  [("IP_ADDRESS", "203.0.113.10"), ("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334")])
m("en", "Login attempts from 198.51.100.203 and 2001:db8::1f blocked by WAF rule 9412.",
  [("IP_ADDRESS", "198.51.100.203"), ("IP_ADDRESS", "2001:db8::1f")], ["rule 9412"])
m("en", "Windows build 10.0.19045.3803 on asset TAG-88123 keeps crashing, Dell Latitude 5420.",
  [], ["10.0.19045.3803", "TAG-88123", "Dell Latitude 5420"])
m("en", f"Order {bad10('4820193756')} shipped via DHL, tracking JD014600003828461, ETA 12/15.",
  [], [bad10("4820193756"), "JD014600003828461", "12/15"])
m("en", "Price for SKU WX-2210-BLK is $49.99, discount code WINTER25 valid until Jan 31.",
  [], ["WX-2210-BLK", "$49.99", "WINTER25", "Jan 31"])
m("en", "Meeting moved to Tuesday 3:30pm, room Everest. Agenda in Confluence.",
  [], ["3:30pm", "Everest", "Confluence"])
m("en", "Is the Morgan Stanley integration live? Goldman Sachs asked too.",
  [], ["Morgan Stanley", "Goldman Sachs"])
m("en", "The Ford Focus and the Tesla Model 3 in the fleet need service before 2025-01-10.",
  [], ["Ford Focus", "Tesla Model 3", "2025-01-10"])
m("en", "Release 2.14.3 fixes the crash; 2.14.2 is deprecated. Docker image tag 1.27.0.4120.",
  [], ["2.14.3", "2.14.2", "1.27.0.4120"])
m("en", "Ticket INC0012345 reopened by Hannah Müller; priority P2.",
  [("PERSON", "Hannah Müller")], ["INC0012345", "P2"])
m("en", "The invoice dated 05/06/2023 was paid; the customer (born 22/02/1978) wants a copy.",
  [("DATE_OF_BIRTH", "22/02/1978")], ["05/06/2023"])
m("en", "Forwarded message:\nFrom: Robert \"Bob\" Chen <bob.chen@example.org>\nDate: Mon, 11 Nov 2024 09:12\nSubject: Re: case 77120\n\nCan you check my address change? 48 Harbor View Rd, Cupertino, CA 95014",
  [("PERSON", "Robert \"Bob\" Chen"), ("EMAIL", "bob.chen@example.org"), ("ADDRESS", "48 Harbor View Rd, Cupertino, CA 95014")], ["Mon, 11 Nov 2024 09:12", "case 77120"])
m("en", "Thanks Sarah! — S. Thompson, Head of Payroll",
  [("PERSON", "Sarah"), ("PERSON", "S. Thompson")], ["Head of Payroll"])
m("en", "hey its james from accounts, can u reset my password? my email is j.oduya@example.com",
  [("PERSON", "james"), ("EMAIL", "j.oduya@example.com")])
m("en", "Nurse Fatima Zahra Benali called about the lab results.",
  [("PERSON", "Fatima Zahra Benali")])
m("en", "Mr. Lars Eriksson and Ms. Astrid Lindqvist requested a joint account.",
  [("PERSON", "Lars Eriksson"), ("PERSON", "Astrid Lindqvist")])
m("en", "Our CFO, Chidi Okafor, approved the PO-4471 for 12 Dell monitors.",
  [("PERSON", "Chidi Okafor")], ["CFO", "PO-4471", "Dell"])
m("en", "Customer says: 'I'm Diego Ramírez, please stop sending me SMS to +34 612 34 56 78'",
  [("PERSON", "Diego Ramírez"), ("PHONE", "+34 612 34 56 78")])
m("en", "Contact list:\n- Aiko Tanaka, aiko.t@example.jp\n- Pieter Janssens, +32 470 12 34 56\n- Thandiwe Nkosi, 14 Long Street, Cape Town 8001",
  [("PERSON", "Aiko Tanaka"), ("EMAIL", "aiko.t@example.jp"), ("PERSON", "Pieter Janssens"), ("PHONE", "+32 470 12 34 56"), ("PERSON", "Thandiwe Nkosi"), ("ADDRESS", "14 Long Street, Cape Town 8001")])
m("en", "Hauptstraße 5a, 80331 München — that's the registered address for Anna-Lena Weber.",
  [("ADDRESS", "Hauptstraße 5a, 80331 München"), ("PERSON", "Anna-Lena Weber")])
m("en", "Please send the contract to 10 Downing St, London SW1A 2AA? Just kidding. Real one: 63 Elmwood Grove, London N8 9QE.",
  [("ADDRESS", "63 Elmwood Grove, London N8 9QE")], ["Just kidding"])
M.pop()
m("en", "Please send the contract to 63 Elmwood Grove, London N8 9QE, attn. Imogen Clarke.",
  [("ADDRESS", "63 Elmwood Grove, London N8 9QE"), ("PERSON", "Imogen Clarke")])
m("en", "Keizersgracht 120, 3e verdieping, 1015 CW Amsterdam",
  [("ADDRESS", "Keizersgracht 120, 3e verdieping, 1015 CW Amsterdam")])
m("en", "We moved! 455 Queen St W, Suite 300, Toronto, ON M5V 2A9.",
  [("ADDRESS", "455 Queen St W, Suite 300, Toronto, ON M5V 2A9")])
m("en", "Level 12, 9 Wattle Lane, Sydney NSW 2000 — send the hardware there, attention Liam O'Brien.",
  [("ADDRESS", "Level 12, 9 Wattle Lane, Sydney NSW 2000"), ("PERSON", "Liam O'Brien")])
m("en", "Sent from my iPhone\n\n> On 4 Dec 2024, at 10:02, Grace Liu <grace.liu@example.net> wrote:\n> my DOB is 1987-12-01 if you need it for verification",
  [("PERSON", "Grace Liu"), ("EMAIL", "grace.liu@example.net"), ("DATE_OF_BIRTH", "1987-12-01")], ["4 Dec 2024, at 10:02", "iPhone"])
m("en", "Total due: £1,204.50 by 15 Jan 2025. Reference INV-000982.",
  [], ["£1,204.50", "15 Jan 2025", "INV-000982"])
m("en", "All good, closing the ticket. Have a nice weekend!",
  [], [])
m("en", "Can someone check why the status page shows 99.95% uptime but we had a 20 min outage at 03:10?",
  [], ["99.95%", "20 min", "03:10"])
