"""The de-identified table the statistics are computed from.

One row per complaint, keyed by its id, with nothing that identifies anyone: codes, a month, a status,
a number of victims. It is not sealed with the complaint's key and erasure does not touch it, so an
erased complaint is still counted (DESIGN §6).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from ..models import Base


class StatisticsCase(Base, table=True):
    __tablename__ = "statistics_case"
    __table_args__ = (Index("ix_statistics_case_institution", "institution_id"),)

    complaint_id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    respondent_states: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    act_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    month: str = Field(max_length=7)
    status: str = Field(max_length=32)
    victims: int
