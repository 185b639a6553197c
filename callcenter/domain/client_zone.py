"""Which time zone a client lives in, from what the CRM knows about them.  Pure.

Order, first answer wins (:func:`resolve_client_zone`):

1. ``client``: the IANA zone set on the client, if it is a zone this machine knows (anything
   else is ignored, not an error: it was typed by a person or imported);
2. ``city``: the city, by name (:mod:`callcenter.domain.zone_names`);
3. ``region``: the region (federal subject, or a CIS/Baltic country), by name;
4. ``phone``: the zones ``phonenumbers`` gives for the number.  Exactly one zone is an answer
   (``+7 343 ...`` is Yekaterinburg).  Several are candidates: a Russian mobile number
   (``+7 9xx``) could be anywhere from Kaliningrad to Kamchatka, so it gives the 11 Russian
   zones;
5. ``unknown``: nothing usable; the shop's zone (``fallback``) is the only candidate.

A region spanning several zones (Sakha) gives candidates too, and so do a city and a region
that disagree (Благовещенск is Amur's capital, and a town in Bashkortostan four hours behind):
then a phone number with exactly one zone still wins, else those candidates are used, so the
client is called only in hours that suit every reading.

``phonenumbers`` names one zone per UTC offset for some countries, not always the country's own
(Kaliningrad and Lithuanian numbers come back as ``Europe/Bucharest``, Belarusian ones as
``Europe/Moscow``; for a ``+7`` mobile it lists Kazakh zones as well).  The country of the
number decides: a country with one zone gets that zone; Russian and Kazakh numbers keep only
their country's zones, a foreign stand-in replaced by the Russian zone of the same offset, and
several Russian candidates are reduced to one zone per offset.

:attr:`ClientZone.known` means exactly one zone: the calling window is that zone's.  When
``source`` is ``"unknown"`` the one zone is the shop's, assumed rather than known.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezones

from callcenter.domain.zone_names import CITY_ZONES, REGION_ZONES, lookup_place

__all__ = [
    "RUSSIAN_ZONES",
    "ClientZone",
    "is_time_zone",
    "phone_zones",
    "resolve_client_zone",
]

#: One zone per Russian time (MSK-1 .. MSK+9), west to east: the candidates of a +7 mobile.
RUSSIAN_ZONES: tuple[str, ...] = (
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
    "Asia/Kamchatka",
)

#: Every IANA zone in Russia -> the zone of RUSSIAN_ZONES with the same time (used to reduce
#: several candidates to one per offset), plus the foreign stand-in phonenumbers uses.
_RUSSIAN_ZONE_OF: dict[str, str] = {
    "Europe/Bucharest": "Europe/Kaliningrad",
    "Europe/Kaliningrad": "Europe/Kaliningrad",
    "Europe/Moscow": "Europe/Moscow", "Europe/Kirov": "Europe/Moscow",
    "Europe/Volgograd": "Europe/Moscow", "Europe/Simferopol": "Europe/Moscow",
    "Europe/Samara": "Europe/Samara", "Europe/Astrakhan": "Europe/Samara",
    "Europe/Saratov": "Europe/Samara", "Europe/Ulyanovsk": "Europe/Samara",
    "Asia/Yekaterinburg": "Asia/Yekaterinburg",
    "Asia/Omsk": "Asia/Omsk",
    "Asia/Krasnoyarsk": "Asia/Krasnoyarsk", "Asia/Novosibirsk": "Asia/Krasnoyarsk",
    "Asia/Barnaul": "Asia/Krasnoyarsk", "Asia/Tomsk": "Asia/Krasnoyarsk",
    "Asia/Novokuznetsk": "Asia/Krasnoyarsk",
    "Asia/Irkutsk": "Asia/Irkutsk",
    "Asia/Yakutsk": "Asia/Yakutsk", "Asia/Chita": "Asia/Yakutsk", "Asia/Khandyga": "Asia/Yakutsk",
    "Asia/Vladivostok": "Asia/Vladivostok", "Asia/Ust-Nera": "Asia/Vladivostok",
    "Asia/Magadan": "Asia/Magadan", "Asia/Sakhalin": "Asia/Magadan",
    "Asia/Srednekolymsk": "Asia/Magadan",
    "Asia/Kamchatka": "Asia/Kamchatka", "Asia/Anadyr": "Asia/Kamchatka",
}

_KAZAKH_ZONES = frozenset({
    "Asia/Almaty", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral", "Asia/Qostanay",
    "Asia/Qyzylorda",
})

#: Countries with one zone: the number's country decides, whatever zone phonenumbers names.
_COUNTRY_ZONE: dict[str, str] = {
    "BY": "Europe/Minsk", "LT": "Europe/Vilnius", "LV": "Europe/Riga", "EE": "Europe/Tallinn",
    "MD": "Europe/Chisinau", "GE": "Asia/Tbilisi", "AM": "Asia/Yerevan", "AZ": "Asia/Baku",
    "UZ": "Asia/Tashkent", "KG": "Asia/Bishkek", "TJ": "Asia/Dushanbe", "TM": "Asia/Ashgabat",
    "UA": "Europe/Kyiv",
}


@dataclass(frozen=True)
class ClientZone:
    """The zone a client's calling hours are reckoned in, or the candidate zones.

    ``zones`` holds one IANA zone when it is known, else the candidates (never empty);
    ``source`` says where they came from: ``"client" | "city" | "region" | "phone" |
    "unknown"`` (``"unknown"``: nothing usable, the shop's zone assumed).
    """

    zones: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if not self.zones:
            raise ValueError("a client zone needs at least one zone")

    @property
    def known(self) -> bool:
        """Exactly one zone."""
        return len(self.zones) == 1

    @property
    def text(self) -> str:
        """The zones comma-separated, as stored in ``tasks.timezone``."""
        return ",".join(self.zones)

    @classmethod
    def from_text(cls, text: str, source: str = "client") -> "ClientZone":
        """Back from :attr:`text` (ValueError if empty or naming an unknown zone)."""
        zones = tuple(part.strip() for part in str(text or "").split(",") if part.strip())
        for zone in zones:
            if not is_time_zone(zone):
                raise ValueError(f"unknown IANA time zone {zone!r}")
        return cls(zones, source if len(zones) == 1 else "unknown")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this machine knows (``"Europe/Moscow"``: yes)."""
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ValueError, OSError):
        return False
    return True


