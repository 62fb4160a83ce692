from __future__ import annotations

import os

from comitas_referral.models import load_all_models, metadata
from comitas_shared import migrations
from comitas_shared.testing import drop_database, fresh_database_url


def test_models_and_migrations_agree_and_go_down_and_up_again(tmp_path):
    load_all_models()
    url = fresh_database_url("referral_migrations", tmp_path)
    try:
        migrations.upgrade("comitas_referral", url)
        assert migrations.differences("comitas_referral", url, metadata) == []
        migrations.downgrade("comitas_referral", url, "base")
        emptied = migrations.differences("comitas_referral", url, metadata)
        assert {d[1].name for d in emptied if d[0] == "add_table"} == set(metadata.tables)
        migrations.upgrade("comitas_referral", url)
        assert migrations.differences("comitas_referral", url, metadata) == []
    finally:
        if os.environ.get("DATABASE_URL"):
            drop_database(url)
