"""CSV import: parse (pure), then merge into existing clients or create, in one transaction."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from callcenter.domain.client_csv import CsvFormatError, names_agree, parse_clients_csv
from callcenter.domain.clients import ClientInput, EmailInput, PhoneInput
from callcenter.errors import BadCsv
from callcenter.services.clients import ClientService
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import clients as repo
from callcenter.storage.database import Database


class ImportService:
    def __init__(self, db: Database, clock: Clock, clients: ClientService, *, region: str,
                 shop_timezone: str):
        self.db = db
        self.clock = clock
        self.clients = clients
        self.region = region
        self.shop_timezone = shop_timezone

    async def import_clients(self, actor: Actor, data: bytes, *, dry_run: bool) -> dict[str, Any]:
        """Import a CSV file. A file that cannot be read changes nothing (BadCsv); bad rows are
        reported with their line and reason. A row whose phone or e-mail belongs to an existing
        client whose name agrees with the row's is merged into it (new phones, e-mails and tags
        added, nothing overwritten); when no such client's name agrees, the row becomes a client
        of its own and the clash is listed in ``conflicts``. Every merged, conflicting or rejected
        row is named by its line in the file. Phones are stored as written beside E.164."""
        parse = functools.partial(parse_clients_csv, data, region=self.region,
                                  default_timezone=self.shop_timezone)
        try:
            # phonenumbers is CPU-bound: a large file must not stall calls and screen pops
            plan = await asyncio.get_running_loop().run_in_executor(None, parse)
        except CsvFormatError as exc:
            raise BadCsv(str(exc), {"reason": exc.code}) from None
        now = self.clock()
        created = merged = 0
        merged_into: list[dict[str, Any]] = []
        made_here: set[int] = set()
        conflicts: list[dict[str, Any]] = [
            {"line": c.line, "other_line": c.other_line, "shared": c.shared, "name": c.name,
             "other_name": c.other_name} for c in plan.conflicts]
        async with (self.db.read() if dry_run else self.db.write()) as conn:
            for row in plan.rows:
                parsed = ClientInput(
                    values={"name": row.name, "company": row.company, "city": row.city,
                            "timezone": row.timezone, "tags": list(row.tags),
                            "notes": row.notes, "birthday": row.birthday, "do_not_call": False},
                    phones=[PhoneInput(entered, e164, None, None)
                            for e164, entered in zip(row.phones, row.phones_entered or row.phones)],
                    emails=[EmailInput(e, None) for e in row.emails])
                # clients this file made were weighed against each other by the plan already
                matches = [m for m in await self.clients.find_duplicates(conn, parsed)
                           if m["id"] not in made_here]
                same = next((m for m in matches if names_agree(m["name"], row.name)), None)
                if same is not None:
                    merged += 1
                    merged_into.append({"line": row.line, "client_id": same["id"],
                                        "name": same["name"], "shared": same["value"]})
                    if not dry_run:
                        await self._merge(conn, same["id"], parsed, row)
                else:
                    conflicts.extend({"line": row.line, "client_id": m["id"], "shared": m["value"],
                                      "name": row.name, "other_name": m["name"]}
                                     for m in matches)
                    created += 1
                    if not dry_run:
                        made_here.add(await self.clients.insert(conn, actor, parsed, now))
            if not dry_run:
                await audit.record(conn, at=now, action="clients.import", user_id=actor.user_id,
                                   login=actor.login, ip=actor.ip, entity="client",
                                   details={"created": created, "merged": merged,
                                            "conflicts": len(conflicts),
                                            "rejected": len(plan.rejected)})
        return {
            "dry_run": dry_run, "total_rows": len(plan.rows) + len(plan.rejected)
            + plan.merged_in_file, "created": created, "merged": merged,
            "merged_in_file": plan.merged_in_file,
            "merged_in_file_rows": [{"line": m.line, "into_line": m.into_line, "shared": m.shared}
                                    for m in plan.merges][:1000],
            "merged_into": merged_into[:1000], "conflicts": conflicts[:1000],
            "rejected": [{"line": r.line, "reason": r.reason, "message": r.message}
                         for r in plan.rejected],
            "encoding": plan.encoding, "delimiter": plan.delimiter,
        }

    async def _merge(self, conn, client_id: int, parsed: ClientInput, row) -> None:
        await repo.add_phones(conn, client_id, parsed.phones)
        await repo.add_emails(conn, client_id, parsed.emails)
        if row.tags:
            current = await repo.get_client(conn, client_id)
            tags = list(dict.fromkeys([*(current["tags"] or []), *row.tags]))
            if tags != (current["tags"] or []):
                await repo.update_client(conn, client_id, {"tags": tags}, self.clock())
