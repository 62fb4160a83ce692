"""What an institution is: its kinds, its country code and the shape of its id. No I/O."""

from __future__ import annotations

import re
import uuid
from typing import Literal, get_args

InstitutionKind = Literal["ombudsperson", "nhri", "regional_commission", "ngo", "central_authority",
                          "treaty_body"]
KINDS: frozenset[str] = frozenset(get_args(InstitutionKind))

# ISO 3166-1 alpha-2, officially assigned codes, plus XK (Kosovo), which the Council of Europe and the
# EU use although it is user-assigned. A treaty body gives the country of its seat.
COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
""".split())  # noqa: SIM905 - a table to read, not a list to edit

# Institution ids travel in NATS subjects (feed.<institution_id>.…): no dots, wildcards or spaces.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_institution_id() -> str:
    return f"inst_{uuid.uuid4().hex[:16]}"


def check_institution(*, name: str, kind: str, country: str,
                      institution_id: str | None) -> tuple[str, str, str]:
    """The normalised (name, kind, country), or ValueError saying what is wrong."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("name: 1 to 200 characters")
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(sorted(KINDS))}")
    country = country.strip().upper()
    if country not in COUNTRIES:
        raise ValueError(f"country: {country!r} is not an ISO 3166-1 alpha-2 code")
    if institution_id is not None and not ID_PATTERN.match(institution_id):
        raise ValueError("institution_id: 1 to 64 letters, digits, '_' or '-'")
    return name, kind, country
