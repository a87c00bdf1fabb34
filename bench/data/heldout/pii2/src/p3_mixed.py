from lib import *
M = []
def m(lang, text, ents=(), decoys=()):
    M.append({"lang": lang, "text": text, "entities": [{"type": t, "value": v} for t, v in ents], "decoys": list(decoys)})
X = "mixed"

m(X, "Привет, can you check the account of Анастасия Викторовна Полякова? Она не может залогиниться since yesterday.",
  [("PERSON", "Анастасия Викторовна Полякова")])
S = snils("316482057", "dash")
m(X, f"Для HR onboarding нужен СНИЛС: {S}, и ИНН {inn12('6312049870')}. Employee ID E-20417.",
  [("SNILS", S), ("INN", inn12("6312049870"))], ["E-20417"])
m(X, "ок, я отправил refund на карту " + (c := card("4276", 16)) + ", ticket RU-5512, amount 7 800 ₽",
  [("CARD", c)], ["RU-5512", "7 800 ₽"])
m(X, "Server 203.0.113.77 не отвечает, ping timeout. Прошу перезапустить. Build 5.4.1.2209 установлен вчера.",
  [("IP_ADDRESS", "203.0.113.77")], ["5.4.1.2209"])
m(X, "Forwarded:\nFrom: Konstantin Volkov <k.volkov@example.com>\nSent: 02.12.2024 17:41\nTo: Support\nSubject: FW: паспортные данные\n\nСерия и номер: 4521 603918, дата рождения 11.01.1983.",
  [("PERSON", "Konstantin Volkov"), ("EMAIL", "k.volkov@example.com"), ("PASSPORT_RU", "4521 603918"), ("DATE_OF_BIRTH", "11.01.1983")], ["02.12.2024 17:41"])
m(X, "Delivery address: Москва, Кутузовский пр-т, д. 30, кв. 214, consignee — Ilya Sorokin, тел +7 985 214-77-03",
  [("ADDRESS", "Москва, Кутузовский пр-т, д. 30, кв. 214"), ("PERSON", "Ilya Sorokin"), ("PHONE", "+7 985 214-77-03")])
m(X, "наш новый contractor — Vikram Nair из Bangalore, его email vikram.nair@example.in, please create an account",
  [("PERSON", "Vikram Nair"), ("EMAIL", "vikram.nair@example.in")], ["Bangalore"])
I = inn10("771530482")
m(X, f"Контрагент: ООО «Вектор», INN {I}. Contract #C-2024-0091 signed 15.10.2024.",
  [("INN", I)], ["ООО «Вектор»", "#C-2024-0091", "15.10.2024"])
IB = iban("DE", "370502991234567890")
m(X, f"Клиент просит вернуть деньги на немецкий счёт IBAN {IB}, owner Markus Braun.",
  [("IBAN", IB), ("PERSON", "Markus Braun")])
m(X, "Курьер Ваня приедет в 12:30, he'll call from +7 (903) 415-62-20 — не пугайтесь неизвестного номера.",
  [("PERSON", "Ваня"), ("PHONE", "+7 (903) 415-62-20")], ["12:30"])
m(X, "ключ API случайно закоммитили: sk_live_" + (k := rnd(28)) + ". Revoke, пожалуйста!",
  [("SECRET", "sk_live_" + k)])
m(X, "JWT из логов: eyJhbGciOiJSUzI1NiJ9." + (j1 := b64u(80)) + "." + (j2 := b64u(86)) + " — это токен пользователя Олеся Гарипова",
  [("SECRET", "eyJhbGciOiJSUzI1NiJ9." + j1 + "." + j2), ("PERSON", "Олеся Гарипова")])
m(X, "Hi team, у Сергея Николаевича Дьяченко birthday 02.05.1975 — date of birth нужен для страховки.",
  [("PERSON", "Сергея Николаевича Дьяченко"), ("DATE_OF_BIRTH", "02.05.1975")])
m(X, "SNILS без дефисов: " + (s2 := snils("402871536", "none")) + ". Inn: " + (i2 := inn12("7720315948")),
  [("SNILS", s2), ("INN", i2)])
