"""Curves given as plain lists are checked together (series/check.py `_plain_frame`): they
must store exactly what the per-curve shapes store, and a bad point still names its curve."""

from __future__ import annotations

import pytest

from modelyard.store import Store
from modelyard.store.errors import InvalidManifest

CURVES = {f"metric_{k}": [1.0 / (1 + s + k) for s in range(100)] for k in range(10)}
CURVES |= {"ints": [3, 2, 1], "special": [0.5, float("nan"), float("inf")], "empty": []}


def test_lists_store_the_bytes_the_steps_values_shape_stores(store: Store) -> None:
    as_lists = store.add_version("a", metric_series=CURVES)
    as_mappings = store.add_version("b", metric_series={
        key: {"steps": list(range(len(points))), "values": points}
        for key, points in CURVES.items()})
    assert as_lists.record["metric_series"]["digest"] == \
        as_mappings.record["metric_series"]["digest"]
    assert as_lists.metric_series("special")["value"].to_list()[0] == 0.5
    assert as_lists.metrics["ints"] == 1


@pytest.mark.parametrize(("bad", "message"), [
    ([1.0, 10**400], r"metric_series\['bad'\] point 1 value is too large"),
    ([1.0, True], r"metric_series\['bad'\]"),
])
def test_a_bad_point_among_many_curves_names_its_curve(store: Store, bad: list,
                                                       message: str) -> None:
    with pytest.raises(InvalidManifest, match=message):
        store.add_version("m", metric_series={**CURVES, "bad": bad})
