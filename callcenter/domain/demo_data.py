"""Deterministic demo data: two shops, clients with Russian names, their orders, and the
operator's day: missed calls and tasks of every kind.

Pure: the same ``seed`` and ``now`` always give the same data, in any process
(no clock, no global random state, no iteration over sets).  Phone numbers are
checked with ``phonenumbers`` so the demo exercises the same normalisation and
time-zone guessing as real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import phonenumbers

from callcenter.domain.demo_day import operators_day

__all__ = [
    "DAY_CLIENTS", "DemoData", "FIXED_CLIENTS", "ORDER_STATUSES", "SHOPS", "TASK_KINDS", "UNKNOWN_CALLER",
    "UNKNOWN_MISSED_CALLER", "feminine_surname", "generate_demo",
]

SHOPS = ({"slug": "tehnomir", "name": "ТехноМир"}, {"slug": "domovoy", "name": "Домовой — товары для дома"})
_ORDER_PREFIX = {"tehnomir": "TM", "domovoy": "DM"}
_EXTERNAL_ID_BASE = {"tehnomir": 480_000, "domovoy": 120_000}
ORDER_STATUSES = ("new", "confirmed", "paid", "shipped", "delivered", "cancelled", "returned")

#: Calls in the recorded AMI traces come from this number and must find nobody.
UNKNOWN_CALLER = "+79031112233"

#: Always the first clients, in this order: the AMI demo traces call from their numbers.
FIXED_CLIENTS: tuple[dict[str, Any], ...] = (
    {"name": "Иван Петров", "company": None, "city": "Москва", "region": "Москва", "timezone": "Europe/Moscow",
     "phones": [{"number": "+79161234567", "label": "mobile"}], "emails": ["ivan.petrov@mail.ru"],
     "tags": ["постоянный клиент"], "notes": "Покупает технику для всей семьи", "birthday": date(1985, 3, 14),
     "do_not_call": False},
    {"name": "Ольга Смирнова", "company": None, "city": "Москва", "region": "Москва", "timezone": "Europe/Moscow",
     "phones": [{"number": "+79265550101", "label": "mobile"}], "emails": ["olga.smirnova@yandex.ru"],
     "tags": [], "notes": None, "birthday": None, "do_not_call": False},
)

#: The operator's day, after FIXED_CLIENTS: one client per zone from Kaliningrad (UTC+2) to
#: Vladivostok (UTC+10) and one in New York, so that with the default calling hours (09:00-21:00
#: local) one of them is inside the window at any hour of the day (holidays aside); a +7 9xx mobile
#: with no city, whose zone is unknown (called only when it is day in every Russian zone, 07:00-09:00
#: UTC); a client who asked not to be called.  ``orders``: (shop, age, status) of their orders.
DAY_CLIENTS: tuple[dict[str, Any], ...] = (
    {"name": "Марина Ковалёва", "company": None, "city": "Калининград", "region": "Калининградская область",
     "timezone": "Europe/Kaliningrad", "phones": [{"number": "+79114567812", "label": "mobile"}],
     "emails": [], "tags": [], "notes": None, "birthday": None, "do_not_call": False,
     "orders": [("domovoy", timedelta(days=3), "shipped")]},
    {"name": "Дмитрий Орлов", "company": None, "city": "Москва", "region": "Москва", "timezone": "Europe/Moscow",
     "phones": [{"number": "+79037451290", "label": "mobile"}], "emails": ["d.orlov@mail.ru"], "tags": [],
     "notes": None, "birthday": None, "do_not_call": False, "orders": []},
    {"name": "Елена Зайцева", "company": None, "city": "Екатеринбург", "region": "Свердловская область",
     "timezone": "Asia/Yekaterinburg", "phones": [{"number": "+79226318455", "label": "mobile"}], "emails": [],
     "tags": ["постоянный клиент"], "notes": None, "birthday": None, "do_not_call": False,
     "orders": [("tehnomir", timedelta(days=12), "delivered")]},
    {"name": "Сергей Никитин", "company": None, "city": "Новосибирск", "region": "Новосибирская область",
     "timezone": "Asia/Novosibirsk", "phones": [{"number": "+79137704216", "label": "mobile"}], "emails": [],
     "tags": [], "notes": None, "birthday": None, "do_not_call": False,
     "orders": [("tehnomir", timedelta(hours=20), "confirmed")]},
    {"name": "Анастасия Белова", "company": None, "city": "Владивосток", "region": "Приморский край",
     "timezone": "Asia/Vladivostok", "phones": [{"number": "+79242083517", "label": "mobile"}], "emails": [],
     "tags": [], "notes": None, "birthday": None, "do_not_call": False,
     "orders": [("domovoy", timedelta(minutes=50), "new")]},
    {"name": "Ирина Вайнштейн", "company": None, "city": "Нью-Йорк", "region": "США", "timezone": "America/New_York",
     "phones": [{"number": "+12127364158", "label": "mobile"}], "emails": ["irina.w@gmail.com"],
     "tags": [], "notes": "Заказывает подарки родителям в Москву", "birthday": None, "do_not_call": False,
     "orders": [("tehnomir", timedelta(hours=2), "new")]},
    {"name": "Павел Гусев", "company": None, "city": None, "region": None, "timezone": None,
     "phones": [{"number": "+79633219047", "label": "mobile"}], "emails": [], "tags": [], "notes": None,
     "birthday": None, "do_not_call": False, "orders": []},
    {"name": "Тамара Фролова", "company": None, "city": "Москва", "region": "Москва", "timezone": "Europe/Moscow",
     "phones": [{"number": "+79857402261", "label": "mobile"}], "emails": [], "tags": [],
     "notes": "Просила больше не звонить", "birthday": None, "do_not_call": True,
     "orders": [("domovoy", timedelta(days=40), "delivered")]},
)
#: A missed call of the demo from a number that is nobody's (one of the demo PBX's unknown callers).
UNKNOWN_MISSED_CALLER = "+79057770011"
TASK_KINDS = ("missed_call", "callback", "redial", "order_confirmation", "reminder")
OPERATORS = 2  # tasks name their owner by index among the demo's operators (101, 102)

# (city, region, IANA zone, landline area codes, weight)
CITIES = (
    ("Москва", "Москва", "Europe/Moscow", ("495", "499"), 30),
    ("Санкт-Петербург", "Санкт-Петербург", "Europe/Moscow", ("812",), 12),
    ("Калининград", "Калининградская область", "Europe/Kaliningrad", ("4012",), 3),
    ("Нижний Новгород", "Нижегородская область", "Europe/Moscow", ("831",), 4),
    ("Казань", "Республика Татарстан", "Europe/Moscow", ("843",), 4),
    ("Краснодар", "Краснодарский край", "Europe/Moscow", ("861",), 4),
    ("Ростов-на-Дону", "Ростовская область", "Europe/Moscow", ("863",), 3),
    ("Воронеж", "Воронежская область", "Europe/Moscow", ("473",), 3),
    ("Самара", "Самарская область", "Europe/Samara", ("846",), 4),
    ("Ижевск", "Удмуртская Республика", "Europe/Samara", ("3412",), 2),
    ("Екатеринбург", "Свердловская область", "Asia/Yekaterinburg", ("343",), 5),
    ("Челябинск", "Челябинская область", "Asia/Yekaterinburg", ("351",), 3),
    ("Уфа", "Республика Башкортостан", "Asia/Yekaterinburg", ("347",), 3),
    ("Пермь", "Пермский край", "Asia/Yekaterinburg", ("342",), 3),
    ("Омск", "Омская область", "Asia/Omsk", ("3812",), 3),
    ("Новосибирск", "Новосибирская область", "Asia/Novosibirsk", ("383",), 4),
    ("Томск", "Томская область", "Asia/Tomsk", ("3822",), 2),
    ("Красноярск", "Красноярский край", "Asia/Krasnoyarsk", ("391",), 3),
    ("Иркутск", "Иркутская область", "Asia/Irkutsk", ("3952",), 2),
    ("Якутск", "Республика Саха (Якутия)", "Asia/Yakutsk", ("4112",), 1),
    ("Владивосток", "Приморский край", "Asia/Vladivostok", ("423",), 2),
    ("Хабаровск", "Хабаровский край", "Asia/Vladivostok", ("4212",), 2),
    ("Магадан", "Магаданская область", "Asia/Magadan", ("4132",), 1),
    ("Петропавловск-Камчатский", "Камчатский край", "Asia/Kamchatka", ("4152",), 1),
)

MALE_NAMES = (
    "Александр Алексей Андрей Антон Артём Борис Вадим Валерий Виктор Владимир Владислав Вячеслав Геннадий "
    "Георгий Григорий Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин Максим Михаил Никита "
    "Николай Олег Павел Роман Руслан Сергей Станислав Степан Тимофей Фёдор Юрий Ярослав"
).split()
FEMALE_NAMES = (
    "Александра Алина Алла Анастасия Анна Валентина Валерия Вера Виктория Галина Дарья Екатерина Елена "
    "Елизавета Жанна Зоя Ирина Кристина Ксения Лариса Любовь Людмила Маргарита Марина Мария Надежда Наталья "
    "Нина Оксана Олеся Полина Светлана София Тамара Татьяна Юлия Яна"
).split()
# Male forms; the female form swaps the final "ич" for "на" (Иванович -> Ивановна).
PATRONYMICS = (
    "Александрович Алексеевич Анатольевич Андреевич Борисович Васильевич Викторович Владимирович Геннадьевич "
    "Григорьевич Дмитриевич Евгеньевич Иванович Игоревич Константинович Михайлович Николаевич Олегович "
    "Павлович Петрович Сергеевич Фёдорович Юрьевич"
).split()
# Male forms; see feminine_surname().
SURNAMES = (
    "Иванов Петров Сидоров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров "
    "Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов Дмитриев Королёв "
    "Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков "
    "Баранов Комаров Давыдов Беляев Богданов Осипов Бондаренко Коваленко Шевченко Ткаченко Кравчук "
    "Полищук Черных Седых Белых Жуковский Вишневский Островский Троицкий Толстой"
).split()

# Russian mobile operator codes (MTS, MegaFon, Beeline, Tele2, Yota ranges).
MOBILE_CODES = (
    "900 901 902 904 905 906 908 909 910 911 912 913 914 915 916 917 918 919 920 921 922 923 924 925 926 "
    "927 928 929 930 931 950 951 952 953 960 961 962 963 964 965 966 967 968 977 978 980 981 982 983 985 "
    "986 987 988 989 991 992 993 994 995 996 997 999"
).split()
EMAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru", "ya.ru")
TAGS = ("VIP", "постоянный клиент", "опт", "юрлицо", "жалоба", "рассрочка", "доставка за МКАД",
        "предпочитает WhatsApp")
NOTES = (
    "Предпочитает звонки после 18:00", "Просил не звонить по выходным", "Сообщать об акциях и скидках",
    "Плохо слышит, говорить громче и медленнее", "Заказывает для офиса, нужны закрывающие документы",
    "Оплата только картой курьеру", "В будни звонить на рабочий", "Был недоволен сроками доставки",
)
COMPANIES = ("Вектор", "Ромашка", "Альфа-Строй", "СибТорг", "Уралснаб", "ТехноПарк", "Гранит", "Меридиан", "Восход",
             "Эталон", "Дельта", "Северный ветер")
# (sku, name, price in rubles)
PRODUCTS = {
    "tehnomir": (
        ("TM-PH-0013", "Смартфон Xiaomi Redmi Note 13 8/256 ГБ", "21990.00"),
        ("TM-PH-0101", "Смартфон Samsung Galaxy A55 8/128 ГБ", "34990.00"),
        ("TM-TV-0043", "Телевизор LED 43\" 4K Smart TV", "29990.00"),
        ("TM-TV-0055", "Телевизор QLED 55\" 4K", "54990.00"),
        ("TM-NB-0015", "Ноутбук 15,6\" Core i5, 16 ГБ, SSD 512 ГБ", "62990.00"),
        ("TM-HP-0007", "Наушники беспроводные с шумоподавлением", "7990.00"),
        ("TM-CH-0020", "Зарядное устройство USB-C 65 Вт", "2490.00"),
        ("TM-VC-0300", "Робот-пылесос с влажной уборкой", "24990.00"),
        ("TM-KT-0017", "Чайник электрический 1,7 л, стекло", "2790.00"),
        ("TM-MW-0020", "Микроволновая печь 20 л", "8990.00"),
        ("TM-CF-0110", "Кофемашина автоматическая", "39990.00"),
        ("TM-PB-0100", "Внешний аккумулятор 10000 мА·ч", "1990.00"),
        ("TM-SW-0008", "Умные часы с пульсометром", "9490.00"),
        ("TM-CB-0002", "Кабель USB-C — Lightning, 1 м", "890.00"),
    ),
    "domovoy": (
        ("DM-BD-0200", "Комплект постельного белья, евро, сатин", "4590.00"),
        ("DM-PN-0028", "Сковорода антипригарная 28 см", "2190.00"),
        ("DM-PT-0006", "Набор кастрюль из нержавеющей стали, 6 предметов", "6990.00"),
        ("DM-TW-0070", "Полотенце махровое 70×140", "890.00"),
        ("DM-PL-0150", "Плед флисовый 150×200", "1490.00"),
        ("DM-OR-0012", "Органайзер для хранения, 3 ящика", "1290.00"),
        ("DM-PW-0050", "Подушка ортопедическая", "2990.00"),
        ("DM-CR-0180", "Штора блэкаут 180×260", "2490.00"),
        ("DM-GL-0006", "Набор бокалов для вина, 6 шт.", "1790.00"),
        ("DM-DR-0005", "Сушилка для белья напольная", "2290.00"),
        ("DM-LM-0001", "Настольная лампа светодиодная", "1990.00"),
        ("DM-MT-0001", "Коврик для ванной противоскользящий", "690.00"),
        ("DM-KN-0005", "Набор ножей в подставке, 5 предметов", "3490.00"),
    ),
}
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", (
    "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya").split()))


@dataclass(frozen=True)
class DemoData:
    """``clients`` and ``orders`` are plain dicts ready for the repositories;
    an order's ``client_index`` is its client's index in ``clients``.

    ``calls`` are missed inbound calls (``client_index`` None for a number that is nobody's);
    ``tasks`` the operator's day: each has ``kind``, ``status`` (open/done/archived),
    ``client_index`` (or None and ``phone``), ``due_at`` (UTC, the time asked for: placing it in
    the client's calling window is the tasks service's job), ``assigned`` (index of the demo
    operator, None = anyone), ``failures``, ``attempts``, ``history`` ((at, outcome) of earlier
    attempts, oldest first), ``order_index``, ``call_index`` (its missed call) and, when closed,
    ``result``, ``closed_at``, ``closed_reason``."""

    shops: list[dict[str, str]]
    clients: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    calls: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)


def generate_demo(seed: int, now: datetime, clients: int = 1000) -> DemoData:
    """Demo shops, ``clients`` clients, their orders, missed calls and tasks, all created before
    ``now``.

    ``FIXED_CLIENTS`` come first, then ``DAY_CLIENTS`` (as many as ``clients`` allows).  Every phone
    is valid per ``phonenumbers``, unique across clients and never ``UNKNOWN_CALLER``.  ``now`` must
    be timezone-aware; orders use its zone, calls and tasks UTC.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if clients < 0:
        raise ValueError("clients must not be negative")
    rng = random.Random(seed)
    # Sets are only asked about membership, never iterated, so hashing cannot change the output.
    fixed = FIXED_CLIENTS + DAY_CLIENTS
    taken = {UNKNOWN_CALLER, UNKNOWN_MISSED_CALLER} | {p["number"] for c in fixed for p in c["phones"]}
    used_emails = {e for c in fixed for e in c["emails"]}
    fixed_names = [c["name"] for c in fixed]
    result = [_copy_client(c) for c in fixed[:clients]]
    while len(result) < clients:
        client = _random_client(rng, now, taken, used_emails)
        if client["name"] not in fixed_names:
            result.append(client)
    orders = _orders(rng, now, len(result))
    # a generator of its own, so the day's tasks never change the clients and orders above
    calls, tasks = operators_day(random.Random(f"tasks-{seed}"), now.astimezone(timezone.utc), result,
                                 orders, first_random=len(fixed), unknown_caller=UNKNOWN_MISSED_CALLER)
    return DemoData(shops=[dict(s) for s in SHOPS], clients=result, orders=orders, calls=calls, tasks=tasks)


def _copy_client(client: dict[str, Any]) -> dict[str, Any]:
    copy = {**client, "phones": [dict(p) for p in client["phones"]], "emails": list(client["emails"]),
            "tags": list(client["tags"])}
    copy.pop("orders", None)
    return copy


def _random_client(rng: random.Random, now: datetime, taken: set[str], used_emails: set[str]) -> dict[str, Any]:
    city, region, zone, area_codes, _ = rng.choices(CITIES, weights=[c[4] for c in CITIES])[0]
    female = rng.random() < 0.5
    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    surname = rng.choice(SURNAMES)
    surname = feminine_surname(surname) if female else surname
    patronymic = rng.choice(PATRONYMICS)
    patronymic = patronymic[:-2] + "на" if female else patronymic
    name = f"{first} {surname}" if rng.random() < 0.5 else f"{surname} {first} {patronymic}"

    phones = [{"number": _unique_phone(rng, taken, rng.choice(MOBILE_CODES)), "label": "mobile"}]
    for _ in range(rng.choices((0, 1, 2), weights=(65, 28, 7))[0]):
        if rng.random() < 0.6:
            label, prefix = rng.choice(("home", "work")), rng.choice(area_codes)
        else:
            label, prefix = "mobile", rng.choice(MOBILE_CODES)
        phones.append({"number": _unique_phone(rng, taken, prefix), "label": label})

    emails = [_unique_email(rng, first, surname, used_emails)] if rng.random() < 0.6 else []
    birthday = None
    if rng.random() < 0.4:
        birthday = date(now.year - rng.randint(18, 80), 1, 1) + timedelta(days=rng.randrange(365))
    company = None
    if rng.random() < 0.12:
        company = f"{rng.choice(('ООО', 'ООО', 'ООО', 'АО'))} «{rng.choice(COMPANIES)}»"
    return {
        "name": name, "company": company, "city": city, "region": region, "timezone": zone,
        "phones": phones, "emails": emails,
        "tags": rng.sample(TAGS, rng.choice((1, 1, 2))) if rng.random() < 0.35 else [],
        "notes": rng.choice(NOTES) if rng.random() < 0.2 else None,
        "birthday": birthday, "do_not_call": rng.random() < 0.02,
    }


def feminine_surname(surname: str) -> str:
    """Петров -> Петрова, Жуковский -> Жуковская, Толстой -> Толстая;
    Шевченко, Кравчук, Черных do not change."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий", "ой")):
        return surname[:-2] + "ая"
    return surname


def _unique_phone(rng: random.Random, taken: set[str], prefix: str) -> str:
    """A valid E.164 Russian number starting +7<prefix>, not yet in ``taken``."""
    for _ in range(1000):
        local = "".join(rng.choice("0123456789") for _ in range(10 - len(prefix)))
        number = f"+7{prefix}{local}"
        if local[0] not in "01" and number not in taken and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            taken.add(number)
            return number
    raise RuntimeError(f"no valid unused number found for prefix {prefix}")  # pragma: no cover


def _unique_email(rng: random.Random, first: str, surname: str, used: set[str]) -> str:
    base = f"{_latin(first)}.{_latin(surname)}" if rng.random() < 0.6 else f"{_latin(first)[0]}{_latin(surname)}"
    email = f"{base}@{rng.choice(EMAIL_DOMAINS)}"
    while email in used:
        email = f"{base}{rng.randint(1, 9999)}@{rng.choice(EMAIL_DOMAINS)}"
    used.add(email)
    return email


def _latin(word: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in word.lower()).replace("_", "")


def _orders(rng: random.Random, now: datetime, client_count: int) -> list[dict[str, Any]]:
    drafts = []
    for index in range(client_count):
        if index < len(FIXED_CLIENTS):
            # The demo screen pop should show history for the callers in the traces.
            plan = [("tehnomir", timedelta(days=2, hours=3), None), ("domovoy", timedelta(days=35, hours=5), None)]
        elif index < len(FIXED_CLIENTS) + len(DAY_CLIENTS):
            plan = DAY_CLIENTS[index - len(FIXED_CLIENTS)]["orders"]
        elif rng.random() < 0.85:
            plan = [(rng.choice(SHOPS)["slug"], _order_age(rng), None)
                    for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        else:
            plan = []
        for shop, age, status in plan:
            # In UTC: wall-clock arithmetic across a DST change could land on or after now.
            created_at = (now.astimezone(timezone.utc) - age).astimezone(now.tzinfo).replace(microsecond=0)
            drafts.append((created_at, index, shop, status or _status(rng, age), _items(rng, shop)))
    drafts.sort(key=lambda d: (d[0], d[1]))
    sequence = {shop["slug"]: 10_000 for shop in SHOPS}
    orders = []
    for created_at, index, shop, status, items in drafts:
        sequence[shop] += 1
        orders.append({
            "shop_slug": shop, "client_index": index,
            "external_id": str(_EXTERNAL_ID_BASE[shop] + sequence[shop]),
            "number": f"{_ORDER_PREFIX[shop]}-{sequence[shop]}", "status": status,
            "total": sum((item["price"] * item["qty"] for item in items), Decimal("0.00")),
            "currency": "RUB", "items": items, "created_at": created_at,
        })
    return orders


def _order_age(rng: random.Random) -> timedelta:
    """A year of history, weighted so the demo has a live queue of fresh orders."""
    low, high = rng.choices(((600, 86400), (86400, 7 * 86400), (7 * 86400, 365 * 86400)), weights=(6, 14, 80))[0]
    return timedelta(seconds=rng.randrange(low, high))


def _status(rng: random.Random, age: timedelta) -> str:
    """Young orders are still moving; old ones have ended one way or another."""
    if age < timedelta(days=1):
        return rng.choice(("new", "new", "confirmed", "paid"))
    if age < timedelta(days=7):
        return rng.choice(("confirmed", "paid", "shipped", "shipped", "cancelled"))
    return rng.choices(("delivered", "cancelled", "returned"), weights=(80, 13, 7))[0]


def _items(rng: random.Random, shop: str) -> list[dict[str, Any]]:
    products = rng.sample(PRODUCTS[shop], rng.choices((1, 2, 3), weights=(60, 30, 10))[0])
    return [{"sku": sku, "name": name, "qty": rng.choices((1, 2, 3), weights=(80, 15, 5))[0], "price": Decimal(price)}
            for sku, name, price in products]


# the operator's day
