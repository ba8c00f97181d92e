"""Models behind one interface: LightGBM (Qlib's default), linear / ridge / lasso and a small MLP.

Every model takes explicit ``seed`` and ``threads``; with the same inputs a rerun gives the
same predictions bit for bit. Models are saved as text in the library's own format
(LightGBM's model text; a JSON of coefficients for the scikit-learn ones): never pickle, so
loading a user's file cannot execute code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

#: ``progress(round, total_rounds, {"train": loss, "valid": loss})``; raise to stop training.
ProgressFn = Callable[[int, int, dict[str, float]], None]


def _mse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((pred.astype(np.float64) - y.astype(np.float64)) ** 2))


class Model:
    """What every model offers; ``name`` is its registry key."""

    name: ClassVar[str]
    handles_nan: ClassVar[bool] = False
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: Mapping[str, Any] | None = None, seed: int = 0, threads: int = 1):
        unknown = set(params or {}) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"unknown hyper-parameters for {self.name}: {sorted(unknown)}; "
                f"known: {sorted(self.defaults)}"
            )
        self.params = {**self.defaults, **dict(params or {})}
        self.seed, self.threads = int(seed), int(threads)
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        self.curve: dict[str, list[float]] = {}
        self.best_round = 0

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        """Train on ``(R, F)`` float32 features and ``(R,)`` labels (valid for early stopping)."""
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores ``(R,)`` float64 for feature rows ``(R, F)``."""
        raise NotImplementedError

    def importance(self) -> dict[str, list[float]]:
        """Per-feature importance by kind (``gain``, ``split``, ``coef``...)."""
        return {}

    def to_text(self) -> str:
        """The fitted model in the library's own text format."""
        raise NotImplementedError

    @classmethod
    def from_text(cls, text: str, threads: int = 1) -> Model:
        """Load what :meth:`to_text` wrote."""
        raise NotImplementedError


class LightGBMModel(Model):
    """Qlib's ``LGBModel``: ``loss="mse"``, early stopping on valid, best round kept.

    Parameters are LightGBM's (Qlib's aliases ``colsample_bytree``/``subsample`` etc. pass
    through); ``loss``, ``num_boost_round`` and ``early_stopping_rounds`` are Qlib's own.
    ``deterministic`` and ``force_col_wise`` are set so reruns match bit for bit.
    """

    name = "lightgbm"
    handles_nan = True
    defaults: ClassVar[dict[str, Any]] = {
        "loss": "mse",
        "num_boost_round": 1000,
        "early_stopping_rounds": 50,
        "learning_rate": 0.1,
        "num_leaves": 31,
        "max_depth": -1,
        "min_data_in_leaf": 20,
        "colsample_bytree": 1.0,
        "subsample": 1.0,
        "subsample_freq": 0,
        "lambda_l1": 0.0,
        "lambda_l2": 0.0,
        "min_sum_hessian_in_leaf": 1e-3,
        "max_bin": 255,
    }

    def __init__(self, params: Mapping[str, Any] | None = None, seed: int = 0, threads: int = 1):
        super().__init__(params, seed, threads)
        if self.params["loss"] not in ("mse", "binary"):
            raise ValueError("loss must be 'mse' or 'binary'")
        if int(self.params["num_boost_round"]) < 1:
            raise ValueError("num_boost_round must be at least 1")
        self.booster: Any = None

    def _lgb_params(self) -> dict[str, Any]:
        p = {k: v for k, v in self.params.items() if k not in ("loss", "num_boost_round")}
        p.pop("early_stopping_rounds")
        return {
            "objective": self.params["loss"],
            "verbosity": -1,
            **p,
            "seed": self.seed,
            "num_threads": self.threads,
            "deterministic": True,
            "force_col_wise": True,
        }

    def fit(self, x, y, x_valid=None, y_valid=None, progress=None):  # type: ignore[no-untyped-def]
        import lightgbm as lgb

        total = int(self.params["num_boost_round"])
        dtrain = lgb.Dataset(x, label=y, free_raw_data=True)
        sets, names = [dtrain], ["train"]
        if x_valid is not None and y_valid is not None and len(y_valid):
            sets.append(lgb.Dataset(x_valid, label=y_valid, reference=dtrain))
            names.append("valid")
        record: dict[str, dict[str, list[float]]] = {}
        callbacks = [lgb.record_evaluation(record)]
        if len(sets) > 1:
            callbacks.append(
                lgb.early_stopping(int(self.params["early_stopping_rounds"]), verbose=False)
            )
        if progress is not None:

            def report(env: Any) -> None:
                losses = {name: float(val) for name, _, val, _ in env.evaluation_result_list}
                progress(env.iteration + 1, total, losses)

            callbacks.append(report)
        self.booster = lgb.train(
            self._lgb_params(),
            dtrain,
            num_boost_round=total,
            valid_sets=sets,
            valid_names=names,
            callbacks=callbacks,
        )
        self.curve = {k: [float(v) for v in next(iter(m.values()))] for k, m in record.items()}
        self.best_round = int(self.booster.best_iteration or self.booster.current_iteration())

    def predict(self, x):  # type: ignore[no-untyped-def]
        return np.asarray(self.booster.predict(x, num_threads=self.threads), dtype=np.float64)

    def importance(self) -> dict[str, list[float]]:
        it = self.best_round or None
        return {
            kind: [float(v) for v in self.booster.feature_importance(kind, iteration=it)]
            for kind in ("gain", "split")
        }

    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str, threads: int = 1) -> LightGBMModel:
        import lightgbm as lgb

        model = cls(threads=threads)
        model.booster = lgb.Booster(model_str=text)
        model.best_round = int(model.booster.best_iteration or model.booster.current_iteration())
        return model


