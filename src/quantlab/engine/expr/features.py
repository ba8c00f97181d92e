"""Named feature sets: Qlib's Alpha158 and Alpha360, name for name and text for text.

They reproduce ``qlib.contrib.data.loader.Alpha158DL.get_feature_config()`` with its
default config (kbar; price windows [0] of OPEN, HIGH, LOW, VWAP; all rolling operators
over windows 5, 10, 20, 30, 60) and ``Alpha360DL.get_feature_config()``, with the label
both handlers use, ``Ref($close, -2)/Ref($close, -1) - 1`` (the return from tomorrow's
close to the day after: evaluate it with ``allow_future=True``).
"""

from __future__ import annotations

from collections.abc import Callable

Feature = tuple[str, str]

LABEL: list[Feature] = [("LABEL0", "Ref($close, -2)/Ref($close, -1) - 1")]
_WINDOWS = (5, 10, 20, 30, 60)


def _kbar() -> list[Feature]:
    return [
        ("KMID", "($close-$open)/$open"),
        ("KLEN", "($high-$low)/$open"),
        ("KMID2", "($close-$open)/($high-$low+1e-12)"),
        ("KUP", "($high-Greater($open, $close))/$open"),
        ("KUP2", "($high-Greater($open, $close))/($high-$low+1e-12)"),
        ("KLOW", "(Less($open, $close)-$low)/$open"),
        ("KLOW2", "(Less($open, $close)-$low)/($high-$low+1e-12)"),
        ("KSFT", "(2*$close-$high-$low)/$open"),
        ("KSFT2", "(2*$close-$high-$low)/($high-$low+1e-12)"),
    ]


# (name prefix, format taking d) in Qlib's order; "%(d)d" stands for the window
_ROLLING: tuple[tuple[str, str], ...] = (
    ("ROC", "Ref($close, %(d)d)/$close"),
    ("MA", "Mean($close, %(d)d)/$close"),
    ("STD", "Std($close, %(d)d)/$close"),
    ("BETA", "Slope($close, %(d)d)/$close"),
    ("RSQR", "Rsquare($close, %(d)d)"),
    ("RESI", "Resi($close, %(d)d)/$close"),
    ("MAX", "Max($high, %(d)d)/$close"),
    ("MIN", "Min($low, %(d)d)/$close"),
    ("QTLU", "Quantile($close, %(d)d, 0.8)/$close"),
    ("QTLD", "Quantile($close, %(d)d, 0.2)/$close"),
    ("RANK", "Rank($close, %(d)d)"),
    ("RSV", "($close-Min($low, %(d)d))/(Max($high, %(d)d)-Min($low, %(d)d)+1e-12)"),
    ("IMAX", "IdxMax($high, %(d)d)/%(d)d"),
    ("IMIN", "IdxMin($low, %(d)d)/%(d)d"),
    ("IMXD", "(IdxMax($high, %(d)d)-IdxMin($low, %(d)d))/%(d)d"),
    ("CORR", "Corr($close, Log($volume+1), %(d)d)"),
    ("CORD", "Corr($close/Ref($close,1), Log($volume/Ref($volume, 1)+1), %(d)d)"),
    ("CNTP", "Mean($close>Ref($close, 1), %(d)d)"),
    ("CNTN", "Mean($close<Ref($close, 1), %(d)d)"),
    ("CNTD", "Mean($close>Ref($close, 1), %(d)d)-Mean($close<Ref($close, 1), %(d)d)"),
    (
        "SUMP",
        "Sum(Greater($close-Ref($close, 1), 0), %(d)d)"
        "/(Sum(Abs($close-Ref($close, 1)), %(d)d)+1e-12)",
    ),
    (
        "SUMN",
        "Sum(Greater(Ref($close, 1)-$close, 0), %(d)d)"
        "/(Sum(Abs($close-Ref($close, 1)), %(d)d)+1e-12)",
    ),
    (
        "SUMD",
        "(Sum(Greater($close-Ref($close, 1), 0), %(d)d)"
        "-Sum(Greater(Ref($close, 1)-$close, 0), %(d)d))"
        "/(Sum(Abs($close-Ref($close, 1)), %(d)d)+1e-12)",
    ),
    ("VMA", "Mean($volume, %(d)d)/($volume+1e-12)"),
    ("VSTD", "Std($volume, %(d)d)/($volume+1e-12)"),
    (
        "WVMA",
        "Std(Abs($close/Ref($close, 1)-1)*$volume, %(d)d)"
        "/(Mean(Abs($close/Ref($close, 1)-1)*$volume, %(d)d)+1e-12)",
    ),
    (
        "VSUMP",
        "Sum(Greater($volume-Ref($volume, 1), 0), %(d)d)"
        "/(Sum(Abs($volume-Ref($volume, 1)), %(d)d)+1e-12)",
    ),
    (
        "VSUMN",
        "Sum(Greater(Ref($volume, 1)-$volume, 0), %(d)d)"
        "/(Sum(Abs($volume-Ref($volume, 1)), %(d)d)+1e-12)",
    ),
    (
        "VSUMD",
        "(Sum(Greater($volume-Ref($volume, 1), 0), %(d)d)"
        "-Sum(Greater(Ref($volume, 1)-$volume, 0), %(d)d))"
        "/(Sum(Abs($volume-Ref($volume, 1)), %(d)d)+1e-12)",
    ),
)


def alpha158() -> list[Feature]:
    """Qlib's Alpha158 features (158 of them) in Qlib's order."""
    out = _kbar()
    out += [(f"{f}0", f"${f.lower()}/$close") for f in ("OPEN", "HIGH", "LOW", "VWAP")]
    for prefix, template in _ROLLING:
        out += [(f"{prefix}{d}", template % {"d": d}) for d in _WINDOWS]
    return out


def alpha360() -> list[Feature]:
    """Qlib's Alpha360 features: 60 days of prices over today's close, volume over today's."""
    out: list[Feature] = []
    for field in ("close", "open", "high", "low", "vwap"):
        out += [(f"{field.upper()}{i}", f"Ref(${field}, {i})/$close") for i in range(59, 0, -1)]
        out.append((f"{field.upper()}0", f"${field}/$close"))
    out += [(f"VOLUME{i}", f"Ref($volume, {i})/($volume+1e-12)") for i in range(59, 0, -1)]
    out.append(("VOLUME0", "$volume/($volume+1e-12)"))
    return out


FEATURE_SETS: dict[str, Callable[[], list[Feature]]] = {
    "Alpha158": alpha158,
    "Alpha360": alpha360,
}


def get_feature_set(name: str, include_label: bool = False) -> list[Feature]:
    """``(name, expression)`` pairs of a named set; ``include_label`` appends ``LABEL0``.

    Raises
    ------
    KeyError
        For an unknown set name (the known ones are the keys of :data:`FEATURE_SETS`).
    """
    try:
        build = FEATURE_SETS[name]
    except KeyError:
        raise KeyError(f"unknown feature set {name!r}; known: {sorted(FEATURE_SETS)}") from None
    return build() + (list(LABEL) if include_label else [])
