"""domain/client_zone.py and zone_names.py: the client's time zone from what the CRM knows
(zone set on the client, city, region, phone number), or the candidate zones.  Table-driven."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from callcenter.domain.client_zone import (
    RUSSIAN_ZONES, ClientZone, is_time_zone, phone_zones, resolve_client_zone,
)
from callcenter.domain.zone_names import CITY_ZONES, REGION_ZONES, lookup_place, normalise_place

SHOP = ("Europe/Moscow",)
SAKHA = ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")

RESOLVED = [
    # (timezone, city, region, phone) -> (zones, source)
    (("Asia/Omsk", "Москва", "Свердловская обл.", "+73431234567"), (("Asia/Omsk",), "client")),
    ((" Europe/Kaliningrad ", None, None, None), (("Europe/Kaliningrad",), "client")),
    (("Moscow/Kremlin", "Екатеринбург", None, None), (("Asia/Yekaterinburg",), "city")),
    (("UTC+3", None, None, "+74232123456"), (("Asia/Vladivostok",), "phone")),  # not IANA
    (("", "г. Екатеринбург", None, None), (("Asia/Yekaterinburg",), "city")),
    ((None, "Владивосток", "Приморский край", None), (("Asia/Vladivostok",), "city")),
    ((None, "ирбит", "Свердловская область", None), (("Asia/Yekaterinburg",), "region")),
    ((None, None, "Республика Татарстан", "+79161234567"), (("Europe/Moscow",), "region")),
    ((None, None, "Калининградская обл", "+79161234567"), (("Europe/Kaliningrad",), "region")),
    ((None, None, None, "+73431234567"), (("Asia/Yekaterinburg",), "phone")),   # Yekaterinburg
    ((None, None, None, "+74232123456"), (("Asia/Vladivostok",), "phone")),     # Vladivostok
    ((None, None, None, "+74951234567"), (("Europe/Moscow",), "phone")),        # Moscow
    ((None, None, None, "+73832123456"), (("Asia/Novosibirsk",), "phone")),     # Novosibirsk
    ((None, None, None, "+74152123456"), (("Asia/Kamchatka",), "phone")),       # Kamchatka
    # phonenumbers says Europe/Bucharest for Kaliningrad: the Russian zone is used
    ((None, None, None, "+74012123456"), (("Europe/Kaliningrad",), "phone")),
    ((None, None, None, "+380441234567"), (("Europe/Kyiv",), "phone")),
    ((None, None, None, "+37061234567"), (("Europe/Vilnius",), "phone")),       # not Bucharest
    ((None, None, None, "+375291234567"), (("Europe/Minsk",), "phone")),        # not Moscow
    ((None, None, None, "+37121234567"), (("Europe/Riga",), "phone")),
    ((None, None, None, "+3725123456"), (("Europe/Tallinn",), "phone")),
    ((None, None, None, "+12125551234"), (("America/New_York",), "phone")),
    # a +7 9xx mobile: the 11 Russian zones, the shop's first
    ((None, None, None, "+79161234567"),
     (("Europe/Moscow",) + tuple(z for z in RUSSIAN_ZONES if z != "Europe/Moscow"), "phone")),
    ((None, "Урюпинск", "Нарния", "+79161234567"),
     (("Europe/Moscow",) + tuple(z for z in RUSSIAN_ZONES if z != "Europe/Moscow"), "phone")),
    # a Kazakh mobile: Kazakh zones only
    ((None, None, None, "+77011234567"), (("Asia/Almaty", "Asia/Aqtobe"), "phone")),
    # Sakha spans three zones; a fixed line in Yakutsk decides, a mobile does not
    ((None, None, "Республика Саха (Якутия)", None), (SAKHA, "region")),
    ((None, None, "Якутия", "+74112123456"), (("Asia/Yakutsk",), "phone")),
    ((None, None, "Якутия", "+79141234567"), (SAKHA, "region")),
    ((None, "Якутск", "Якутия", "+79141234567"), (("Asia/Yakutsk",), "city")),
    # a city and a region that disagree: both are candidates unless a fixed line decides
    ((None, "Благовещенск", "Республика Башкортостан", "+79161234567"),
     (("Asia/Yakutsk", "Asia/Yekaterinburg"), "city")),
    ((None, "Благовещенск", "Республика Башкортостан", "+73472123456"),
     (("Asia/Yekaterinburg",), "phone")),
    ((None, "Благовещенск", "Амурская обл.", "+79161234567"), (("Asia/Yakutsk",), "city")),
    # ... Kirov's zone keeps Moscow time: no disagreement
    ((None, "Киров", "Калужская область", None), (("Europe/Kirov",), "city")),
    ((None, "Москва", "Татарстан", None), (("Europe/Moscow",), "city")),
    ((None, "Самара", "Саратовская", None), (("Europe/Samara",), "city")),
    # (the shop's zone first among candidates)
    ((None, "Омск", "Московская обл.", None), (("Europe/Moscow", "Asia/Omsk"), "city")),
    ((None, "Владивосток", "Свердловская область", None),
     (("Asia/Vladivostok", "Asia/Yekaterinburg"), "city")),
    # nothing usable: the shop's zone, the only candidate
    ((None, None, None, None), (SHOP, "unknown")),
    ((None, "", "", ""), (SHOP, "unknown")),
    ((None, None, None, "+79001"), (SHOP, "unknown")),          # too short to be a number
    ((None, None, None, "not a number"), (SHOP, "unknown")),
]


@pytest.mark.parametrize("given_, expected", RESOLVED)
def test_the_client_zone_is_resolved_in_order(given_: tuple, expected: tuple) -> None:
    timezone, city, region, phone = given_
    zone = resolve_client_zone(timezone, city, region, phone, fallback=SHOP)
    assert (zone.zones, zone.source) == expected
    assert zone.known is (len(expected[0]) == 1)


def test_a_russian_mobile_gives_all_11_russian_zones() -> None:
    zones = phone_zones("+79161234567")
    assert len(zones) == 11 and set(zones) == set(RUSSIAN_ZONES)
    assert not resolve_client_zone(None, None, None, "+79161234567", fallback=SHOP).known


def test_the_fallback_is_the_shops_zone_and_must_exist() -> None:
    assert resolve_client_zone(None, None, None, None,
                               fallback=("Asia/Omsk",)).zones == ("Asia/Omsk",)
    # among the candidates, the shop's zone comes first
    assert resolve_client_zone(None, None, None, "+79161234567",
                               fallback=("Asia/Omsk",)).zones[0] == "Asia/Omsk"
    with pytest.raises(ValueError):
        resolve_client_zone(None, None, None, None, fallback=())
    with pytest.raises(ValueError):
        resolve_client_zone(None, None, None, None, fallback=("Mars/Olympus",))


FEDERAL_SUBJECTS = [
    ("Республика Адыгея (Адыгея)", "Europe/Moscow"),
    ("Республика Алтай", "Asia/Barnaul"),
    ("Республика Башкортостан", "Asia/Yekaterinburg"),
    ("Республика Бурятия", "Asia/Irkutsk"),
    ("Республика Дагестан", "Europe/Moscow"),
    ("Республика Ингушетия", "Europe/Moscow"),
    ("Кабардино-Балкарская Республика", "Europe/Moscow"),
    ("Республика Калмыкия", "Europe/Moscow"),
    ("Карачаево-Черкесская Республика", "Europe/Moscow"),
    ("Республика Карелия", "Europe/Moscow"),
    ("Республика Коми", "Europe/Moscow"),
    ("Республика Крым", "Europe/Simferopol"),
    ("Республика Марий Эл", "Europe/Moscow"),
    ("Республика Мордовия", "Europe/Moscow"),
    ("Республика Северная Осетия — Алания", "Europe/Moscow"),
    ("Республика Татарстан (Татарстан)", "Europe/Moscow"),
    ("Республика Тыва", "Asia/Krasnoyarsk"),
    ("Удмуртская Республика", "Europe/Samara"),
    ("Республика Хакасия", "Asia/Krasnoyarsk"),
    ("Чеченская Республика", "Europe/Moscow"),
    ("Чувашская Республика — Чувашия", "Europe/Moscow"),
    ("Алтайский край", "Asia/Barnaul"),
    ("Забайкальский край", "Asia/Chita"),
    ("Камчатский край", "Asia/Kamchatka"),
    ("Краснодарский край", "Europe/Moscow"),
    ("Красноярский край", "Asia/Krasnoyarsk"),
    ("Пермский край", "Asia/Yekaterinburg"),
    ("Приморский край", "Asia/Vladivostok"),
    ("Ставропольский край", "Europe/Moscow"),
    ("Хабаровский край", "Asia/Vladivostok"),
    ("Амурская область", "Asia/Yakutsk"),
    ("Архангельская область", "Europe/Moscow"),
    ("Астраханская область", "Europe/Astrakhan"),
    ("Белгородская область", "Europe/Moscow"),
    ("Брянская область", "Europe/Moscow"),
    ("Владимирская область", "Europe/Moscow"),
    ("Волгоградская область", "Europe/Volgograd"),
    ("Вологодская область", "Europe/Moscow"),
    ("Воронежская область", "Europe/Moscow"),
    ("Ивановская область", "Europe/Moscow"),
    ("Иркутская область", "Asia/Irkutsk"),
    ("Калининградская область", "Europe/Kaliningrad"),
    ("Калужская область", "Europe/Moscow"),
    ("Кемеровская область — Кузбасс", "Asia/Novokuznetsk"),
    ("Кировская область", "Europe/Kirov"),
    ("Костромская область", "Europe/Moscow"),
    ("Курганская область", "Asia/Yekaterinburg"),
    ("Курская область", "Europe/Moscow"),
    ("Ленинградская область", "Europe/Moscow"),
    ("Липецкая область", "Europe/Moscow"),
    ("Магаданская область", "Asia/Magadan"),
    ("Московская область", "Europe/Moscow"),
    ("Мурманская область", "Europe/Moscow"),
    ("Нижегородская область", "Europe/Moscow"),
    ("Новгородская область", "Europe/Moscow"),
    ("Новосибирская область", "Asia/Novosibirsk"),
    ("Омская область", "Asia/Omsk"),
    ("Оренбургская область", "Asia/Yekaterinburg"),
    ("Орловская область", "Europe/Moscow"),
    ("Пензенская область", "Europe/Moscow"),
    ("Псковская область", "Europe/Moscow"),
    ("Ростовская область", "Europe/Moscow"),
    ("Рязанская область", "Europe/Moscow"),
    ("Самарская область", "Europe/Samara"),
    ("Саратовская область", "Europe/Saratov"),
    ("Сахалинская область", "Asia/Sakhalin"),
    ("Свердловская область", "Asia/Yekaterinburg"),
    ("Смоленская область", "Europe/Moscow"),
    ("Тамбовская область", "Europe/Moscow"),
    ("Тверская область", "Europe/Moscow"),
    ("Томская область", "Asia/Tomsk"),
    ("Тульская область", "Europe/Moscow"),
    ("Тюменская область", "Asia/Yekaterinburg"),
    ("Ульяновская область", "Europe/Ulyanovsk"),
    ("Челябинская область", "Asia/Yekaterinburg"),
    ("Ярославская область", "Europe/Moscow"),
    ("Москва", "Europe/Moscow"),
    ("Санкт-Петербург", "Europe/Moscow"),
    ("Севастополь", "Europe/Simferopol"),
    ("Еврейская автономная область", "Asia/Vladivostok"),
    ("Ненецкий автономный округ", "Europe/Moscow"),
    ("Ханты-Мансийский автономный округ — Югра", "Asia/Yekaterinburg"),
    ("Чукотский автономный округ", "Asia/Anadyr"),
    ("Ямало-Ненецкий автономный округ", "Asia/Yekaterinburg"),
]


def test_all_federal_subjects_are_listed() -> None:
    # 85 by their names in the Constitution, plus Sakha (several zones, tested above)
    assert len(FEDERAL_SUBJECTS) == 84


@pytest.mark.parametrize("name, zone", FEDERAL_SUBJECTS)
def test_every_federal_subject_by_its_official_name(name: str, zone: str) -> None:
    assert resolve_client_zone(None, None, name, None, fallback=("Asia/Tokyo",)) == \
        ClientZone((zone,), "region")


REGION_SPELLINGS = [
    ("Свердловская обл.", "Asia/Yekaterinburg"),
    ("свердловская обл", "Asia/Yekaterinburg"),
    ("СВЕРДЛОВСКАЯ ОБЛАСТЬ", "Asia/Yekaterinburg"),
    ("обл. Свердловская", "Asia/Yekaterinburg"),
    ("Россия, Свердловская обл.", "Asia/Yekaterinburg"),
    ("Респ. Татарстан", "Europe/Moscow"),
    ("Татарстан", "Europe/Moscow"),
    ("Республика Башкирия", "Asia/Yekaterinburg"),
    ("Орловская", "Europe/Moscow"),
    ("Приморский край", "Asia/Vladivostok"),
    ("Приморье", "Asia/Vladivostok"),
    ("ХМАО", "Asia/Yekaterinburg"),
    ("ХМАО-Югра", "Asia/Yekaterinburg"),
    ("Ямало-Ненецкий АО", "Asia/Yekaterinburg"),
    ("Ненецкий АО", "Europe/Moscow"),
    ("Кемеровская обл.", "Asia/Novokuznetsk"),
    ("Кузбасс", "Asia/Novokuznetsk"),
    ("Sverdlovsk Oblast", "Asia/Yekaterinburg"),
    ("Kaliningrad region", "Europe/Kaliningrad"),
    ("Беларусь", "Europe/Minsk"),
    ("Литва", "Europe/Vilnius"),
    ("Україна", "Europe/Kyiv"),
]


@pytest.mark.parametrize("name, zone", REGION_SPELLINGS)
def test_regions_are_found_however_written(name: str, zone: str) -> None:
    assert lookup_place(name, REGION_ZONES) == (zone,)


CITIES = [
    ("Москва", "Europe/Moscow"),
    ("г. Москва", "Europe/Moscow"),
    ("г.Москва", "Europe/Moscow"),
    ("город Москва", "Europe/Moscow"),
    ("МОСКВА", "Europe/Moscow"),
    ("Moscow", "Europe/Moscow"),
    ("Санкт-Петербург", "Europe/Moscow"),
    ("Санкт Петербург", "Europe/Moscow"),
    ("СПб", "Europe/Moscow"),
    ("Екатеринбург", "Asia/Yekaterinburg"),
    ("Yekaterinburg", "Asia/Yekaterinburg"),
    ("Владивосток", "Asia/Vladivostok"),
    ("Калининград", "Europe/Kaliningrad"),
    ("Орёл", "Europe/Moscow"),
    ("Орел", "Europe/Moscow"),
    ("Королёв", "Europe/Moscow"),
    ("Артем", "Asia/Vladivostok"),
    ("Ростов-на-Дону", "Europe/Moscow"),
    ("Нижний Новгород", "Europe/Moscow"),
    ("Комсомольск-на-Амуре", "Asia/Vladivostok"),
    ("Петропавловск-Камчатский", "Asia/Kamchatka"),
    ("Южно-Сахалинск", "Asia/Sakhalin"),
    ("Самара", "Europe/Samara"),
    ("Ижевск", "Europe/Samara"),
    ("Саратов", "Europe/Saratov"),
    ("Ульяновск", "Europe/Ulyanovsk"),
    ("Астрахань", "Europe/Astrakhan"),
    ("Волгоград", "Europe/Volgograd"),
    ("Киров", "Europe/Kirov"),
    ("Омск", "Asia/Omsk"),
    ("Новосибирск", "Asia/Novosibirsk"),
    ("Томск", "Asia/Tomsk"),
    ("Барнаул", "Asia/Barnaul"),
    ("Кемерово", "Asia/Novokuznetsk"),
    ("Красноярск", "Asia/Krasnoyarsk"),
    ("Иркутск", "Asia/Irkutsk"),
    ("Улан-Удэ", "Asia/Irkutsk"),
    ("Чита", "Asia/Chita"),
    ("Якутск", "Asia/Yakutsk"),
    ("Хабаровск", "Asia/Vladivostok"),
    ("Магадан", "Asia/Magadan"),
    ("Анадырь", "Asia/Anadyr"),
    ("Симферополь", "Europe/Simferopol"),
    # CIS and Baltic capitals
    ("Киев", "Europe/Kyiv"),
    ("Kyiv", "Europe/Kyiv"),
    ("Київ", "Europe/Kyiv"),
    ("Минск", "Europe/Minsk"),
    ("Вильнюс", "Europe/Vilnius"),
    ("Рига", "Europe/Riga"),
    ("Таллин", "Europe/Tallinn"),
    ("Таллинн", "Europe/Tallinn"),
    ("Алматы", "Asia/Almaty"),
    ("Алма-Ата", "Asia/Almaty"),
    ("Астана", "Asia/Almaty"),
    ("Ташкент", "Asia/Tashkent"),
    ("Бишкек", "Asia/Bishkek"),
    ("Кишинёв", "Europe/Chisinau"),
    ("Кишинев", "Europe/Chisinau"),
    ("Chișinău", "Europe/Chisinau"),
    ("Тбилиси", "Asia/Tbilisi"),
    ("Ереван", "Asia/Yerevan"),
    ("Баку", "Asia/Baku"),
    ("Baku", "Asia/Baku"),
]


@pytest.mark.parametrize("name, zone", CITIES)
def test_cities_are_found_however_written(name: str, zone: str) -> None:
    assert lookup_place(name, CITY_ZONES) == (zone,)
    assert resolve_client_zone(None, name, None, "+79161234567", fallback=SHOP) == \
        ClientZone((zone,), "city")


@pytest.mark.parametrize("name", ["", "   ", "г.", "Урюпинск", "Нарния", "обл.", "12345"])
def test_unknown_places_give_nothing(name: str) -> None:
    assert lookup_place(name, CITY_ZONES) == ()
    assert lookup_place(name, REGION_ZONES) == ()


def test_a_name_naming_two_zones_gives_nothing() -> None:
    # two regions of different zones in one text: no guess
    assert lookup_place("Омская Томская", REGION_ZONES) == ()
    # the longer run wins over a shorter one inside it
    assert lookup_place("Ямало-Ненецкий автономный округ, Салехард", REGION_ZONES) == \
        ("Asia/Yekaterinburg",)


@pytest.mark.parametrize("text, normal", [
    ("г. Орёл", "орел"),
    ("Ханты-Мансийский АО — Югра", "ханты мансийский югра"),
    ("Республика Саха (Якутия)", "саха якутия"),
    ("  Нижний   Новгород ", "нижний новгород"),
])
def test_place_names_are_normalised(text: str, normal: str) -> None:
    assert normalise_place(text) == normal


def test_every_listed_zone_exists() -> None:
    for zones in list(CITY_ZONES.values()) + list(REGION_ZONES.values()):
        for zone in zones:
            assert is_time_zone(zone), zone
    assert all(is_time_zone(zone) for zone in RUSSIAN_ZONES)


def test_client_zone_text_round_trip() -> None:
    zone = resolve_client_zone(None, None, None, "+79161234567", fallback=SHOP)
    assert ClientZone.from_text(zone.text).zones == zone.zones
    assert ClientZone.from_text("Asia/Omsk") == ClientZone(("Asia/Omsk",), "client")
    with pytest.raises(ValueError):
        ClientZone.from_text("Asia/Omsk,Mars/Olympus")
    with pytest.raises(ValueError):
        ClientZone.from_text("")


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40),
       st.from_regex(r"\+?[0-9]{0,15}", fullmatch=True))
def test_any_input_resolves_to_existing_zones(timezone: str, city: str, region: str,
                                              phone: str) -> None:
    zone = resolve_client_zone(timezone, city, region, phone, fallback=SHOP)
    assert zone.zones and all(is_time_zone(name) for name in zone.zones)
    assert zone.source in {"client", "city", "region", "phone", "unknown"}
    assert zone.known is (len(zone.zones) == 1)