class _LinearBase(Model):
    """Shared save/load and importance of the scikit-learn linear models."""

    def _estimator(self) -> Any:
        raise NotImplementedError

    def fit(self, x, y, x_valid=None, y_valid=None, progress=None):  # type: ignore[no-untyped-def]
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.threads):
            est = self._estimator().fit(x.astype(np.float64), y.astype(np.float64))
        self.coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        self.intercept = float(est.intercept_)
        self.curve = {"train": [_mse(self.predict(x), y)]}
        if x_valid is not None and y_valid is not None and len(y_valid):
            self.curve["valid"] = [_mse(self.predict(x_valid), y_valid)]
        self.best_round = 1
        if progress is not None:
            progress(1, 1, {k: v[0] for k, v in self.curve.items()})

    def predict(self, x):  # type: ignore[no-untyped-def]
        return x.astype(np.float64) @ self.coef + self.intercept

    def importance(self) -> dict[str, list[float]]:
        return {"coef": self.coef.tolist(), "abs_coef": np.abs(self.coef).tolist()}

    def to_text(self) -> str:
        return json.dumps(
            {
                "model": self.name,
                "params": self.params,
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
            }
        )

    @classmethod
    def from_text(cls, text: str, threads: int = 1) -> Model:
        data = json.loads(text)
        if data.get("model") != cls.name:
            raise ValueError(f"not a {cls.name} model file")
        model = cls(data["params"], threads=threads)
        model.coef = np.asarray(data["coef"], dtype=np.float64)
        model.intercept = float(data["intercept"])
        model.best_round = 1
        return model


class LinearModel(_LinearBase):
    """Ordinary least squares (scikit-learn ``LinearRegression``)."""

    name = "linear"
    defaults: ClassVar[dict[str, Any]] = {"fit_intercept": True}

    def _estimator(self) -> Any:
        from sklearn.linear_model import LinearRegression

        return LinearRegression(fit_intercept=bool(self.params["fit_intercept"]))


class RidgeModel(_LinearBase):
    """L2-penalised least squares (scikit-learn ``Ridge``)."""

    name = "ridge"
    defaults: ClassVar[dict[str, Any]] = {"alpha": 1.0, "fit_intercept": True}

    def _estimator(self) -> Any:
        from sklearn.linear_model import Ridge

        return Ridge(
            alpha=float(self.params["alpha"]), fit_intercept=bool(self.params["fit_intercept"])
        )


class LassoModel(_LinearBase):
    """L1-penalised least squares (scikit-learn ``Lasso``, coordinate descent)."""

    name = "lasso"
    defaults: ClassVar[dict[str, Any]] = {"alpha": 1e-3, "fit_intercept": True, "max_iter": 1000}

    def _estimator(self) -> Any:
        from sklearn.linear_model import Lasso

        return Lasso(
            alpha=float(self.params["alpha"]),
            fit_intercept=bool(self.params["fit_intercept"]),
            max_iter=int(self.params["max_iter"]),
            random_state=self.seed,
        )


