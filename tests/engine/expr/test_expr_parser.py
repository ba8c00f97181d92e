"""Parser: precedence, canonical trees, errors with kind and position, look-ahead, lookback."""

from __future__ import annotations

import pytest

from quantlab.engine.expr import (
    OPERATORS,
    UNBOUNDED,
    ExprError,
    list_operators,
    lookahead,
    lookback,
    parse,
    validate,
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("$a+$b*$c", "Add($a,Mul($b,$c))"),
        ("($a+$b)*$c", "Mul($c,Add($a,$b))"),
        ("$a-$b-$c", "Sub(Sub($a,$b),$c)"),
        ("$a/$b/2", "Div(Div($a,$b),2)"),
        # Python precedence, as Qlib's eval: & binds tighter than |, both tighter than >
        ("$a>$b&$c", "Gt($a,And($b,$c))"),
        ("($a>$b)&($c<1)|$d", "Or($d,And(Gt($a,$b),Lt($c,1)))"),
        ("$a+1>=$b", "Ge(Add($a,1),$b)"),
        ("-$a*2", "Mul(2,Mul($a,-1))"),
        ("-2*$a", "Mul($a,-2)"),
        ("--$a", "Mul(-1,Mul($a,-1))"),
        ("+$a", "$a"),
        ("2*3+$a", "Add($a,6)"),
        ("1e-12+$a", "Add($a,1e-12)"),
        (".5*$a", "Mul($a,0.5)"),
        ("Mean($close, 5)/$close", "Div(Mean($close,5),$close)"),
        ("Quantile($close, 5, 0.8)", "Quantile($close,5,0.8)"),
        ("EMA($close, 0.5)", "EMA($close,0.5)"),
        ("$CLOSE", "$close"),
    ],
)
def test_precedence_and_canonical_text(text: str, tree: str) -> None:
    assert str(parse(text)) == tree


def test_commutative_inputs_are_ordered_so_equal_subtrees_are_equal() -> None:
    assert parse("$b+$a") == parse("Add($a, $b)")
    assert parse("Greater($open, $close)") == parse("Greater($close,$open)")
    assert parse("$a-$b") != parse("$b-$a")
    assert hash(parse("Mean($a+$b, 5)")) == hash(parse("Mean(Add($b,$a),5)"))


@pytest.mark.parametrize(
    ("text", "kind", "position"),
    [
        ("", "syntax", 0),
        ("$close +", "syntax", 8),
        ("($close", "syntax", 7),
        ("$close)", "syntax", 6),
        ("Mean($close 5)", "syntax", 12),
        ("$close # 2", "syntax", 7),
        ("$$roe", "syntax", 0),
        ("1 < $a < 2", "syntax", 7),
        ("Mean $close", "syntax", 5),
        ("3abc", "syntax", 0),
        ("$close + Foo($open)", "unknown_operator", 9),
        ("mean($close, 5)", "unknown_operator", 0),
        ("Mean($close)", "arity", 0),
        ("1 + Corr($a, $b)", "arity", 4),
        ("Abs($a, 2)", "arity", 0),
        ("Mean($close, -5)", "bad_window", 13),
        ("Mean($close, 2.5)", "bad_window", 13),
        ("Mean($close, $open)", "bad_window", 13),
        ("Skew($close, 2)", "bad_window", 13),
        ("Kurt($close, 4)", "bad_window", 13),
        ("Quantile($close, 5, 1.5)", "bad_window", 20),
        ("Delta($close, -1)", "bad_window", 14),
        ("EMA($close, -1)", "bad_window", 12),
        ("Mean(5, $close)", "bad_window", 8),
        ("Mean(5, 5)", "syntax", 5),
    ],
)
def test_errors_carry_kind_and_position(text: str, kind: str, position: int) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.kind == kind
    assert info.value.position == position
    assert info.value.to_dict()["position"] == position


def test_unknown_field_is_reported_where_it_is_written() -> None:
    with pytest.raises(ExprError) as info:
        validate("Mean($close, 5) / $clsoe", fields={"close", "open"})
    assert info.value.kind == "unknown_field"
    assert info.value.position == 18
    assert "$close" in info.value.message  # the suggestion
    assert str(validate("$Close", fields={"close"})) == "$close"


def test_negative_ref_is_rejected_unless_future_allowed() -> None:
    text = "Mean($close, 5) + Ref($close, -2)"
    with pytest.raises(ExprError) as info:
        validate(text)
    assert info.value.kind == "lookahead"
    assert info.value.position == 18
    assert str(validate(text, allow_future=True)) == "Add(Mean($close,5),Ref($close,-2))"
    assert lookahead(text) == 2
    assert lookahead("Ref(Ref($close, -1), -2)") == 3
    assert lookahead("Ref($close, 1)") == 0


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("$close", 0),
        ("Ref($close, 1)", 1),
        ("Mean($close, 5)", 4),
        ("Mean(Ref($close, 1), 5)", 5),
        ("Delta($close, 3)", 3),
        ("Corr($close, Ref($volume, 2), 10)", 11),
        ("Cross($close, Mean($close, 5))", 5),
        ("CSRank(Mean($close, 20))", 19),
        ("Std($close, 5) + Max($high, 60)", 59),
        ("EMA($close, 10)", 9),
        ("Ref($close, -2)", 0),
        ("Mean($close, 0)", UNBOUNDED),
        ("Ref($close, 0)", UNBOUNDED),
        ("Mean(Ref($close, 0), 5)", UNBOUNDED),
    ],
)
def test_lookback(text: str, days: int) -> None:
    assert lookback(text) == days


def test_registry_lists_every_qlib_operator() -> None:
    qlib_ops = """Abs Sign Log Power Not Add Sub Mul Div Greater Less Gt Ge Lt Le Eq Ne And Or If
    Ref Mean Sum Std Var Skew Kurt Max Min IdxMax IdxMin Quantile Med Mad Rank Count Delta
    Slope Rsquare Resi WMA EMA Corr Cov CSRank CSZScore CSDemean Cross CrossDown""".split()
    assert set(qlib_ops) | {"Neutralize"} == set(OPERATORS)
    rows = {r["name"]: r for r in list_operators()}
    assert rows["Quantile"]["arity"] == 3
    assert rows["Corr"]["kind"] == "pair_rolling"
    assert rows["If"]["signature"] == "If(cond, x, y)"
    assert rows["Neutralize"]["signature"] == "Neutralize(x, group, size)"
    assert all(r["description"] for r in rows.values())
