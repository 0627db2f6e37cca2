"""The demo store's policy: set when the store is made, tightened three weeks in.

The first version asks serving models for no pickles, a signature, a commit, resources and
train data, and production-tagged versions for a model card (advisory). The second adds a
quality bar for the churn model and gates `production` on it, which re-checks every version
already stored. Pickled churn versions and the commit-less base LLM fail, so the explorer
shows failures, warnings and passes from the first start.
"""

from __future__ import annotations

from modelyard.store.api import Store
from modelyard.store.policy import AliasRefused

SERVING = """\
description: What a model needs before it serves traffic at Acme
rules:
  serving:
    description: Safe to load (no pickles), reproducible from a commit and its data
    applies_to: {models: [churn-xgb, "vit-*", "llama-*"]}
    require: [signature, git_commit, resources]
    datasets: [train]
    formats: [onnx, safetensors]
    max_size: 2GB
  model-card:
    description: Versions in production carry a model card for their users
    blocking: false
    applies_to: {tags: {stage: production}}
    require: [description]
    files: [README.md]
aliases:
  production: [serving]
"""

QUALITY = SERVING.replace("""aliases:
  production: [serving]
""", """  quality:
    description: Beats the accepted churn baseline on the weekly eval snapshot
    applies_to: {models: [churn-xgb]}
    metrics: [auc, logloss]
    thresholds: ["metrics.auc >= 0.82", "metrics.logloss < 0.48"]
aliases:
  production: [serving, quality]
""")


def set_policy(text: str, store: Store) -> None:
    store.set_policy(text)


def promote(store: Store, *, ref: str, alias: str) -> None:
    """Move an alias as the deploy bot would: through the gate, or forced with a reason
    when the policy refuses it (so the demo builds whatever its numbers turn out to be)."""
    try:
        store.set_alias(ref, alias)
    except AliasRefused as refused:
        store.set_alias(ref, alias, force=True, reason="approved by carol in the weekly "
                        f"review despite {', '.join(r.rule for r in refused.failures)}")
