"""Reads identity's directory with referral's own client (``directory:read``, resource identity): the
whole list when the read model is empty (a new deployment; events keep it current afterwards) and
again every ``directory_refresh_seconds`` as a safety net, and the subject-area vocabulary that maps a
mandate to types of acts. Runs in every replica; two replicas storing the same entry store the same
thing (an entry is applied only when newer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from comitas_shared.auth import service_audience
from comitas_shared.clock import Clock, real_now
from comitas_shared.db import Database
from comitas_shared.tasks import cancel_and_wait
from comitas_shared.token_exchange import ClientToken

from . import service

log = logging.getLogger(__name__)


class DirectoryReader:
    def __init__(self, *, http: httpx.AsyncClient, database: Database, identity_url: str, client_id: str | None,
                 client_secret: str | None, every_seconds: float, clock: Clock = real_now) -> None:
        self.http = http
        self.database = database
        self.base = identity_url.rstrip("/")
        self.token = ClientToken(http, identity_url=identity_url, client_id=client_id, client_secret=client_secret,
                                 resource=service_audience("identity"), scopes="directory:read")
        self.every_seconds = every_seconds
        self.clock = clock
        self.areas: dict[str, tuple[str, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def configured(self) -> bool:
        return self.token.configured

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="referral-directory-reader")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        if not self.configured:
            log.warning("directory: no identity client (COMITAS_REFERRAL_IDENTITY_CLIENT_ID/_SECRET): the read "
                        "model follows identity's events only, and subject matter is not assessed")
            return
        while True:
            self._wake.clear()
            try:
                await self.run_once(self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("directory: reading identity's directory failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.every_seconds)
            except TimeoutError:
                pass

    async def run_once(self, now: datetime) -> int:
        """Reads the vocabulary and every entry; returns how many entries changed."""
        await self.read_areas()
        changed = 0
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = await self._get("/v1/institutions", params)
            if response.status_code != 200:
                raise RuntimeError(f"identity answered {response.status_code} to the directory list")
            page = response.json()
            async with self.database.transaction() as session:
                for listed in page.get("items") or []:
                    changed += await service.apply_listed(session, listed, now=now)
            cursor = page.get("next_cursor")
            if not cursor:
                return changed

    async def read_areas(self) -> Mapping[str, Sequence[str]]:
        response = await self._get("/v1/vocabularies/subject-areas")
        if response.status_code == 200:
            self.areas = {str(item["code"]): tuple(str(a) for a in item.get("acts") or [])
                          for item in response.json().get("items") or [] if not item.get("retired")}
        return self.areas

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        token = await self.token.bearer()
        response = await self.http.get(f"{self.base}{path}", params=params, timeout=10,
                                       headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            self.token.forget()
        return response
