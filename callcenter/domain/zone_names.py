"""Place names -> IANA time zones: Russia's federal subjects and cities, the main CIS and Baltic
capitals.  Data for :mod:`callcenter.domain.client_zone`; pure.

Names are compared after :func:`normalise_place`: lower case, ``ё`` = ``е``, punctuation and
hyphens as spaces, and the words that only say what kind of place it is left out (``г.``,
``город``, ``обл.``, ``область``, ``край``, ``Республика``, ``АО``, ``автономный округ`` ...),
so "г. Екатеринбург", "Свердловская обл." and "Республика Татарстан" find their entries.

The Sakha Republic spans three zones (MSK+6 in Yakutsk, MSK+7 on the Indigirka, MSK+8 in the
east): the region alone gives those three as candidates, a city gives one.
"""

from __future__ import annotations

__all__ = ["CITY_ZONES", "REGION_ZONES", "lookup_place", "normalise_place"]

#: Words that say what kind of place a name is, not which one.
_KIND_WORDS = frozenset({
    "г", "гор", "город", "пгт", "пос", "поселок", "село", "обл", "область", "край", "респ",
    "республика", "ао", "авт", "автономный", "автономная", "округ", "федерального",
    "значения", "city", "oblast", "region", "republic", "krai", "kray", "province", "of", "the",
})

def normalise_place(text: str | None) -> str:
    """``"г. Орёл"`` -> ``"орел"``; ``"Ханты-Мансийский АО — Югра"`` -> ``"ханты мансийский югра"``."""
    text = str(text or "").lower().replace("ё", "е")
    words = "".join(char if char.isalnum() else " " for char in text).split()
    return " ".join(word for word in words if word not in _KIND_WORDS)


# Zone -> names separated by "|" (each is normalised when the tables are built).
_REGIONS: tuple[tuple[str, str], ...] = (
    ("Europe/Kaliningrad", "Калининградская|Kaliningrad"),
    ("Europe/Moscow",
     "Москва|Московская|Подмосковье|Санкт-Петербург|Ленинградская|Адыгея|Республика Адыгея "
     "(Адыгея)|Дагестан|Ингушетия|Кабардино-Балкарская|Кабардино-Балкария|КБР|Калмыкия|"
     "Карачаево-Черкесская|Карачаево-Черкесия|КЧР|Карелия|Коми|Марий Эл|Мордовия|"
     "Северная Осетия — Алания|Северная Осетия|Алания|Татарстан|Татарстан (Татарстан)|"
     "Чеченская|Чечня|Чувашская|Чувашия|Чувашская Республика — Чувашия|Краснодарский|Кубань|"
     "Ставропольский|Архангельская|Белгородская|Брянская|Владимирская|Вологодская|"
     "Воронежская|Ивановская|Калужская|Костромская|Курская|Липецкая|Мурманская|"
     "Нижегородская|Новгородская|Орловская|Пензенская|Псковская|Ростовская|Рязанская|"
     "Смоленская|Тамбовская|Тверская|Тульская|Ярославская|Ненецкий|НАО|"
     "Moscow|Moscow Oblast|Saint Petersburg|St Petersburg|Leningrad|Tatarstan|Krasnodar"),
    ("Europe/Kirov", "Кировская|Kirov"),
    ("Europe/Volgograd", "Волгоградская|Volgograd"),
    ("Europe/Simferopol", "Крым|Республика Крым|Севастополь|Crimea|Sevastopol"),
    ("Europe/Samara", "Самарская|Удмуртская|Удмуртия|Samara|Udmurtia"),
    ("Europe/Ulyanovsk", "Ульяновская|Ulyanovsk"),
    ("Europe/Saratov", "Саратовская|Saratov"),
    ("Europe/Astrakhan", "Астраханская|Astrakhan"),
    ("Asia/Yekaterinburg",
     "Свердловская|Челябинская|Курганская|Тюменская|Оренбургская|Пермский|Пермская|"
     "Башкортостан|Башкирия|Башкортостан (Башкирия)|Ханты-Мансийский|Ханты-Мансийский — Югра|"
     "Югра|ХМАО|ХМАО-Югра|Ямало-Ненецкий|ЯНАО|Sverdlovsk|Chelyabinsk|Tyumen|Perm|"
     "Bashkortostan"),
    ("Asia/Omsk", "Омская|Omsk"),
    ("Asia/Novosibirsk", "Новосибирская|Novosibirsk"),
    ("Asia/Tomsk", "Томская|Tomsk"),
    ("Asia/Barnaul", "Алтайский|Алтай|Горный Алтай|Altai"),
    ("Asia/Novokuznetsk", "Кемеровская|Кузбасс|Кемеровская область — Кузбасс|Kemerovo|Kuzbass"),
    ("Asia/Krasnoyarsk", "Красноярский|Тыва|Тува|Хакасия|Krasnoyarsk|Tuva|Khakassia"),
    ("Asia/Irkutsk", "Иркутская|Бурятия|Irkutsk|Buryatia"),
    ("Asia/Chita", "Забайкальский|Забайкалье|Читинская|Zabaykalsky"),
    ("Asia/Yakutsk", "Амурская|Amur"),
    ("Asia/Vladivostok",
     "Приморский|Приморье|Хабаровский|Еврейская|ЕАО|Primorsky|Primorye|Khabarovsk"),
    ("Asia/Magadan", "Магаданская|Magadan"),
    ("Asia/Sakhalin", "Сахалинская|Sakhalin"),
    ("Asia/Kamchatka", "Камчатский|Камчатка|Kamchatka"),
    ("Asia/Anadyr", "Чукотский|Чукотка|Chukotka"),
    # countries that keep one zone
    ("Europe/Kyiv", "Украина|Україна|Ukraine"),
    ("Europe/Minsk", "Беларусь|Белоруссия|Belarus"),
    ("Europe/Vilnius", "Литва|Lithuania"),
    ("Europe/Riga", "Латвия|Latvia"),
    ("Europe/Tallinn", "Эстония|Estonia"),
    ("Europe/Chisinau", "Молдова|Молдавия|Moldova"),
    ("Asia/Tbilisi", "Грузия|Georgia"),
    ("Asia/Yerevan", "Армения|Armenia"),
    ("Asia/Baku", "Азербайджан|Azerbaijan"),
    ("Asia/Tashkent", "Узбекистан|Uzbekistan"),
    ("Asia/Bishkek", "Кыргызстан|Киргизия|Kyrgyzstan"),
    ("Asia/Almaty", "Казахстан|Kazakhstan"),
)

