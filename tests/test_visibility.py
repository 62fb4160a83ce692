"""Two-party records: a third institution's query finds nothing, and a query that forgets whose view it
is fails before it reaches the database (shared/comitas_shared/visibility.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import ColumnElement, String, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from comitas_shared.auth import InstitutionId
from comitas_shared.visibility import UnscopedQuery, across_institutions, install_visibility, viewed_by


class Base(DeclarativeBase):
    pass


class Referral(Base):
    __tablename__ = "probe_referral"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String)
    recipient_id: Mapped[str] = mapped_column(String)
    note: Mapped[str] = mapped_column(String, default="")

    @classmethod
    def visible_to(cls, viewer: InstitutionId) -> ColumnElement[bool]:
        return or_(cls.sender_id == viewer, cls.recipient_id == viewer)


class Message(Base):
    """Not registered: an ordinary table the rule leaves alone."""

    __tablename__ = "probe_message"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    referral_id: Mapped[str] = mapped_column(String)


A, B, C = InstitutionId("inst-a"), InstitutionId("inst-b"), InstitutionId("inst-c")


@pytest.fixture
async def sessions():
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    factory = async_sessionmaker(engine, expire_on_commit=False)
    install_visibility(factory.class_.sync_session_class, [Referral])
    async with factory() as session, session.begin():
        session.add_all([Referral(id="r1", sender_id=A, recipient_id=B), Referral(id="r2", sender_id=B, recipient_id=C),
                         Message(id="m1", referral_id="r1")])
    yield factory
    await engine.dispose()


async def ids(session: AsyncSession, statement) -> list[str]:
    return sorted((await session.execute(statement)).scalars())


async def test_each_party_sees_its_own_and_a_third_sees_nothing(sessions):
    async with sessions() as session:
        assert await ids(session, viewed_by(select(Referral.id), A)) == ["r1"]
        assert await ids(session, viewed_by(select(Referral.id), B)) == ["r1", "r2"]
        assert await ids(session, viewed_by(select(Referral.id).where(Referral.id == "r1"), C)) == []


async def test_joins_are_filtered_too(sessions):
    async with sessions() as session:
        joined = select(Message.id).join(Referral, Referral.id == Message.referral_id)
        assert await ids(session, viewed_by(joined, A)) == ["m1"]
        assert await ids(session, viewed_by(joined, C)) == []


async def test_updates_and_deletes_touch_only_visible_rows(sessions):
    async with sessions() as session, session.begin():
        await session.execute(viewed_by(update(Referral).where(Referral.id == "r2").values(note="x"), A))
        await session.execute(viewed_by(delete(Referral).where(Referral.id == "r2"), A))
    async with sessions() as session:
        [r2] = (await session.execute(across_institutions(select(Referral).where(Referral.id == "r2"),
                                                          "test reads the row back"))).scalars()
        assert r2.note == ""


@pytest.mark.parametrize("statement", [
    select(Referral.id),
    select(Message.id).join(Referral, Referral.id == Message.referral_id),
    update(Referral).values(note="x"),
    delete(Referral),
], ids=["select", "join", "update", "delete"])
async def test_a_query_that_forgets_the_viewer_fails_closed(sessions, statement):
    async with sessions() as session:
        with pytest.raises(UnscopedQuery):
            await session.execute(statement)


async def test_the_escape_needs_a_reason_and_ordinary_tables_are_left_alone(sessions):
    async with sessions() as session:
        assert await ids(session, across_institutions(select(Referral.id), "housekeeping")) == ["r1", "r2"]
        assert await ids(session, select(Message.id)) == ["m1"]
        with pytest.raises(UnscopedQuery):
            across_institutions(select(Referral.id), " ")
        with pytest.raises(UnscopedQuery):
            viewed_by(select(Referral.id), InstitutionId(""))
