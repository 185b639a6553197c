"""The invoice ("Счёт на оплату") and the commercial offer as HTML for WeasyPrint.

Every value from the database goes through ``esc``; images arrive as ``data:`` URIs the service
read from its own files, so the renderer fetches nothing (its URL fetcher refuses all).
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any, Mapping

from callcenter.domain.documents import Totals, amount_in_words, format_money, format_qty

MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря")

STYLE = """
@page { size: A4; margin: 14mm 12mm 14mm 16mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #000; }
h1 { font-size: 14pt; margin: 10pt 0 4pt; padding-bottom: 4pt; border-bottom: 2px solid #000; }
table { border-collapse: collapse; width: 100%; }
.bank td { border: 1px solid #000; padding: 2pt 4pt; vertical-align: top; }
.bank .small { font-size: 7.5pt; }
.parties td { padding: 3pt 0; vertical-align: top; }
.parties td.label { width: 22%; }
.items th, .items td { border: 1px solid #000; padding: 2pt 4pt; }
.items th { background: #eee; }
.num { text-align: right; white-space: nowrap; }
.totals td { padding: 1pt 4pt; text-align: right; font-weight: bold; }
.words { margin: 6pt 0; font-weight: bold; }
.sign { margin-top: 16pt; position: relative; height: 80pt; }
.sign td { padding: 3pt 0; vertical-align: bottom; }
.sign .line { border-bottom: 1px solid #000; width: 35%; }
.stamp { position: absolute; left: 40%; top: 0; width: 38mm; }
.signature { height: 14mm; }
.logo { max-height: 18mm; max-width: 60mm; }
.muted { color: #555; }
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def ru_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year} г."


def _img(uri: str | None, css: str) -> str:
    return f'<img class="{css}" src="{esc(uri)}">' if uri else ""


def _supplier(r: Mapping[str, Any]) -> str:
    parts = [r.get("legal_name")]
    if r.get("inn"):
        parts.append(f"ИНН {r['inn']}")
    if r.get("kpp"):
        parts.append(f"КПП {r['kpp']}")
    parts += [r.get("address"), r.get("phone") and f"тел.: {r['phone']}"]
    return esc(", ".join(p for p in parts if p))


def _buyer(client: Mapping[str, Any]) -> str:
    parts = [client.get("company"), client.get("name"), client.get("city"),
             client.get("phone") and f"тел.: {client['phone']}", client.get("email")]
    return esc(", ".join(p for p in parts if p))


def _items(totals: Totals, currency: str) -> str:
    rows = []
    for i, line in enumerate(totals.lines, 1):
        rows.append(f"<tr><td class='num'>{i}</td><td>{esc(line.name)}</td>"
                    f"<td class='num'>{esc(format_qty(line.qty))}</td><td>шт</td>"
                    f"<td class='num'>{format_money(line.price)}</td>"
                    f"<td class='num'>{format_money(line.amount)}</td></tr>")
    vat = "Без налога (НДС)" if totals.vat is None else f"В том числе НДС ({esc(totals.vat_rate)}%)"
    vat_sum = "—" if totals.vat is None else format_money(totals.vat)
    return f"""
<table class="items">
  <thead><tr><th>№</th><th>Товары (работы, услуги)</th><th>Кол-во</th><th>Ед.</th>
  <th>Цена</th><th>Сумма</th></tr></thead>
  <tbody>{''.join(rows)}</tbody>
</table>
<table class="totals">
  <tr><td>Итого:</td><td style="width:22%">{format_money(totals.total)}</td></tr>
  <tr><td>{vat}:</td><td>{vat_sum}</td></tr>
  <tr><td>Всего к оплате:</td><td>{format_money(totals.total)}</td></tr>
</table>
<p>Всего наименований {len(totals.lines)}, на сумму {format_money(totals.total)} {esc(currency)}</p>
"""


def _signatures(r: Mapping[str, Any], images: Mapping[str, str | None]) -> str:
    return f"""
<div class="sign">
  {_img(images.get("stamp"), "stamp")}
  <table>
    <tr><td style="width:22%"><b>Руководитель</b></td>
        <td class="line">{_img(images.get("signature"), "signature")}</td>
        <td>{esc(r.get("director"))}</td></tr>
    <tr><td><b>Бухгалтер</b></td><td class="line"></td><td>{esc(r.get("accountant"))}</td></tr>
  </table>
</div>"""


def invoice_html(*, number: str, day: date, requisites: Mapping[str, Any],
                 client: Mapping[str, Any], order: Mapping[str, Any], totals: Totals,
                 images: Mapping[str, str | None]) -> str:
    r = requisites
    return f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Счёт на оплату № {esc(number)}</title><style>{STYLE}</style></head><body>
{_img(images.get("logo"), "logo")}
<table class="bank">
  <tr><td colspan="2" rowspan="2" style="width:58%">{esc(r.get("bank_name"))}<br>
      <span class="small">Банк получателя</span></td>
      <td style="width:10%">БИК</td><td>{esc(r.get("bik"))}</td></tr>
  <tr><td>Сч. №</td><td>{esc(r.get("corr_account"))}</td></tr>
  <tr><td>ИНН {esc(r.get("inn"))}</td><td>КПП {esc(r.get("kpp"))}</td>
      <td rowspan="2">Сч. №</td><td rowspan="2">{esc(r.get("account"))}</td></tr>
  <tr><td colspan="2">{esc(r.get("legal_name"))}<br>
      <span class="small">Получатель</span></td></tr>
</table>
<h1>Счёт на оплату № {esc(number)} от {ru_date(day)}</h1>
<table class="parties">
  <tr><td class="label">Поставщик<br>(Исполнитель):</td><td><b>{_supplier(r)}</b></td></tr>
  <tr><td class="label">Покупатель<br>(Заказчик):</td><td><b>{_buyer(client)}</b></td></tr>
  <tr><td class="label">Основание:</td><td>Заказ № {esc(order.get("number"))}</td></tr>
</table>
{_items(totals, 'руб.' if order.get('currency', 'RUB') == 'RUB' else order.get('currency'))}
<p class="words">{esc(amount_in_words(totals.total))}</p>
<p class="muted">Оплата данного счёта означает согласие с условиями поставки товара.</p>
{_signatures(r, images)}
</body></html>"""


def offer_html(*, number: str, day: date, requisites: Mapping[str, Any], shop_name: str,
               client: Mapping[str, Any], order: Mapping[str, Any], totals: Totals,
               images: Mapping[str, str | None]) -> str:
    r = requisites
    return f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Коммерческое предложение № {esc(number)}</title><style>{STYLE}</style></head><body>
{_img(images.get("logo"), "logo")}
<p class="muted">{_supplier(r) or esc(shop_name)}</p>
<h1>Коммерческое предложение № {esc(number)} от {ru_date(day)}</h1>
<table class="parties">
  <tr><td class="label">Кому:</td><td><b>{_buyer(client)}</b></td></tr>
  <tr><td class="label">От:</td><td><b>{esc(r.get("legal_name") or shop_name)}</b></td></tr>
  <tr><td class="label">Заказ:</td><td>№ {esc(order.get("number"))}</td></tr>
</table>
<p>Благодарим за интерес к нашим товарам. Предлагаем:</p>
{_items(totals, 'руб.' if order.get('currency', 'RUB') == 'RUB' else order.get('currency'))}
<p class="words">{esc(amount_in_words(totals.total))}</p>
<p>Предложение действительно 14 дней. {esc(r.get("phone") and "Телефон: " + r["phone"])}
{esc(r.get("email") and "E-mail: " + r["email"])}</p>
{_signatures(r, images)}
</body></html>"""
