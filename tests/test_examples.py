"""Every example spec shipped in examples/ loads, builds and runs."""

from pathlib import Path

import numpy as np
import pytest

from hopdyn.fixed_points import find_fixed_points
from hopdyn.io import load_spec
from hopdyn.symbolic import reduce

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


def test_examples_exist():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_spec_builds_and_has_a_fixed_point(path):
    system = reduce(load_spec(path).build_model())
    result = find_fixed_points(system, 2.0)
    assert result.fixed_points
    residuals = [np.linalg.norm(system.fun(p.state, 2.0)) for p in result.fixed_points]
    assert max(residuals) < 1e-9