class MLPModel(Model):
    """A small multi-layer perceptron (scikit-learn ``MLPRegressor``, Adam), trained epoch by
    epoch with ``partial_fit`` and early stopping on the valid loss (best epoch kept)."""

    name = "mlp"
    defaults: ClassVar[dict[str, Any]] = {
        "hidden_layer_sizes": [64, 32],
        "alpha": 1e-4,
        "learning_rate_init": 1e-3,
        "batch_size": 2048,
        "epochs": 50,
        "early_stopping_rounds": 5,
    }

    def __init__(self, params: Mapping[str, Any] | None = None, seed: int = 0, threads: int = 1):
        super().__init__(params, seed, threads)
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []

    def fit(self, x, y, x_valid=None, y_valid=None, progress=None):  # type: ignore[no-untyped-def]
        from sklearn.neural_network import MLPRegressor
        from threadpoolctl import threadpool_limits

        est = MLPRegressor(
            hidden_layer_sizes=tuple(int(h) for h in self.params["hidden_layer_sizes"]),
            alpha=float(self.params["alpha"]),
            learning_rate_init=float(self.params["learning_rate_init"]),
            batch_size=max(1, min(int(self.params["batch_size"]), len(y))),
            random_state=self.seed,
            shuffle=True,
        )
        epochs, patience = int(self.params["epochs"]), int(self.params["early_stopping_rounds"])
        has_valid = x_valid is not None and y_valid is not None and len(y_valid) > 0
        self.curve = {"train": [], **({"valid": []} if has_valid else {})}
        best, best_epoch, since = np.inf, 0, 0
        xf, yf = x.astype(np.float64), y.astype(np.float64)
        with threadpool_limits(self.threads):
            for epoch in range(1, epochs + 1):
                est.partial_fit(xf, yf)
                losses = {"train": _mse(est.predict(xf), yf)}
                if has_valid:
                    losses["valid"] = _mse(est.predict(x_valid.astype(np.float64)), y_valid)
                for k, v in losses.items():
                    self.curve[k].append(v)
                watched = losses.get("valid", losses["train"])
                if watched < best:
                    best, best_epoch, since = watched, epoch, 0
                    self.layers = [
                        (w.copy(), b.copy())
                        for w, b in zip(est.coefs_, est.intercepts_, strict=True)
                    ]
                else:
                    since += 1
                if progress is not None:
                    progress(epoch, epochs, losses)
                if since >= patience:
                    break
        self.best_round = best_epoch

    def predict(self, x):  # type: ignore[no-untyped-def]
        a = x.astype(np.float64)
        for i, (w, b) in enumerate(self.layers):
            a = a @ w + b
            if i < len(self.layers) - 1:
                a = np.maximum(a, 0.0)  # MLPRegressor's default ReLU; identity output
        return a.ravel()

    def importance(self) -> dict[str, list[float]]:
        # mean |weight| leaving each input: a rough first-layer saliency
        return {"abs_weight": np.abs(self.layers[0][0]).mean(axis=1).tolist()}

    def to_text(self) -> str:
        return json.dumps(
            {
                "model": self.name,
                "params": self.params,
                "best_round": self.best_round,
                "layers": [[w.tolist(), b.tolist()] for w, b in self.layers],
            }
        )

    @classmethod
    def from_text(cls, text: str, threads: int = 1) -> MLPModel:
        data = json.loads(text)
        if data.get("model") != cls.name:
            raise ValueError("not an mlp model file")
        model = cls(data["params"], threads=threads)
        model.layers = [(np.asarray(w), np.asarray(b)) for w, b in data["layers"]]
        model.best_round = int(data["best_round"])
        return model


MODELS: dict[str, type[Model]] = {
    m.name: m for m in (LightGBMModel, LinearModel, RidgeModel, LassoModel, MLPModel)
}


def make_model(
    name: str, params: Mapping[str, Any] | None = None, seed: int = 0, threads: int = 1
) -> Model:
    """A fresh model by registry name; unknown names or hyper-parameters raise ValueError."""
    cls = MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return cls(params, seed=seed, threads=threads)


def load_model(name: str, text: str, threads: int = 1) -> Model:
    """Load a saved model of registry ``name`` from its text."""
    cls = MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}")
    return cls.from_text(text, threads=threads)
