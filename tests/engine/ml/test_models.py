"""Models: hand-checkable fits, reproducibility, early stopping, progress, save and load."""

from __future__ import annotations

import numpy as np
import pytest

from quantlab.engine.ml.models import MODELS, load_model, make_model


def toy(seed: int = 1, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (2.0 * x[:, 0] - x[:, 1] + 0.5 + 0.1 * rng.normal(size=n)).astype(np.float32)
    return x, y


def test_linear_matches_least_squares() -> None:
    x, y = toy()
    m = make_model("linear")
    m.fit(x, y)
    a = np.column_stack([x.astype(np.float64), np.ones(len(x))])
    coef = np.linalg.lstsq(a, y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(m.importance()["coef"], coef[:4], atol=1e-6)
    np.testing.assert_allclose(m.predict(x), a @ coef, atol=1e-5)
    assert m.curve["train"][0] == pytest.approx(np.mean((a @ coef - y) ** 2), rel=1e-5)


def test_ridge_matches_the_closed_form() -> None:
    x, y = toy()
    m = make_model("ridge", {"alpha": 50.0})
    m.fit(x, y)
    xc = x.astype(np.float64) - x.mean(axis=0)
    yc = y.astype(np.float64) - y.mean()
    coef = np.linalg.solve(xc.T @ xc + 50.0 * np.eye(4), xc.T @ yc)
    np.testing.assert_allclose(m.importance()["coef"], coef, rtol=1e-6)


def test_lasso_zeroes_irrelevant_features() -> None:
    x, y = toy()
    m = make_model("lasso", {"alpha": 0.05})
    m.fit(x, y)
    coef = np.array(m.importance()["coef"])
    assert np.all(coef[2:] == 0.0) and coef[0] > 1.5


def test_lightgbm_early_stops_reports_progress_and_reruns_bit_for_bit() -> None:
    x, y = toy()
    xv, yv = toy(2, 500)
    seen: list[tuple[int, dict[str, float]]] = []
    params = {"num_boost_round": 300, "early_stopping_rounds": 5, "learning_rate": 0.3}
    m = make_model("lightgbm", params, seed=3, threads=1)
    m.fit(x, y, xv, yv, lambda r, total, losses: seen.append((r, losses)))
    assert [r for r, _ in seen] == list(range(1, len(seen) + 1))
    assert set(seen[0][1]) == {"train", "valid"}
    assert len(m.curve["valid"]) == len(seen) < 300  # stopped early ...
    assert m.best_round == len(seen) - 5  # ... five rounds after the best
    assert m.curve["valid"][m.best_round - 1] == min(m.curve["valid"])
    imp = m.importance()
    assert len(imp["gain"]) == len(imp["split"]) == 4
    assert imp["gain"][0] == max(imp["gain"])  # x0 carries most of the signal
    again = make_model("lightgbm", params, seed=3, threads=1)
    again.fit(x, y, xv, yv)
    np.testing.assert_array_equal(m.predict(xv), again.predict(xv))


def test_raising_from_progress_cancels_training() -> None:
    x, y = toy()

    def stop(r: int, total: int, losses: dict[str, float]) -> None:
        if r == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_model("lightgbm").fit(x, y, progress=stop)


def test_mlp_learns_and_stops_on_valid() -> None:
    x, y = toy()
    xv, yv = toy(2, 500)
    params = {
        "hidden_layer_sizes": [16],
        "epochs": 40,
        "batch_size": 128,
        "learning_rate_init": 0.01,
    }
    m = make_model("mlp", params, seed=1)
    m.fit(x, y, xv, yv)
    assert m.curve["valid"][m.best_round - 1] == min(m.curve["valid"])
    assert min(m.curve["valid"]) < 0.1 * float(np.var(yv))
    again = make_model("mlp", params, seed=1)
    again.fit(x, y, xv, yv)
    np.testing.assert_array_equal(m.predict(xv), again.predict(xv))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_saved_text_reloads_to_the_same_predictions(name: str) -> None:
    x, y = toy()
    params = (
        {"epochs": 3} if name == "mlp" else {"num_boost_round": 20} if name == "lightgbm" else {}
    )
    m = make_model(name, params)
    m.fit(x, y, x[:200], y[:200])
    text = m.to_text()
    assert isinstance(text, str) and "pickle" not in text
    back = load_model(name, text)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))


def test_unknown_models_and_hyper_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        make_model("catboost")
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        make_model("lightgbm", {"num_leaf": 10})
    with pytest.raises(ValueError, match="threads"):
        make_model("ridge", threads=0)
    with pytest.raises(ValueError, match="not a ridge"):
        load_model(
            "ridge",
            load_model(
                "linear", '{"model": "linear", "params": {}, "coef": [1.0], "intercept": 0.0}'
            ).to_text(),
        )
