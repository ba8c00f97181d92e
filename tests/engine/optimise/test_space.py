"""Parameter spaces: grid enumeration with linked constraints, log scales, seeded sampling,
and absurd or empty spaces refused before any work."""

from __future__ import annotations

import itertools
import time

import pytest

from quantlab.engine.library import TEMPLATES
from quantlab.engine.library.params import Constraint
from quantlab.engine.optimise import Dimension, Space, SpaceError, space_from_params

FAST_LT_SLOW = (Constraint(left="fast", op="<", right="slow"),)


def test_grid_enumerates_the_feasible_points_in_order() -> None:
    space = Space(
        (Dimension("fast", low=2, high=5), Dimension("slow", low=3, high=6)), FAST_LT_SLOW
    )
    assert space.grid_size() == 16
    points = list(space.grid())
    # by hand: fast 2 → slow 3..6 (4), fast 3 → 4..6 (3), fast 4 → 5..6 (2), fast 5 → 6 (1)
    assert len(points) == 10 == space.count()
    assert points[0] == {"fast": 2, "slow": 3} and points[-1] == {"fast": 5, "slow": 6}
    assert all(p["fast"] < p["slow"] for p in points)


def test_steps_choices_and_log_scales() -> None:
    assert Dimension("w", low=5, high=20, step=5).values() == [5, 10, 15, 20]
    assert Dimension("w", choices=(3, 1, 3, 2)).values() == [1, 2, 3]
    f = Dimension("x", type="float", low=0.1, high=0.3, step=0.1).values()
    assert f == pytest.approx([0.1, 0.2, 0.3])
    log = Dimension("lr", type="float", low=0.001, high=1.0, log=True).values()
    assert len(log) == 20 and log[0] == pytest.approx(0.001) and log[-1] == pytest.approx(1.0)
    ratios = [b / a for a, b in itertools.pairwise(log)]
    assert max(ratios) == pytest.approx(min(ratios))  # geometric spacing


def test_seeded_sampling_reproduces_and_respects_constraints() -> None:
    space = Space(
        (Dimension("fast", low=2, high=60), Dimension("slow", low=5, high=250, log=True)),
        FAST_LT_SLOW,
    )
    a = list(space.sample(50, seed=7))
    assert a == list(space.sample(50, seed=7))
    assert a != list(space.sample(50, seed=8))
    assert all(p["fast"] < p["slow"] and 5 <= p["slow"] <= 250 for p in a)


def test_absurd_spaces_are_refused_before_any_work() -> None:
    big = Space(tuple(Dimension(n, low=1, high=1000) for n in ("a", "b", "c")))
    assert big.grid_size() == 10**9
    t0 = time.perf_counter()
    with pytest.raises(SpaceError, match="1,000,000,000 combinations"):
        next(big.grid())
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(SpaceError, match="min 5 exceeds max 2"):
        Dimension("a", low=5, high=2)
    with pytest.raises(SpaceError, match="no choices"):
        Dimension("a", choices=())
    with pytest.raises(SpaceError, match="empty"):
        Space(())
    with pytest.raises(SpaceError, match="log scale needs min > 0"):
        Dimension("a", low=0, high=2, log=True)


def test_space_from_a_template_schema() -> None:
    t = TEMPLATES["dual_moving_average"]
    space = space_from_params(
        t.parameters, t.constraints,
        {"fast": {"min": 5, "max": 50, "step": 5}, "slow": {"min": 20, "max": 200, "step": 20}},
    )  # fmt: skip
    assert space.names == ["fast", "slow"] and space.grid_size() == 100
    assert all(p["fast"] < p["slow"] for p in space.grid())
    full = space_from_params(t.parameters, t.constraints)
    assert full.grid_size() == 59 * 246
    with pytest.raises(SpaceError, match="outside its bounds"):
        space_from_params(t.parameters, t.constraints, {"fast": {"min": 1, "max": 10}})
    with pytest.raises(SpaceError, match="unknown parameters"):
        space_from_params(t.parameters, t.constraints, {"nope": {"min": 1, "max": 2}})