#: Regions that span several zones: name -> candidate zones.
_SPLIT_REGIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk"),
     "Саха|Якутия|Саха (Якутия)|Республика Саха (Якутия)|Sakha|Yakutia"),
)

_CITIES: tuple[tuple[str, str], ...] = (
    ("Europe/Kaliningrad", "Калининград|Советск|Черняховск|Балтийск|Kaliningrad"),
    ("Europe/Moscow",
     "Москва|Зеленоград|Санкт-Петербург|Петербург|Питер|СПб|Ленинград|Колпино|Пушкин|"
     "Подольск|Балашиха|Химки|Королёв|Мытищи|Люберцы|Красногорск|Электросталь|Коломна|"
     "Одинцово|Домодедово|Серпухов|Щёлково|Орехово-Зуево|Сергиев Посад|Раменское|"
     "Долгопрудный|Жуковский|Пушкино|Реутов|Ногинск|Гатчина|Выборг|Майкоп|Махачкала|Дербент|"
     "Хасавюрт|Каспийск|Магас|Назрань|Нальчик|Элиста|Черкесск|Петрозаводск|Сыктывкар|Ухта|"
     "Воркута|Йошкар-Ола|Саранск|Владикавказ|Казань|Набережные Челны|Нижнекамск|Альметьевск|"
     "Грозный|Чебоксары|Новочебоксарск|Краснодар|Сочи|Новороссийск|Армавир|Анапа|Геленджик|"
     "Ставрополь|Пятигорск|Кисловодск|Невинномысск|Ессентуки|Архангельск|Северодвинск|"
     "Белгород|Старый Оскол|Брянск|Владимир|Ковров|Муром|Вологда|Череповец|Воронеж|Иваново|"
     "Калуга|Обнинск|Кострома|Курск|Липецк|Елец|Мурманск|Нижний Новгород|Дзержинск|Арзамас|"
     "Великий Новгород|Новгород|Орёл|Пенза|Псков|Великие Луки|Ростов-на-Дону|Таганрог|Шахты|"
     "Новочеркасск|Волгодонск|Батайск|Рязань|Смоленск|Тамбов|Тверь|Тула|Новомосковск|"
     "Ярославль|Рыбинск|Нарьян-Мар|Moscow|Saint Petersburg|St Petersburg|Kazan|"
     "Nizhny Novgorod|Rostov-on-Don|Krasnodar|Sochi|Voronezh"),
    ("Europe/Kirov", "Киров|Kirov"),
    ("Europe/Volgograd", "Волгоград|Волжский|Камышин|Volgograd"),
    ("Europe/Simferopol", "Симферополь|Севастополь|Керчь|Евпатория|Ялта|Феодосия|"
     "Simferopol|Sevastopol"),
    ("Europe/Samara", "Самара|Тольятти|Сызрань|Новокуйбышевск|Ижевск|Сарапул|Воткинск|Глазов|"
     "Samara|Tolyatti|Izhevsk"),
    ("Europe/Ulyanovsk", "Ульяновск|Димитровград|Ulyanovsk"),
    ("Europe/Saratov", "Саратов|Энгельс|Балаково|Saratov"),
    ("Europe/Astrakhan", "Астрахань|Astrakhan"),
    ("Asia/Yekaterinburg",
     "Екатеринбург|Нижний Тагил|Каменск-Уральский|Первоуральск|Челябинск|Магнитогорск|"
     "Златоуст|Миасс|Копейск|Курган|Тюмень|Тобольск|Оренбург|Орск|Новотроицк|Пермь|"
     "Березники|Уфа|Стерлитамак|Салават|Нефтекамск|Ханты-Мансийск|Сургут|Нижневартовск|"
     "Нефтеюганск|Когалым|Салехард|Новый Уренгой|Ноябрьск|Надым|Yekaterinburg|"
     "Ekaterinburg|Chelyabinsk|Tyumen|Perm|Ufa|Surgut"),
    ("Asia/Omsk", "Омск|Omsk"),
    ("Asia/Novosibirsk", "Новосибирск|Бердск|Novosibirsk"),
    ("Asia/Tomsk", "Томск|Северск|Tomsk"),
    ("Asia/Barnaul", "Барнаул|Бийск|Рубцовск|Горно-Алтайск|Barnaul"),
    ("Asia/Novokuznetsk", "Кемерово|Новокузнецк|Прокопьевск|Междуреченск|Kemerovo|"
     "Novokuznetsk"),
    ("Asia/Krasnoyarsk", "Красноярск|Норильск|Ачинск|Канск|Кызыл|Абакан|Krasnoyarsk|Norilsk"),
    ("Asia/Irkutsk", "Иркутск|Братск|Ангарск|Улан-Удэ|Irkutsk|Ulan-Ude"),
    ("Asia/Chita", "Чита|Chita"),
    ("Asia/Yakutsk", "Якутск|Нерюнгри|Благовещенск|Yakutsk|Blagoveshchensk"),
    ("Asia/Vladivostok", "Владивосток|Находка|Уссурийск|Артём|Хабаровск|"
     "Комсомольск-на-Амуре|Биробиджан|Vladivostok|Khabarovsk"),
    ("Asia/Magadan", "Магадан|Magadan"),
    ("Asia/Sakhalin", "Южно-Сахалинск|Yuzhno-Sakhalinsk"),
    ("Asia/Kamchatka", "Петропавловск-Камчатский|Petropavlovsk-Kamchatsky"),
    ("Asia/Anadyr", "Анадырь|Anadyr"),
    # CIS and Baltic capitals
    ("Europe/Kyiv", "Киев|Київ|Kyiv|Kiev"),
    ("Europe/Minsk", "Минск|Мінск|Minsk"),
    ("Europe/Vilnius", "Вильнюс|Vilnius"),
    ("Europe/Riga", "Рига|Riga"),
    ("Europe/Tallinn", "Таллин|Таллинн|Tallinn"),
    ("Asia/Almaty", "Алматы|Алма-Ата|Almaty|Астана|Нур-Султан|Astana|Nur-Sultan"),
    ("Asia/Tashkent", "Ташкент|Tashkent"),
    ("Asia/Bishkek", "Бишкек|Bishkek"),
    ("Europe/Chisinau", "Кишинёв|Кишинэу|Chisinau|Chișinău"),
    ("Asia/Tbilisi", "Тбилиси|Tbilisi"),
    ("Asia/Yerevan", "Ереван|Yerevan"),
    ("Asia/Baku", "Баку|Baku"),
)


