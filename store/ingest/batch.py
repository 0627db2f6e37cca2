"""Recording versions: `Store.add_version` is a batch of one, `Store.add_versions` and the
watcher's passes are batches of many.

A version added alone pays, for itself, two catch-ups of its model's index, a record
fsync, a folder fsync and a policy pass. A batch first prepares every version (checks the
card, stores the blobs: a bad one raises before any record is written), then commits them
together: one catch-up per model before (to deduplicate and number), the records written
as one group commit (writer.claim_versions: fsynced together, linked in order, each folder
synced once), one catch-up per model after, and one policy pass with one `policy.checked`
event per model.

Each version stays crash-safe on its own: its record is complete before it gets its name,
so a killed batch leaves some of its versions recorded whole and the rest absent (their
blobs unreferenced until added again; adding the batch again deduplicates what is there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.store.disk import changes
from modelyard.store.names import check_new_model_folder

if TYPE_CHECKING:
    from modelyard.store.api import Store
    from modelyard.store.versions.version import Version


@dataclass
class Prepared:
    """A checked version whose blobs are stored, waiting for its number."""

    record: dict[str, Any]
    check: Callable[[], None] | None = None  # run right before its record is linked


def prepare(store: Store, model: str, *, files: Mapping[str, Any] | None = None,
            metric_series: Mapping[str, Any] | None = None,
            source: Mapping[str, Any] | None = None, consume: bool = False,
            **card: Any) -> Prepared:
    """Check one version's card and store its blobs (see `Store.add_version`)."""
    from modelyard.store.ingest import writer
    from modelyard.store.versions.card import CARD_FIELDS

    unknown = set(card) - set(CARD_FIELDS)
    if unknown:
        raise TypeError(f"add_version() got unknown fields: {', '.join(sorted(unknown))}")
    model = check_new_model_folder(store.layout.models, model)  # NFC; no case clash
    record = writer.prepare_record(store.layout, store.blobs, model, card, files=files,
                                   metric_series=metric_series, source=source,
                                   consume=consume)
    return Prepared(record, writer.BEFORE_LINK.get())


def prepare_each(store: Store, items: Iterable[Mapping[str, Any]]) -> list[Prepared]:
    """`prepare` of every item (add_version's keywords, with `model`); an error names the
    item it is about, and nothing is recorded."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or "model" not in item:
            raise TypeError(f"add_versions() item {i} must be a mapping with a 'model' and "
                            "add_version's other arguments")
        fields = dict(item)
        try:
            out.append(prepare(store, fields.pop("model"), **fields))
        except Exception as exc:
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (f"item {i} ({item['model']!r}): {exc.args[0]}", *exc.args[1:])
            raise
    return out


def commit(store: Store, prepared: list[Prepared], *, dedupe: bool = True,
           judge: Callable[[], None], check_new: Callable[[list[Version]], None]
           ) -> list[Version | Exception]:
    """Number, write and index the prepared versions; returns each one's Version, in order
    (an existing one when `dedupe` finds the same content), or the exception its `check`
    raised (its record is not written). Storage failures raise. The Store passes what it
    composes: `judge` (new alias moves against their gates, after each catch-up) and
    `check_new` (the policy's check of new versions)."""
    from modelyard.store.ingest import writer

    models = list(dict.fromkeys(p.record["model"] for p in prepared))
    for model in models:
        store.index.catch_up(store.layout, model=model)  # to deduplicate; to number above
    judge()
    stored: dict[int, tuple[str, int]] = {}  # position: the (model, number) it duplicates
    same_as: dict[int, int] = {}  # position: an earlier position of this batch, same content
    first: dict[tuple[str, str], int] = {}  # (model, content digest): its first position
    to_write: list[int] = []
    for i, p in enumerate(prepared):
        model, digest = p.record["model"], p.record["content_digest"]
        number = store.index.duplicate(model, digest) if dedupe else None
        if number is not None:
            stored[i] = (model, number)
        elif dedupe and (model, digest) in first:
            same_as[i] = first[(model, digest)]
        else:
            first.setdefault((model, digest), i)
            to_write.append(i)
    hints = {model: store.index.highest_number(model, store.layout) for model in models}
    folders = [store.layout.model_dir(model).name for model in models]
    for folder in folders:
        changes.note(store.layout.models, folder)  # before and after: see changes.py
    claimed = writer.claim_versions(store.layout, [prepared[i].record for i in to_write],
                                    hints=hints, checks=[prepared[i].check for i in to_write])
    for folder in folders:
        changes.note(store.layout.models, folder)
    for model in models:
        store.index.catch_up(store.layout, model=model)
    judge()
    written: dict[int, dict[str, Any] | Exception] = dict(zip(to_write, claimed, strict=True))
    for final in claimed:
        if isinstance(final, dict):
            store.index.index_own_record(store.layout, final)
    out: list[Version | Exception] = []
    new: list[Version] = []
    for i in range(len(prepared)):
        if i in written:
            final = written[i]
            if isinstance(final, Exception):
                out.append(final)
                continue
            version = store.get(f"{final['model']}:{final['version']}")
            new.append(version)
        else:
            if i in same_as:
                earlier = out[same_as[i]]
                if isinstance(earlier, Exception):
                    out.append(earlier)
                    continue
                ref = earlier.ref
            else:
                ref = "{}:{}".format(*stored[i])
            version = store.get(ref)
            version.deduplicated = True
        out.append(version)
    if new:
        check_new(new)  # stored whatever the verdict; failures marked
    return out