m(X, "Ноутбук Dell Latitude, asset tag ASSET-77812, выдан сотруднику Ринату Хабибуллину 01.09.2023.",
  [("PERSON", "Ринату Хабибуллину")], ["Dell Latitude", "ASSET-77812", "01.09.2023"])
m(X, "Проверьте IPv6 2001:db8:0:1::a3 — с него идут spam requests, а IPv4 192.0.2.14 уже забанен.",
  [("IP_ADDRESS", "2001:db8:0:1::a3"), ("IP_ADDRESS", "192.0.2.14")])
m(X, "passport: 4008 112233? sorry typo — 4008 112234. Имя: Alexander Petrov (Александр Петров).",
  [("PASSPORT_RU", "4008 112233"), ("PASSPORT_RU", "4008 112234"), ("PERSON", "Alexander Petrov"), ("PERSON", "Александр Петров")])
m(X, "Ship to: 9 Kingsway, Unit 3, London WC2B 6XF, UK. Получатель Мария Ветрова, mobile +44 7700 900872",
  [("ADDRESS", "9 Kingsway, Unit 3, London WC2B 6XF, UK"), ("PERSON", "Мария Ветрова"), ("PHONE", "+44 7700 900872")])
m(X, "Coordinates для доставки не нужны, просто напишите адрес: Казань, ул. Пушкина, д. 26, кв. 40 (это улица, а не поэт 😄)",
  [("ADDRESS", "Казань, ул. Пушкина, д. 26, кв. 40")])
m(X, "Заказ SKU RX-500 за $129.99 — it's for Ford Focus 2018, не для Ford Fiesta.",
  [], ["RX-500", "$129.99", "Ford Focus 2018", "Ford Fiesta"])
m(X, "Релиз 3.2.0 выкатили на prod в 18:20 MSK, rollback plan готов. Сервер в Франкфурте.",
  [], ["3.2.0", "18:20 MSK", "Франкфурте"])
m(X, "Это Lena из support, передаю кейс Дмитрию Ким — он ответит до 17:00.",
  [("PERSON", "Lena"), ("PERSON", "Дмитрию Ким")], ["17:00"])
c = card("5536", 16, sep="-")
m(X, f"Card: {c} (Mastercard), CVV не пишу 😉. Списание 2 490 руб дважды, order 3047718299.",
  [("CARD", c)], ["2 490 руб", bad10("3047718299")])
M[-1]["text"] = M[-1]["text"].replace("3047718299", bad10("3047718299"))
m(X, "ГитХаб токен ghp_" + (g := rnd(36)) + " нашли в public repo, please rotate и проверь audit log.",
  [("SECRET", "ghp_" + g)], ["audit log"])
m(X, "Мой пароль: Kj8#mN2$pQ9!rS5&tV — я его уже сменил? нет, not yet.",
  [("SECRET", "Kj8#mN2$pQ9!rS5&tV")])
m(X, "Наталья Сергеевна, the invoice INV-7731 dated 20.11.2024 is attached. Regards, Peter Wong",
  [("PERSON", "Наталья Сергеевна"), ("PERSON", "Peter Wong")], ["INV-7731", "20.11.2024"])
m(X, "Адрес офиса в Амстердаме: Herengracht 182, 1016 BR Amsterdam — туда отправить договор для Daan Visser.",
  [("ADDRESS", "Herengracht 182, 1016 BR Amsterdam"), ("PERSON", "Daan Visser")])
m(X, "дата рождения клиента: 1968-03-30; договор от 2019-06-12, продлён до 2026-06-12",
  [("DATE_OF_BIRTH", "1968-03-30")], ["2019-06-12", "2026-06-12"])
I = inn10("540219873")
m(X, f"ИП Кравченко Олег Иванович, ИНН {inn12('5402198730')}, а ИНН организации {I}.",
  [("PERSON", "Кравченко Олег Иванович"), ("INN", inn12("5402198730")), ("INN", I)])
