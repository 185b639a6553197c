// IANA zones offered in the client form, grouped for the select. Group titles
// and city names live in i18n.js ("tzgroup.*", "tz.<zone>").

export const TIMEZONE_GROUPS = [
  {
    group: "russia",
    zones: [
      "Europe/Kaliningrad", "Europe/Moscow", "Europe/Simferopol", "Europe/Volgograd", "Europe/Kirov",
      "Europe/Samara", "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Astrakhan",
      "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk", "Asia/Barnaul", "Asia/Tomsk",
      "Asia/Novokuznetsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Chita", "Asia/Yakutsk",
      "Asia/Vladivostok", "Asia/Sakhalin", "Asia/Magadan", "Asia/Srednekolymsk",
      "Asia/Kamchatka", "Asia/Anadyr",
    ],
  },
  { group: "ukraine", zones: ["Europe/Kyiv"] },
  {
    group: "neighbours",
    zones: [
      "Europe/Minsk", "Europe/Chisinau", "Europe/Riga", "Europe/Vilnius", "Europe/Tallinn",
      "Europe/Warsaw", "Asia/Tbilisi", "Asia/Yerevan", "Asia/Baku", "Asia/Almaty",
      "Asia/Tashkent", "Asia/Bishkek", "Asia/Dushanbe",
    ],
  },
  {
    group: "world",
    zones: [
      "UTC", "Europe/London", "Europe/Berlin", "Europe/Prague", "Europe/Istanbul",
      "Asia/Jerusalem", "Asia/Dubai", "Asia/Bangkok", "Asia/Shanghai",
      "America/New_York", "America/Los_Angeles",
    ],
  },
];

export const ALL_TIMEZONES = TIMEZONE_GROUPS.flatMap((g) => g.zones);
