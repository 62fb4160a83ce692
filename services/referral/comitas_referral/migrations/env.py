from alembic import context

from comitas_referral.models import load_all_models, metadata
from comitas_shared.migrations import run_env

load_all_models()
run_env(context, metadata)