S = snils("520148763", "space")
m(X, f"СНИЛС {S} — for payroll. Зарплата 85 000 ₽, bonus 10%.",
  [("SNILS", S)], ["85 000 ₽", "10%"])
m(X, "Видеозвонок с Mr. Tanaka (Хироши Танака) перенесён на 10:00 JST.",
  [("PERSON", "Tanaka"), ("PERSON", "Хироши Танака")], ["10:00 JST"])
m(X, "please add Игорь Лосев to the #devops channel, у него доступ к staging-кластеру должен быть",
  [("PERSON", "Игорь Лосев")], ["#devops"])
m(X, "AWS ключи утекли: AKIA" + (a := rnd(16, string.ascii_uppercase + "234567")) + " / " + (b := rnd(40, string.ascii_letters + string.digits + "/+")),
  [("SECRET", "AKIA" + a), ("SECRET", b)])
m(X, "Manager Юлия Андреевна approved the refund, сумма €45.00, ticket #88213.",
  [("PERSON", "Юлия Андреевна")], ["€45.00", "#88213"])
m(X, "Наш офис в Берлине переехал: Torstraße 49, 10119 Berlin. Contact person — Jonas Becker, +49 30 23125 990.",
  [("ADDRESS", "Torstraße 49, 10119 Berlin"), ("PERSON", "Jonas Becker"), ("PHONE", "+49 30 23125 990")], ["Наш офис в Берлине"])
m(X, "Vendor: Santos & Filhos Lda — контакт Beatriz Santos, beatriz@example.pt",
  [("PERSON", "Beatriz Santos"), ("EMAIL", "beatriz@example.pt")], ["Santos & Filhos Lda"])
M.pop()
m(X, "Vendor: Filhos Lda — контакт Beatriz Santos, beatriz@example.pt",
  [("PERSON", "Beatriz Santos"), ("EMAIL", "beatriz@example.pt")], ["Filhos Lda"])
m(X, "Я Ahmet Kaya, родился 09.09.1990, прошу сменить телефон на +90 532 555 01 23.",
  [("PERSON", "Ahmet Kaya"), ("DATE_OF_BIRTH", "09.09.1990"), ("PHONE", "+90 532 555 01 23")])
m(X, "пароль к тестовой БД: test123 (ok, это dev), но prod-токен — " + (t := rnd(40, string.ascii_letters + string.digits)) + ", не светите",
  [("SECRET", t)], ["test123"])
m(X, "Сегодня 25.12.2024, офис закрыт с 15:00, поддержка в чате работает 24/7.",
  [], ["25.12.2024", "15:00", "24/7"])
m(X, "Morgan Stanley запросил отчёт по SLA, deadline пятница. Версия шаблона 2.0.3.",
  [], ["Morgan Stanley", "SLA", "2.0.3"])
m(X, "Pls update: новый адрес клиента — 123 Main St, Apt 5C, Brooklyn, NY 11201. Old one удалить.",
  [("ADDRESS", "123 Main St, Apt 5C, Brooklyn, NY 11201")])
IB = iban("RU", "0445252250000000000000000")[:0] or iban("NL", "RABO0123456789")
m(X, f"Дивиденды переводить на {IB} (Rabobank), владелец Femke Bakker.",
  [("IBAN", IB), ("PERSON", "Femke Bakker")], ["Rabobank"])
m(X, "Звонила Гульнара из Уфы, просила перезвонить на 8 (347) 246-18-90 after lunch.",
  [("PERSON", "Гульнара"), ("PHONE", "8 (347) 246-18-90")], ["Уфы"])
m(X, "Passport RF " + (p := bad10("4619804512")) + ", issued 2019. Name: Evgeny Smirnov.",
  [("PASSPORT_RU", p), ("PERSON", "Evgeny Smirnov")])
m(X, "@channel: встречаемся в 11:00 в переговорке «Лондон», agenda: Q4 roadmap, OKR v1.4.",
  [], ["11:00", "Лондон", "Q4", "v1.4"])
m(X, "поставщик Dell прислал 12 мониторов, накладная № 00451 от 03.12.2024",
  [], ["Dell", "№ 00451", "03.12.2024"])