def _table(rows: tuple[tuple[tuple[str, ...], str], ...]) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for zones, names in rows:
        for name in names.split("|"):
            key = normalise_place(name)
            if key in table and table[key] != zones:
                raise ValueError(f"place name {name!r} listed for {table[key]} and {zones}")
            table[key] = zones
    return table


#: Normalised region name -> zones (one, or the candidates of a region spanning several).
REGION_ZONES: dict[str, tuple[str, ...]] = _table(
    tuple(((zone,), names) for zone, names in _REGIONS) + _SPLIT_REGIONS)
#: Normalised city name -> zones (always one).
CITY_ZONES: dict[str, tuple[str, ...]] = _table(tuple(((zone,), names) for zone, names in _CITIES))


def lookup_place(text: str | None, table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The zones of a place name, or ``()`` when it is not known.

    The whole name is looked up first; failing that, its runs of consecutive words, longest
    first ("Россия, Свердловская обл., г. Ирбит" finds "свердловская").  When the runs of one
    length name different zones the answer is ``()``: better no answer than a wrong one.
    """
    key = normalise_place(text)
    if not key:
        return ()
    if key in table:
        return table[key]
    words = key.split()
    for size in range(len(words) - 1, 0, -1):
        found = {table[run] for run in (" ".join(words[i:i + size])
                                        for i in range(len(words) - size + 1)) if run in table}
        if len(found) == 1:
            return found.pop()
        if found:
            return ()
    return ()
