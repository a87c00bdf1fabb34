from lib import *
M = []
def m(lang, text, ents=(), decoys=()):
    M.append({"lang": lang, "text": text, "entities": [{"type": t, "value": v} for t, v in ents], "decoys": list(decoys)})

I = inn12("7743082516")
m("ru", f"Добрый вечер. Прошу сформировать справку 2-НДФЛ. ИНН {I}, период 2023 год.",
  [("INN", I)], ["2-НДФЛ", "2023 год"])
I = inn10("165590214")
m("mixed", f"Customer company INN {I}, KPP 165501001 — please add to the CRM card.",
  [("INN", I)], ["165501001"])
I = inn12("0274051837")
m("ru", f"ИНН: {I} (физлицо), телефон +7 347 292-10-55, Уфа",
  [("INN", I), ("PHONE", "+7 347 292-10-55")], ["Уфа"])
I = inn10("260307418")
m("ru", f"Проверьте контрагента {I} в ФНС — вдруг ликвидирован. Заказ № {bad10('2603074189')} на паузе.",
  [("INN", I)], ["ФНС", bad10("2603074189")])
I = inn12("1657093482")
m("mixed", f"Self-employed contractor Ruslan Gainullin, ИНН {I}, rate 2 500 ₽/hour.",
  [("PERSON", "Ruslan Gainullin"), ("INN", I)], ["2 500 ₽/hour"])
S = snils("098765432", "dash")
m("ru", f"Новый сотрудник: Захарова Полина Игоревна, СНИЛС {S}, выход 09.12.2024.",
  [("PERSON", "Захарова Полина Игоревна"), ("SNILS", S)], ["09.12.2024"])
S = snils("250361874", "space")
m("mixed", f"SNILS {S} — is this enough for the pension fund request?",
  [("SNILS", S)], ["pension fund"])
S = snils("187450263", "none")
m("ru", f"вот снилс мужа: {S}, а мой пришлю вечером", [("SNILS", S)])
S = snils("333145920", "dash")
m("ru", f"Страховое свидетельство {S} выдано на имя Яковлева Станислава.",
  [("SNILS", S), ("PERSON", "Яковлева Станислава")])
S = snils("420518396", "dash2")
m("mixed", f"HR form:\nName: Осипова Вера\nSNILS: {S}\nStart date: 2025-01-13",
  [("PERSON", "Осипова Вера"), ("SNILS", S)], ["2025-01-13"])
m("ru", "Паспорт 5204 118392, выдан Отделом УФМС России по Омской обл. 22.08.2012, код подразделения 550-003.",
  [("PASSPORT_RU", "5204 118392")], ["22.08.2012", "550-003"])
P = bad10("3612509873")
m("mixed", f"Passport {P}, name Olga Belova (Ольга Белова), DOB 1986-04-25.",
  [("PASSPORT_RU", P), ("PERSON", "Olga Belova"), ("PERSON", "Ольга Белова"), ("DATE_OF_BIRTH", "1986-04-25")])
m("ru", "серия 18 12 номер 445019 — нет, пишу нормально: паспорт 1812 445019",
  [("PASSPORT_RU", "1812 445019")], [])
M.pop()
m("ru", "паспорт 1812 445019, прошу сверить с анкетой от 04.03.2024",
  [("PASSPORT_RU", "1812 445019")], ["04.03.2024"])
m("ru", "Паспорт: 92 17 603415. Гражданство РФ. Дата выдачи: 10.10.2017.",
  [("PASSPORT_RU", "92 17 603415")], ["10.10.2017"])
m("ru", "Надо поздравить Тамару Ильиничну — у неё юбилей, родилась 1 декабря 1964 года. Торт закажем в «Шоколаднице».",
  [("PERSON", "Тамару Ильиничну"), ("DATE_OF_BIRTH", "1 декабря 1964 года")], ["«Шоколаднице»"])
m("mixed", "Встречаемся на Martin Luther King Jr Blvd? Нет, точный адрес: 2100 Martin Luther King Jr Blvd, Apt 12, Berkeley, CA 94704.",
  [("ADDRESS", "2100 Martin Luther King Jr Blvd, Apt 12, Berkeley, CA 94704")], [])
