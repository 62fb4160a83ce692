"""Evidence items and their custody chains, on intake's own metadata.

The columns are fixed by the shared evidence library (``comitas_shared.evidence.tables``) so intake's and
mla's rows mean the same thing. For intake, ``owner_kind`` is ``"complaint"`` and every object is sealed
under the complaint's own data key (``key_id`` = the complaint id, version 1): erasing the complaint
destroys that key and with it every file and every sealed file name.
"""

from __future__ import annotations

from comitas_shared.evidence import define_custody_table, define_evidence_item_table

from ..models import metadata

evidence_item = define_evidence_item_table(metadata)
evidence_custody = define_custody_table(metadata)