def phone_zones(e164: str | None) -> tuple[str, ...]:
    """The zones a phone number may be in, corrected by its country (module docstring);
    ``()`` when the number says nothing."""
    if not e164:
        return ()
    try:
        number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164, None)
    except phonenumbers.NumberParseException:
        return ()
    country = phonenumbers.region_code_for_number(number)
    if country in _COUNTRY_ZONE:
        return (_COUNTRY_ZONE[country],)
    zones = [zone for zone in phone_timezones.time_zones_for_number(number)
             if zone != "Etc/Unknown"]
    if country == "RU":
        zones = [_RUSSIAN_ZONE_OF["Europe/Bucharest"] if zone == "Europe/Bucharest" else zone
                 for zone in zones if zone in _RUSSIAN_ZONE_OF]
        if len(zones) > 1:
            grouped = {_RUSSIAN_ZONE_OF[zone] for zone in zones}
            zones = [zone for zone in RUSSIAN_ZONES if zone in grouped]
    elif country == "KZ":
        zones = [zone for zone in zones if zone in _KAZAKH_ZONES]
    return tuple(dict.fromkeys(zone for zone in zones if is_time_zone(zone)))


def _same_time(zone: str, other: str) -> bool:
    """The same zone, or two Russian zones that keep the same time (Europe/Kirov, Moscow)."""
    group = _RUSSIAN_ZONE_OF.get(zone)
    return zone == other or (group is not None and group == _RUSSIAN_ZONE_OF.get(other))


def _first(zones: tuple[str, ...], preferred: tuple[str, ...]) -> tuple[str, ...]:
    """The same zones with the shop's one first, so a view of an unknown zone shows it."""
    head = tuple(zone for zone in preferred if zone in zones)
    return head + tuple(zone for zone in zones if zone not in head)


def resolve_client_zone(timezone: str | None, city: str | None, region: str | None,
                        e164: str | None, *, fallback: tuple[str, ...]) -> ClientZone:
    """The client's zone, or the candidate zones (see the module docstring for the order).

    ``fallback`` is the shop's zone (``settings.timezone``), as a tuple; it must not be empty.
    Candidates are ordered with the fallback first when it is among them.
    """
    fallback = tuple(zone for zone in fallback if is_time_zone(zone))
    if not fallback:
        raise ValueError("resolve_client_zone needs a fallback zone that exists")
    if timezone and is_time_zone(timezone.strip()):
        return ClientZone((timezone.strip(),), "client")
    city_zones = lookup_place(city, CITY_ZONES)
    region_zones = lookup_place(region, REGION_ZONES)
    if city_zones:
        if not region_zones or any(_same_time(city_zones[0], zone) for zone in region_zones):
            return ClientZone(city_zones, "city")
        # a city name found in another region's zone (Благовещенск, Башкортостан): both
        places = city_zones + tuple(zone for zone in region_zones if zone not in city_zones)
        source = "city"
    elif len(region_zones) == 1:
        return ClientZone(region_zones, "region")
    else:
        places, source = region_zones, "region"
    by_phone = phone_zones(e164)
    if len(by_phone) == 1:
        return ClientZone(by_phone, "phone")
    if places:
        return ClientZone(_first(places, fallback), source)
    if by_phone:
        return ClientZone(_first(by_phone, fallback), "phone")
    return ClientZone(fallback[:1], "unknown")