M.pop()
m("mixed", "Точный адрес доставки: 2100 Martin Luther King Jr Blvd, Apt 12, Berkeley, CA 94704 — курьер Carlos обещал до 18:00.",
  [("ADDRESS", "2100 Martin Luther King Jr Blvd, Apt 12, Berkeley, CA 94704"), ("PERSON", "Carlos")], ["18:00"])
m("ru", "г. Владивосток, ул. Светланская, д. 29, кв. 14 — там живёт Анатолий Борисович, ему и отдайте.",
  [("ADDRESS", "г. Владивосток, ул. Светланская, д. 29, кв. 14"), ("PERSON", "Анатолий Борисович")])
m("en", "Dear Mrs. Okonkwo, your appointment with Dr. Hendrik de Jong is confirmed for 12 Dec at 09:40.",
  [("PERSON", "Okonkwo"), ("PERSON", "Hendrik de Jong")], ["12 Dec", "09:40"])
m("en", "cc: Bjørn Halvorsen, Päivi Virtanen, Tran Van Minh",
  [("PERSON", "Bjørn Halvorsen"), ("PERSON", "Päivi Virtanen"), ("PERSON", "Tran Van Minh")])
m("en", "Le Thi Mai and Pham Quoc Bao from the Hanoi branch need VPN access.",
  [("PERSON", "Le Thi Mai"), ("PERSON", "Pham Quoc Bao")], ["Hanoi branch"])
m("en", "Transliterated from Russian: Yekaterina Vladimirovna Orlova, born 11 July 1979.",
  [("PERSON", "Yekaterina Vladimirovna Orlova"), ("DATE_OF_BIRTH", "11 July 1979")])
m("mixed", "Коллеги, reminder: демо для Dell перенесли на 16:00, а созвон с Morgan Stanley — на завтра.",
  [], ["Dell", "16:00", "Morgan Stanley"])
m("ru", "Цена по прайсу 3 499 ₽, со скидкой 2 799 ₽. Артикул 100-200-300.",
  [], ["3 499 ₽", "2 799 ₽", "100-200-300"])
m("ru", "Какой статус по тикету HD-100452? Уже неделю жду ответа.",
  [], ["HD-100452"])
m("mixed", "ok, деплой 4.0.2 прошёл, smoke tests зелёные, ждём QA до 14:00",
  [], ["4.0.2", "14:00"])
m("ru", "Напоминаю: завтра, 10.12.2024, плановые работы с 01:00 до 05:00 МСК.",
  [], ["10.12.2024", "01:00", "05:00 МСК"])
m("ru", "ТЦ «Мега» на Ленинградке закрыт на санобработку до 12:00, склад в Казани работает в обычном режиме.",
  [], ["ТЦ «Мега»", "12:00", "склад в Казани"])
m("mixed", "Asset INV-2024-0811 (MacBook Pro 14) передан в ремонт, SLA 5 рабочих дней.",
  [], ["INV-2024-0811", "MacBook Pro 14", "5 рабочих дней"])
m("ru", f"По договору № {bad10('5017392846')} от 11.11.2024 оплата прошла, спасибо.",
  [], [bad10("5017392846"), "11.11.2024"])
m("en", "Router firmware 10.0.19045.3803? No, that's the Windows build; router is on 3.18.7.",
  [], ["10.0.19045.3803", "3.18.7"])
m("mixed", "Напишите на support@example.com или позвоните Олегу: +7 916 731-08-29, он ответит.",
  [("EMAIL", "support@example.com"), ("PERSON", "Олегу"), ("PHONE", "+7 916 731-08-29")])
m("en", "Phones: UK +44 20 7946 0321, US +1-202-555-0176, DE 0151 23456789",
  [("PHONE", "+44 20 7946 0321"), ("PHONE", "+1-202-555-0176"), ("PHONE", "0151 23456789")])
m("en", "Call 020 7946 0958 (office) or 07700 900 311 (mobile) — ask for Harriet.",
  [("PHONE", "020 7946 0958"), ("PHONE", "07700 900 311"), ("PERSON", "Harriet")])
