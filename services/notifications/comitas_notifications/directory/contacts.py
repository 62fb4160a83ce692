"""Reads institutions' notification contacts from identity, which its events never carry.

identity's ``GET /v1/institutions/{id}`` shows an institution's ``contact`` (addresses, language) to
holders of ``directory:contacts`` only: notifications asks for a token with its own client credentials
(``identity_client_id``/``identity_client_secret``, grant ``client_credentials``, resource
``urn:comitas:identity``). The reader runs in every replica: it is woken after a commit that made a
contact stale, and looks for stale ones every ``directory_refresh_seconds`` as the safety net; two
replicas reading the same contact store the same thing. When the read model is empty (a new
deployment) it is first filled from identity's list, which saves waiting for each institution's next
event.

Without credentials nothing is read: e-mail deliveries then fail visibly ("no notification address")
and the log says why once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx

from comitas_shared.auth import institution_id_for_system, service_audience
from comitas_shared.clock import Clock, real_now
from comitas_shared.db import Database
from comitas_shared.tasks import cancel_and_wait
from comitas_shared.token_exchange import ClientToken, ClientTokenUnavailable

from . import service

log = logging.getLogger(__name__)

SCOPES = "directory:read directory:contacts"
BATCH = 50


class DirectoryUnreadable(Exception):
    """identity could not be asked, or refused (the reason is stored with the entry)."""


class IdentityDirectory:
    """identity's directory API, asked with notifications' own client credentials."""

    def __init__(self, http: httpx.AsyncClient, *, identity_url: str, client_id: str | None,
                 client_secret: str | None, timeout: float = 10.0) -> None:
        self.http = http
        self.base = identity_url.rstrip("/")
        self.timeout = timeout
        self.token = ClientToken(http, identity_url=identity_url, client_id=client_id, client_secret=client_secret,
                                 resource=service_audience("identity"), scopes=SCOPES, timeout=timeout)

    @property
    def configured(self) -> bool:
        return self.token.configured

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            token = await self.token.bearer()
        except ClientTokenUnavailable as exc:
            raise DirectoryUnreadable(str(exc)) from exc
        try:
            response = await self.http.get(f"{self.base}{path}", params=params, timeout=self.timeout,
                                           headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise DirectoryUnreadable(f"identity cannot be reached: {exc}") from exc
        if response.status_code == 401:
            self.token.forget()  # revoked or expired early: ask again next time
        return response

    async def institution(self, institution_id: str) -> dict[str, Any] | None:
        """The entry with its contact; None when identity has no such institution."""
        response = await self._get(f"/v1/institutions/{institution_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise DirectoryUnreadable(f"identity answered {response.status_code} for {institution_id}")
        entry: dict[str, Any] = response.json()
        if entry.get("contact") is None:
            raise DirectoryUnreadable("identity shows no contact to this client: it needs the scope directory:contacts")
        return entry

    async def every_institution(self) -> AsyncIterator[list[dict[str, Any]]]:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = await self._get("/v1/institutions", params)
            if response.status_code != 200:
                raise DirectoryUnreadable(f"identity answered {response.status_code} to the directory list")
            page = response.json()
            yield list(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return


class ContactReader:
    def __init__(self, *, database: Database, directory: IdentityDirectory, every_seconds: float,
                 clock: Clock = real_now) -> None:
        self.database = database
        self.directory = directory
        self.every_seconds = every_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._bootstrapped = False
        self._told_unconfigured = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="directory-contact-reader")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once(self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("directory: reading contacts failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.every_seconds)
            except TimeoutError:
                pass

    async def run_once(self, now: datetime) -> int:
        """Bootstraps an empty read model, then reads every stale contact. Returns how many were stored."""
        if not self.directory.configured:
            if not self._told_unconfigured:
                log.warning("directory: no identity client credentials (COMITAS_NOTIFICATIONS_IDENTITY_CLIENT_ID/"
                            "_SECRET); institutions' notification addresses are not read, e-mail goes nowhere")
                self._told_unconfigured = True
            return 0
        if not self._bootstrapped:
            await self._bootstrap(now)
        stored = 0
        while True:
            async with self.database.transaction() as session:
                stale = await service.contacts_to_read(session, limit=BATCH)
            progressed = False
            for institution_id, generation in stale:
                if await self._read_one(institution_id, generation, now):
                    stored += 1
                    progressed = True
            if len(stale) < BATCH or not progressed:
                return stored

    async def _read_one(self, institution_id: str, generation: int, now: datetime) -> bool:
        owner = institution_id_for_system(institution_id)
        try:
            entry = await self.directory.institution(institution_id)
        except DirectoryUnreadable as exc:
            async with self.database.transaction() as session:
                await service.store_contact_error(session, institution_id=owner, error=str(exc))
            log.warning("directory: contact of %s not read: %s", institution_id, exc)
            return False
        contact = (entry or {}).get("contact") or {}
        emails = [str(e) for e in contact.get("emails") or []]
        language = str(contact["language"]) if contact.get("language") else None
        async with self.database.transaction() as session:
            return await service.store_contact(session, institution_id=owner, generation=generation, emails=emails,
                                               language=language, now=now)

    async def _bootstrap(self, now: datetime) -> None:
        async with self.database.transaction() as session:
            empty = await service.is_empty(session)
        if empty:
            try:
                async for page in self.directory.every_institution():
                    async with self.database.transaction() as session:
                        for listed in page:
                            await service.apply_listed(session, listed, now=now)
            except DirectoryUnreadable as exc:
                log.warning("directory: bootstrap from identity failed (%s); following its events only", exc)
                return
        self._bootstrapped = True
