from lib import *
M = []
def m(lang, text, ents=(), decoys=()):
    M.append({"lang": lang, "text": text, "entities": [{"type": t, "value": v} for t, v in ents], "decoys": list(decoys)})

def bad11(d):
    """11 digits that FAIL the SNILS checksum."""
    c = snils_check(d[:9])
    return d if d[9:] != c else d[:9] + "%02d" % ((int(c) + 1) % 100)
def bad12(d):
    return d if not inn_valid(d) else d[:11] + str((int(d[11]) + 1) % 10)
def badluhn(d):
    return d if not luhn_ok(d) else d[:-1] + str((int(d[-1]) + 1) % 10)

m("en", "helo, my numbr is +447700900555 pls call back asap, its about teh refund for order 99-1020",
  [("PHONE", "+447700900555")], ["99-1020"])
m("en", "US customer, E.164: +12025550143. Prefers texts over calls.",
  [("PHONE", "+12025550143")])
m("en", "admin panel at http://203.0.113.5:8080/admin is exposed, user admin, pass Zr8!kW3@qN7#tL1x",
  [("IP_ADDRESS", "203.0.113.5"), ("SECRET", "Zr8!kW3@qN7#tL1x")], ["8080"])
T = bad11("80082134567")
m("ru", f"Трек-номер {T}, посылка застряла на сортировке в Подольске уже 5 дней.",
  [], [T, "сортировке в Подольске", "5 дней"])
P = bad12("770012345678")
m("ru", f"номер полиса ДМС {P}, действует до 31.08.2025 — можно продлить?",
  [], [P, "31.08.2025"])
L = badluhn("4000123456789011")
m("en", f"Gift card code {L[:4]} {L[4:8]} {L[8:12]} {L[12:]} doesn't work, purchased 11/20 at the Oxford Street store.",
  [], [f"{L[:4]} {L[4:8]} {L[8:12]} {L[12:]}", "11/20", "Oxford Street store"])
m("ru", "здраствуйте, я звонила вчера, меня зовут татьяна михайловна гришина, мне обещали перезвонить и никто не перзвонил!!!",
  [("PERSON", "татьяна михайловна гришина")])
m("ru", "Вчера общались с Анастасией Поляковой по поводу возврата, она сказала ждать 10 рабочих дней.",
  [("PERSON", "Анастасией Поляковой")], ["10 рабочих дней"])
m("ru", "адрес: спб, васильевский остров, 7-я линия, 34, кв 12",
  [("ADDRESS", "спб, васильевский остров, 7-я линия, 34, кв 12")])
m("ru", "г Томск ул Ленина д 36 кв 101 — без точек пишу, так норм?",
  [("ADDRESS", "г Томск ул Ленина д 36 кв 101")])
m("ru", "Отправитель: ИП Белоусов А.В., 400005, Волгоград, пр. Ленина, д. 56А, оф. 12",
  [("PERSON", "Белоусов А.В."), ("ADDRESS", "400005, Волгоград, пр. Ленина, д. 56А, оф. 12")])
m("mixed", "Вот ключ для staging (не prod!):\n-----BEGIN PRIVATE KEY-----\n" + (pk := "\n".join(rnd(64, string.ascii_letters + string.digits + "+/") for _ in range(3))) + "\n-----END PRIVATE KEY-----\nпосле настройки удалите из чата",
  [("SECRET", "-----BEGIN PRIVATE KEY-----\n" + pk + "\n-----END PRIVATE KEY-----")])
m("mixed", "our driver Tom и курьер Алексей оба не могут найти подъезд. Адрес: Москва, ул. Профсоюзная, д. 84/32, корп. 2, кв. 77",
  [("PERSON", "Tom"), ("PERSON", "Алексей"), ("ADDRESS", "Москва, ул. Профсоюзная, д. 84/32, корп. 2, кв. 77")])
m("en", "can you ask john to forward the NDA to mary-kate o'neill? thx",
  [("PERSON", "john"), ("PERSON", "mary-kate o'neill")], ["NDA"])
m("en", "Signed,\nDr. Ama Owusu-Ansah, MD\nChief Medical Officer\n+233 24 555 0123",
  [("PERSON", "Ama Owusu-Ansah"), ("PHONE", "+233 24 555 0123")], ["Chief Medical Officer"])
m("en", "Travellers: Mr José Luis Martín García (DOB 02/10/1970) and Ms Lucía Martín Ruiz.",
  [("PERSON", "José Luis Martín García"), ("DATE_OF_BIRTH", "02/10/1970"), ("PERSON", "Lucía Martín Ruiz")])
m("en", "Flight booked for 14 Feb 2025, departure 07:45; passenger Joost Vermeulen, birth date 1983-06-30.",
  [("PERSON", "Joost Vermeulen"), ("DATE_OF_BIRTH", "1983-06-30")], ["14 Feb 2025", "07:45"])
m("mixed", "Юзер Dmitriy Kozlov (dkozlov@example.com) залогинился с 2001:db8:aa::17 в 03:12, это подозрительно.",
  [("PERSON", "Dmitriy Kozlov"), ("EMAIL", "dkozlov@example.com"), ("IP_ADDRESS", "2001:db8:aa::17")], ["03:12"])
C = card("2204", 16, groups=None)
m("mixed", f"refund failed for МИР {C}, error code 05, retry после 18:00",
  [("CARD", C)], ["error code 05", "18:00"])
IB = iban("AT", "1904300234573201")
m("mixed", f"Австрийский IBAN клиента: {IB}, владелец Florian Gruber",
  [("IBAN", IB), ("PERSON", "Florian Gruber")])
m("ru", "Проверьте, пожалуйста, почему на складе в Екатеринбурге числится 0 шт. артикула 77-1042, хотя вчера было 15.",
  [], ["складе в Екатеринбурге", "0 шт.", "77-1042"])
m("en", "FYI the Ford Ranger and two Dell PowerEdge servers were moved to the Rotterdam warehouse.",
  [], ["Ford Ranger", "Dell PowerEdge", "Rotterdam warehouse"])
m("mixed", "Ок, закрываю тикет SUP-8810. Thanks everyone, good job!",
  [], ["SUP-8810"])
m("en", "Policy reminder: never paste passwords or API keys into this chat. Use the vault.",
  [], [])
m("ru", "Спасибо, всё получили, претензий нет.",
  [], [])
