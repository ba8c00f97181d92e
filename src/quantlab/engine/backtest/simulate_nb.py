"""Numba kernels of the portfolio simulator (flat list; see ``simulator.py`` for the API).

One kernel walks days ``[t0, t1)`` of a calendar. Each instrument belongs to a cash group:
one group for a shared-cash portfolio, one group per instrument for independent portfolios.
Within a day the order is: protective stops, strategy sells, strategy buys, stops on
positions opened at today's open, mark to market; so cash from sales is usable the same
day. Market arrays are indexed by execution day; the strategy arrays were already shifted
by the execution lag.

Units: prices in currency per share, quantities and volumes in shares, cash in currency.
Prices are the traded (raw) ones. With adjusted data the market arrays carry the
adjustment factor ``mkt[8]`` (adjusted = raw x factor, ``(T, N)``; ``(0, 0)`` when the data
are raw, as for absent price limits and ATR, since a one-day run's real factor is ``(1, N)``):
a change of factor from one day to the next (split, bonus issue, dividend) scales held
shares by the factor's ratio before the day trades, so raw shares valued at raw prices
follow the adjusted return path, and each fill also records its price on the adjusted basis.
NaN rules: a NaN execution price means no trade that day (``SUSPENDED``); a NaN close keeps
the previous close for valuation.

Outputs: each day's equity and cash per group and positions per instrument, into ``(T, G)``
and ``(T, N)`` arrays; or, for a lean run (``lean[0]``, the sums, has columns), only what the
metrics read of them, summed as the day ends (see :func:`_day_sums_nb`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from quantlab.engine.backtest.crossings_nb import crossed_at_nb
from quantlab.engine.backtest.rows_nb import day_weight_sums_nb, pairwise_sum_nb

# Float parameters (index into ``fp``).
F_COMM_RATE = 0
F_COMM_MIN = 1
F_SLIP_VALUE = 2
F_TICK = 3
F_SLIP_IMPACT = 4
F_LOT = 5
F_MIN_VOLUME = 6
F_VOLUME_CAP = 7
F_SL_VALUE = 8
F_TP_VALUE = 9
F_FRACTION = 10
F_AMOUNT = 11
F_VOL_TARGET = 12
F_STOCK_CAP = 13
F_RISK_DEGREE = 14
N_FP = 15

# Integer parameters (index into ``ip``).
I_SLIP_MODE = 0
I_T_PLUS_1 = 1
I_SUSPENSION = 2
I_SL_MODE = 3
I_TP_MODE = 4
I_SIZING = 5
I_MAX_HOLDINGS = 6
I_KIND = 7
I_TOPK = 8
I_NDROP = 9
I_HOLD_THRESH = 10
I_OPEN_FILLS = 11  # 1 when orders fill at the open, before the bar's range plays out
N_IP = 12

# Record layouts.
TR_SYMBOL, TR_DAY, TR_SIDE, TR_HOLD = 0, 1, 2, 3
TR_PRICE, TR_QTY, TR_COMMISSION, TR_TAX, TR_SLIPPAGE, TR_PNL, TR_ADJ_PRICE = 0, 1, 2, 3, 4, 5, 6
RJ_DAY, RJ_SYMBOL, RJ_SIDE, RJ_REASON = 0, 1, 2, 3

# Reason codes (mirror enums.RejectReason; kept literal so kernels need no Python enum).
R_SUSPENDED = 1
R_LIMIT_UP = 2
R_LIMIT_DOWN = 3
R_T_PLUS_1 = 4
R_LOT_SIZE = 5
R_LOW_LIQUIDITY = 6
R_VOLUME_CAP = 7
R_INSUFFICIENT_CASH = 8
R_MAX_HOLDINGS = 11
R_NOT_EXISTING = 12

EPS = 1e-9
# The helpers that allocate nothing are compiled without reference counting: unpacking the
# tuples of arrays they take cost two atomic operations per array and call (~200 ns per
# fill, most of the kernel's time on a busy run); they only read and write arrays the
# caller owns.
NO_REFCOUNT: dict[str, Any] = {"_nrt": False}
# Worst case records one instrument can add in a day; the kernel pauses before overflowing.
TRADES_PER_NAME_DAY = 2
REJECTS_PER_NAME_DAY = 4


@njit(cache=True, **NO_REFCOUNT)
def round_lot_nb(qty: float, lot: float) -> float:
    """Round a quantity down to whole lots (``lot <= 0``: unchanged, fractional allowed)."""
    if lot <= 0.0:
        return qty
    return np.floor(qty / lot + EPS) * lot


@njit(cache=True, **NO_REFCOUNT)
def slipped_price_nb(px, qty, volume, side, mode, value, tick, impact):
    """Fill price after slippage against the order (side +1 buy, -1 sell); never below 0."""
    if mode == 1:
        out = px * (1.0 + side * value)
    elif mode == 2:
        out = px + side * value * tick
    elif mode == 3:
        ratio = value
        if volume > 0.0:
            ratio += impact * qty / volume
        out = px * (1.0 + side * ratio)
    else:
        out = px
    return max(out, 0.0)


@njit(cache=True, **NO_REFCOUNT)
def _reject_nb(rej_i, rej_f, cnt, t, i, side, reason, qty):
    k = cnt[1]
    rej_i[k, RJ_DAY] = t
    rej_i[k, RJ_SYMBOL] = i
    rej_i[k, RJ_SIDE] = side
    rej_i[k, RJ_REASON] = reason
    rej_f[k] = qty
    cnt[1] = k + 1


@njit(cache=True, **NO_REFCOUNT)
def _factor_nb(factor, t, i):
    """The adjustment factor of ``i`` on day ``t`` (1 for raw data)."""
    if factor.shape[0] > 0:  # (0, 0): raw data
        return factor[t, i]
    return 1.0


@njit(cache=True, **NO_REFCOUNT)
def _apply_factor_change_nb(t, factor, st, i0, i1):
    """Carry holdings of instruments ``[i0, i1)`` through a change of the adjustment factor
    between days ``t - 1`` and ``t``: shares scale by the ratio and per-share levels by its
    inverse (value unchanged)."""
    if factor.shape[0] == 0 or t == 0:
        return
    qty = st[1]
    avg_px = st[3]
    peak = st[5]
    stop_atr = st[6]
    last_close = st[7]
    for i in range(i0, i1):
        prev = factor[t - 1, i]
        now = factor[t, i]
        if not (prev > 0.0 and now > 0.0) or prev == now:
            continue
        r = now / prev
        if qty[i] > 0.0:
            qty[i] *= r
            avg_px[i] /= r
            peak[i] /= r
            stop_atr[i] /= r
        last_close[i] /= r


@njit(cache=True, **NO_REFCOUNT)
def _trade_nb(tr_i, tr_f, cnt, t, i, side, hold, price, qty, comm, tax, slip, pnl, adj_price):
    k = cnt[0]
    tr_i[k, TR_SYMBOL] = i
    tr_i[k, TR_DAY] = t
    tr_i[k, TR_SIDE] = side
    tr_i[k, TR_HOLD] = hold
    tr_f[k, TR_PRICE] = price
    tr_f[k, TR_QTY] = qty
    tr_f[k, TR_COMMISSION] = comm
    tr_f[k, TR_TAX] = tax
    tr_f[k, TR_SLIPPAGE] = slip
    tr_f[k, TR_PNL] = pnl
    tr_f[k, TR_ADJ_PRICE] = adj_price
    cnt[0] = k + 1


@njit(cache=True, **NO_REFCOUNT)
def _market_reason_nb(t, i, side, px, volume, up_lim, down_lim, first, last, fp, ip):
    """0 when the market lets the order through, else a rejection reason."""
    if first[i] < 0 or t < first[i] or t > last[i]:
        return R_NOT_EXISTING
    vol = volume[t, i]
    if np.isnan(px) or px <= 0.0:
        return R_SUSPENDED
    if ip[I_SUSPENSION] != 0 and not (vol > 0.0):
        return R_SUSPENDED
    # (0, 0) limits: none apply (the +-inf a full array would hold, without the array)
    if side > 0:
        up = up_lim[t, i] if up_lim.shape[0] > 0 else np.inf
        if px >= up - EPS:
            return R_LIMIT_UP
    else:
        down = down_lim[t, i] if down_lim.shape[0] > 0 else -np.inf
        if px <= down + EPS:
            return R_LIMIT_DOWN
    if fp[F_MIN_VOLUME] > 0.0 and not (vol >= fp[F_MIN_VOLUME]):
        return R_LOW_LIQUIDITY
    return 0


@njit(cache=True, inline="always", **NO_REFCOUNT)
def buy_nb(t, i, g, want, px, mkt, fp, ip, st, rec):
    """Buy up to ``want`` shares of ``i`` at quoted ``px``; returns the filled quantity."""
    volume = mkt[0]
    up_lim = mkt[1]
    down_lim = mkt[2]
    exclude = mkt[3]
    first = mkt[4]
    last = mkt[5]
    atr = mkt[7]
    cash = st[0]
    qty = st[1]
    basis = st[2]
    avg_px = st[3]
    entry_day = st[4]
    peak = st[5]
    stop_atr = st[6]
    bought = st[8]
    tr_i = rec[0]
    tr_f = rec[1]
    rej_i = rec[2]
    rej_f = rec[3]
    cnt = rec[4]
    if not (want > 0.0):
        return 0.0
    reason = _market_reason_nb(t, i, 1, px, volume, up_lim, down_lim, first, last, fp, ip)
    if reason == 0 and exclude[t, i] != 0:
        reason = exclude[t, i]
    if reason != 0:
        _reject_nb(rej_i, rej_f, cnt, t, i, 1, reason, want)
        return 0.0
    lot = fp[F_LOT]
    vol = volume[t, i]
    q = want
    if fp[F_VOLUME_CAP] > 0.0 and q > fp[F_VOLUME_CAP] * vol:
        capped = round_lot_nb(fp[F_VOLUME_CAP] * vol, lot)
        _reject_nb(rej_i, rej_f, cnt, t, i, 1, R_VOLUME_CAP, q - capped)
        if capped <= 0.0:
            return 0.0
        q = capped
    q = round_lot_nb(q, lot)
    if q <= 0.0:
        _reject_nb(rej_i, rej_f, cnt, t, i, 1, R_LOT_SIZE, want)
        return 0.0
    rate = fp[F_COMM_RATE]
    cmin = fp[F_COMM_MIN]
    mode = ip[I_SLIP_MODE]
    fill = slipped_price_nb(px, q, vol, 1, mode, fp[F_SLIP_VALUE], fp[F_TICK], fp[F_SLIP_IMPACT])
    comm = max(rate * q * fill, cmin)
    if q * fill + comm > cash[g] + EPS:
        # Shrink to what the cash pays for, commission (and its minimum) included.
        q = cash[g] / (fill * (1.0 + rate))
        if q * fill * rate < cmin:
            q = (cash[g] - cmin) / fill
        q = round_lot_nb(q, lot)
        while q > 0.0:
            fill = slipped_price_nb(
                px, q, vol, 1, mode, fp[F_SLIP_VALUE], fp[F_TICK], fp[F_SLIP_IMPACT]
            )
            comm = max(rate * q * fill, cmin)
            if q * fill + comm <= cash[g] + EPS:
                break
            q = q - lot if lot > 0.0 else q * (1.0 - 1e-12)
        if q <= 0.0:
            _reject_nb(rej_i, rej_f, cnt, t, i, 1, R_INSUFFICIENT_CASH, want)
            return 0.0
    cost = q * fill + comm
    cash[g] = max(cash[g] - cost, 0.0)
    if qty[i] <= 0.0:
        entry_day[i] = t
        avg_px[i] = fill
        peak[i] = fill
        stop_atr[i] = atr[t, i] if atr.shape[0] > 0 else np.nan
    else:
        avg_px[i] = (avg_px[i] * qty[i] + fill * q) / (qty[i] + q)
    basis[i] += cost
    qty[i] += q
    bought[i] += q
    adj = fill * _factor_nb(mkt[8], t, i)
    _trade_nb(tr_i, tr_f, cnt, t, i, 1, 0, fill, q, comm, 0.0, (fill - px) * q, 0.0, adj)
    return q


@njit(cache=True, inline="always", **NO_REFCOUNT)
def sell_nb(t, i, g, want, px, close_all, mkt, fp, ip, st, rec):
    """Sell up to ``want`` shares of ``i`` at ``px``; ``close_all`` permits an odd-lot remainder."""
    volume = mkt[0]
    up_lim = mkt[1]
    down_lim = mkt[2]
    first = mkt[4]
    last = mkt[5]
    tax_rate = mkt[6]
    cash = st[0]
    qty = st[1]
    basis = st[2]
    entry_day = st[4]
    bought = st[8]
    tr_i = rec[0]
    tr_f = rec[1]
    rej_i = rec[2]
    rej_f = rec[3]
    cnt = rec[4]
    want = min(want, qty[i])
    if not (want > 0.0):
        return 0.0
    reason = _market_reason_nb(t, i, -1, px, volume, up_lim, down_lim, first, last, fp, ip)
    if reason != 0:
        _reject_nb(rej_i, rej_f, cnt, t, i, -1, reason, want)
        return 0.0
    lot = fp[F_LOT]
    vol = volume[t, i]
    q = want
    if ip[I_T_PLUS_1] != 0:
        sellable = qty[i] - bought[i]
        if q > sellable + EPS:
            _reject_nb(rej_i, rej_f, cnt, t, i, -1, R_T_PLUS_1, q - max(sellable, 0.0))
            if sellable <= EPS:
                return 0.0
            q = sellable
    if fp[F_VOLUME_CAP] > 0.0 and q > fp[F_VOLUME_CAP] * vol:
        capped = round_lot_nb(fp[F_VOLUME_CAP] * vol, lot)
        _reject_nb(rej_i, rej_f, cnt, t, i, -1, R_VOLUME_CAP, q - capped)
        if capped <= 0.0:
            return 0.0
        q = capped
    closing = close_all and q >= qty[i] - EPS
    if closing:
        q = qty[i]
    else:
        q = round_lot_nb(q, lot)
        if q <= 0.0:
            _reject_nb(rej_i, rej_f, cnt, t, i, -1, R_LOT_SIZE, want)
            return 0.0
    mode = ip[I_SLIP_MODE]
    fill = slipped_price_nb(px, q, vol, -1, mode, fp[F_SLIP_VALUE], fp[F_TICK], fp[F_SLIP_IMPACT])
    value = q * fill
    tax = tax_rate[t] * value
    comm = max(fp[F_COMM_RATE] * value, fp[F_COMM_MIN])
    # A tiny odd-lot sale never costs more than it brings in, so cash cannot go negative.
    comm = min(comm, max(value - tax, 0.0))
    proceeds = value - comm - tax
    part = basis[i] if closing else basis[i] * (q / qty[i])
    pnl = proceeds - part
    cash[g] += proceeds
    if closing:
        qty[i] = 0.0
        basis[i] = 0.0
    else:
        qty[i] -= q
        basis[i] -= part
    adj = fill * _factor_nb(mkt[8], t, i)
    hold = t - entry_day[i]
    _trade_nb(tr_i, tr_f, cnt, t, i, -1, hold, fill, q, comm, tax, (px - fill) * q, pnl, adj)
    return q


@njit(cache=True, **NO_REFCOUNT)
def _stops_nb(t, open_, high, low, mkt, fp, ip, st, rec, group, entered_today):
    """Protective exits on day ``t``'s range.

    First for positions entered before ``t``; then, when fills happen at the open, for those
    entered at today's open, whose exit the T+1 rule may refuse.
    """
    qty = st[1]
    avg_px = st[3]
    entry_day = st[4]
    peak = st[5]
    stop_atr = st[6]
    sl_mode = ip[I_SL_MODE]
    tp_mode = ip[I_TP_MODE]
    n = qty.shape[0]
    for i in range(n):
        if qty[i] <= 0.0 or (entry_day[i] == t) != entered_today:
            continue
        lo = low[t, i]
        hi = high[t, i]
        op = open_[t, i]
        sl = np.nan
        if sl_mode == 1:
            sl = avg_px[i] * (1.0 - fp[F_SL_VALUE])
        elif sl_mode == 2:
            sl = peak[i] * (1.0 - fp[F_SL_VALUE])
        elif sl_mode == 3:
            sl = avg_px[i] - fp[F_SL_VALUE] * stop_atr[i]
        tp = np.nan
        if tp_mode == 1:
            tp = avg_px[i] * (1.0 + fp[F_TP_VALUE])
        elif tp_mode == 3:
            tp = avg_px[i] + fp[F_TP_VALUE] * stop_atr[i]
        # When both levels sit inside one bar the stop-loss is assumed first (conservative).
        if lo <= sl:
            px = min(op, sl) if op == op else sl
            sell_nb(t, i, group[i], qty[i], px, True, mkt, fp, ip, st, rec)
        elif hi >= tp:
            px = max(op, tp) if op == op else tp
            sell_nb(t, i, group[i], qty[i], px, True, mkt, fp, ip, st, rec)
        if qty[i] > 0.0 and hi == hi:
            peak[i] = max(peak[i], hi)


@njit(cache=True)
def _group_equity_nb(exec_px, t, qty, last_close, cash, group):
    """Cash plus holdings marked at today's execution price (previous close when missing)."""
    eq = cash.copy()
    for i in range(qty.shape[0]):
        if qty[i] > 0.0:
            px = exec_px[t, i]
            if not (px > 0.0):
                px = last_close[i]
            if px > 0.0:
                eq[group[i]] += qty[i] * px
    return eq


@njit(cache=True)
def _signals_day_nb(t, exec_px, entries, exits, vol, mkt, fp, ip, st, rec, group, n_groups):
    cash = st[0]
    qty = st[1]
    last_close = st[7]
    n = qty.shape[0]
    for i in range(n):
        if qty[i] > 0.0 and exits[t, i]:
            sell_nb(t, i, group[i], qty[i], exec_px[t, i], True, mkt, fp, ip, st, rec)
    held = np.zeros(n_groups, dtype=np.int64)
    n_new = np.zeros(n_groups, dtype=np.int64)
    for i in range(n):
        if qty[i] > 0.0:
            held[group[i]] += 1
        elif entries[t, i] and not exits[t, i]:
            n_new[group[i]] += 1
    if n_new.sum() == 0:
        return
    eq = _group_equity_nb(exec_px, t, qty, last_close, cash, group)
    cash0 = cash.copy()
    sizing = ip[I_SIZING]
    max_h = ip[I_MAX_HOLDINGS]
    rate = fp[F_COMM_RATE]
    for i in range(n):
        if qty[i] > 0.0 or not entries[t, i] or exits[t, i]:
            continue
        g = group[i]
        px = exec_px[t, i]
        if max_h > 0 and held[g] >= max_h:
            _reject_nb(rec[2], rec[3], rec[4], t, i, 1, R_MAX_HOLDINGS, 0.0)
            continue
        if sizing == 0:
            value = eq[g] / max_h if max_h > 0 else cash0[g] / n_new[g]
        elif sizing == 1:
            value = fp[F_FRACTION] * eq[g]
        elif sizing == 2:
            value = fp[F_AMOUNT]
        else:
            value = fp[F_VOL_TARGET] / vol[t, i] * eq[g] if vol[t, i] > 0.0 else 0.0
        if fp[F_STOCK_CAP] > 0.0:
            value = min(value, fp[F_STOCK_CAP] * eq[g])
        value = min(value, cash[g])
        est = slipped_price_nb(px, 0.0, 0.0, 1, ip[I_SLIP_MODE], fp[F_SLIP_VALUE], fp[F_TICK], 0.0)
        want = value / (est * (1.0 + rate)) if est > 0.0 else 1.0
        if buy_nb(t, i, g, want, px, mkt, fp, ip, st, rec) > 0.0:
            held[g] += 1


@njit(cache=True)
def _weights_day_nb(t, exec_px, weights, mkt, fp, ip, st, rec, group, n_groups):
    cash = st[0]
    qty = st[1]
    last_close = st[7]
    n = qty.shape[0]
    lot = fp[F_LOT]
    eq = _group_equity_nb(exec_px, t, qty, last_close, cash, group)
    delta = np.zeros(n)
    for i in range(n):
        w = weights[t, i]
        if not (w == w):
            w = 0.0
        px = exec_px[t, i]
        if not (px > 0.0):
            px = last_close[i]
        target = w * eq[group[i]] / px if px > 0.0 else 0.0
        d = target - qty[i]
        # Differences under one lot (or dust when fractional) are not orders.
        small = lot if lot > 0.0 else 1e-9 * max(qty[i], 1.0)
        if abs(d) >= small or (target <= 0.0 and qty[i] > 0.0):
            delta[i] = d
    for i in range(n):
        if delta[i] < 0.0:
            close_all = qty[i] + delta[i] < max(lot, EPS)
            sell_nb(t, i, group[i], -delta[i], exec_px[t, i], close_all, mkt, fp, ip, st, rec)
    need = np.zeros(n_groups)
    for i in range(n):
        if delta[i] > 0.0 and exec_px[t, i] > 0.0:
            need[group[i]] += delta[i] * exec_px[t, i] * (1.0 + fp[F_COMM_RATE])
    # One scale per group, fixed before any buy, so every buy shrinks by the same factor.
    scale = np.ones(n_groups)
    for g in range(n_groups):
        if need[g] > cash[g]:
            scale[g] = cash[g] / need[g]
    for i in range(n):
        if delta[i] > 0.0:
            g = group[i]
            buy_nb(t, i, g, delta[i] * scale[g], exec_px[t, i], mkt, fp, ip, st, rec)


@njit(cache=True)
def _desc_order_nb(idx, score):
    """``idx`` sorted by score descending, NaN last, ties by index (stable)."""
    key = np.empty(idx.shape[0])
    for k in range(idx.shape[0]):
        s = score[idx[k]]
        key[k] = -s if s == s else np.inf
    return idx[np.argsort(key, kind="mergesort")]


@njit(cache=True)
def _topk_day_nb(t, exec_px, scores, mkt, fp, ip, st, rec, group):
    """Qlib TopkDropoutStrategy (method_sell=bottom, method_buy=top) on one rebalance day."""
    cash = st[0]
    qty = st[1]
    entry_day = st[4]
    n = qty.shape[0]
    topk = ip[I_TOPK]
    n_drop = ip[I_NDROP]
    sc = scores[t]
    held = np.nonzero(qty > 0.0)[0]
    last = _desc_order_nb(held, sc)
    cand_mask = (qty <= 0.0) & (sc == sc)
    cand = _desc_order_nb(np.nonzero(cand_mask)[0], sc)
    n_today = max(n_drop + topk - last.shape[0], 0)
    today = cand[: min(n_today, cand.shape[0])]
    comb = _desc_order_nb(np.concatenate((last, today)), sc)
    bottom = np.zeros(n, dtype=np.bool_)
    for k in range(max(comb.shape[0] - n_drop, 0), comb.shape[0]):
        bottom[comb[k]] = True
    n_sell = 0
    for k in range(held.shape[0]):
        i = held[k]
        if not bottom[i]:
            continue
        n_sell += 1
        if t - entry_day[i] < ip[I_HOLD_THRESH]:
            continue
        sell_nb(t, i, group[i], qty[i], exec_px[t, i], True, mkt, fp, ip, st, rec)
    n_buy = min(max(n_sell + topk - last.shape[0], 0), today.shape[0])
    if n_buy == 0:
        return
    value = cash[0] * fp[F_RISK_DEGREE] / n_buy
    for k in range(n_buy):
        i = today[k]
        px = exec_px[t, i]
        want = value / px if px > 0.0 else 1.0
        buy_nb(t, i, group[i], want, px, mkt, fp, ip, st, rec)


@njit(cache=True, **NO_REFCOUNT)
def _day_sums_nb(t, qty, cash, equity, lean):
    """A lean run's day ``t``: ``equity`` (per group) and ``cash`` summed, and the weights'
    step, gross and net sums, into column ``t`` of the sums, each added in NumPy's order
    (``rows_nb``), so equal to the bit to summing the ``(T, G)`` and ``(T, N)`` arrays.

    ``lean`` is ``(sums, prev_w, marks, plan_n, plan_g, rows, eq_row, stack)``: the
    ``(5, T)`` sums (``state.SUM_*`` rows), the previous day's weights, the closes carried
    forward ``(T, N)``, the pairwise plans of N and G values, and scratch."""
    sums = lean[0]
    stack = lean[7]
    sums[0, t] = pairwise_sum_nb(equity, lean[4], stack)
    sums[1, t] = pairwise_sum_nb(cash, lean[4], stack)
    day_weight_sums_nb(qty, lean[2][t], equity, t, lean[1], lean[3], stack, lean[5],
                       sums[2:, t])  # fmt: skip


@njit(cache=True)
def simulate_chunk_nb(
    t0, t1, exec_px, open_, high, low, close, mkt, entries, exits, target, vol, rebalance,
    group, n_groups, fp, ip, st, rec, equity, cash_hist, positions, lean,
):  # fmt: skip
    """Walk days ``[t0, t1)``; returns the next day to run (earlier than ``t1`` when the record
    buffers need to grow first). All state and output arrays are updated in place; a lean
    run (``lean``: see :func:`_day_sums_nb`) writes the day sums instead of the outputs."""
    cash = st[0]
    qty = st[1]
    last_close = st[7]
    bought = st[8]
    tr_i = rec[0]
    rej_i = rec[2]
    cnt = rec[4]
    n = qty.shape[0]
    kind = ip[I_KIND]
    stops = ip[I_SL_MODE] != 0 or ip[I_TP_MODE] != 0
    is_lean = lean[0].shape[1] > 0
    for t in range(t0, t1):
        if cnt[0] + TRADES_PER_NAME_DAY * n > tr_i.shape[0]:
            return t
        if cnt[1] + REJECTS_PER_NAME_DAY * n > rej_i.shape[0]:
            return t
        bought[:] = 0.0
        _apply_factor_change_nb(t, mkt[8], st, 0, n)
        if stops:
            _stops_nb(t, open_, high, low, mkt, fp, ip, st, rec, group, False)
        if kind == 0:
            _signals_day_nb(t, exec_px, entries, exits, vol, mkt, fp, ip, st, rec, group, n_groups)
        elif rebalance[t]:
            if kind == 1:
                _weights_day_nb(t, exec_px, target, mkt, fp, ip, st, rec, group, n_groups)
            else:
                _topk_day_nb(t, exec_px, target, mkt, fp, ip, st, rec, group)
        if stops and ip[I_OPEN_FILLS] != 0:
            _stops_nb(t, open_, high, low, mkt, fp, ip, st, rec, group, True)
        value = np.zeros(n_groups)
        for i in range(n):
            c = close[t, i]
            if c > 0.0:
                last_close[i] = c
            q = qty[i]
            if not is_lean:
                positions[t, i] = q
            if q > 0.0 and last_close[i] > 0.0:
                value[group[i]] += q * last_close[i]
        if is_lean:
            eq = lean[6]
            for g in range(n_groups):
                eq[g] = cash[g] + value[g]
            _day_sums_nb(t, qty, cash, eq, lean)
            continue
        for g in range(n_groups):
            equity[t, g] = cash[g] + value[g]
            cash_hist[t, g] = cash[g]
    return t1


@njit(cache=True, nogil=True, inline="always")
def _signal_nb(panel, fused, a, b, first, last, cols, r, up, t, i):
    """A signal of column ``i`` on day ``t``: ``panel[t, i]``, or when ``fused`` whether
    ``a`` crosses ``b`` on row ``r`` of the evaluated panel (the decision day's; ``r < 0``:
    none), for column ``cols[i]`` (see :func:`simulate_columns_nb`'s ``cross``)."""
    if not fused:
        return panel[t, i]
    if r < 0:
        return False
    return crossed_at_nb(a, b, first, last, cols[i], r, up)


@njit(cache=True, nogil=True, **NO_REFCOUNT)
def simulate_columns_nb(
    t0, t1, i0, i1, exec_px, close, mkt, entries, exits, vol, fp, ip, st, rec, equity,
    cash_hist, positions, lean, cross,
):  # fmt: skip
    """:func:`simulate_chunk_nb` for signals on independent per-column portfolios without
    stops (each instrument is its own cash group), in two passes a day instead of seven
    (sells; then each column's buy and close, which read and write that column only).

    Same arithmetic in the same order, so bit-identical: an entering column holds nothing,
    so its group's equity is its cash (no other column shares it), ``n_new`` is 1 and the
    holdings cap (``held`` is 0) never refuses; records keep the day's order (sells, then
    buys, by column).

    Only columns ``[i0, i1)`` are simulated: two calls on disjoint ranges, each with its
    own ``rec``, may run at once (nothing else is shared), their records interleaved
    afterwards by :func:`merge_records_nb`. A lean run sums whole days: ``[0, N)`` only.

    Signals come from the ``entries`` / ``exits`` panels or, when ``cross[7][0]`` is set,
    from crossings: ``cross`` is ``(a0, b0, a1, b1, first, last, cols, meta)``, the series
    whose crossing is the entry and the exit (``crossings.Crossings``), existence ranges,
    traded columns and ``meta = [fused, lo, lag, up0, up1]``: ``lo`` the row of day 0,
    ``lag`` the execution lag (day ``t`` acts on the decision of day ``t - lag``)."""
    cash = st[0]
    qty = st[1]
    last_close = st[7]
    bought = st[8]
    tr_i = rec[0]
    rej_i = rec[2]
    cnt = rec[4]
    n = i1 - i0
    sizing = ip[I_SIZING]
    max_h = ip[I_MAX_HOLDINGS]
    rate = fp[F_COMM_RATE]
    is_lean = lean[0].shape[1] > 0
    eq_row = lean[6]
    a0, b0, a1, b1, first, last, cols, meta = cross
    fused = meta[0] != 0
    row0 = meta[1] - meta[2]
    up0 = meta[3] != 0
    up1 = meta[4] != 0
    for t in range(t0, t1):
        if cnt[0] + TRADES_PER_NAME_DAY * n > tr_i.shape[0]:
            return t
        if cnt[1] + REJECTS_PER_NAME_DAY * n > rej_i.shape[0]:
            return t
        bought[i0:i1] = 0.0
        _apply_factor_change_nb(t, mkt[8], st, i0, i1)
        r = row0 + t if row0 + t >= meta[1] else -1  # before day 0's decision: none
        for i in range(i0, i1):
            if i < 0:  # never; tells the compiler, so indexing skips the negative wraparound
                continue
            if qty[i] > 0.0 and _signal_nb(exits, fused, a1, b1, first, last, cols, r, up1, t, i):
                sell_nb(t, i, i, qty[i], exec_px[t, i], True, mkt, fp, ip, st, rec)
        for i in range(i0, i1):  # buys, then the close (a column's own state only)
            if i < 0:
                continue
            if (
                not qty[i] > 0.0
                and _signal_nb(entries, fused, a0, b0, first, last, cols, r, up0, t, i)
                and not _signal_nb(exits, fused, a1, b1, first, last, cols, r, up1, t, i)
            ):
                px = exec_px[t, i]
                eq = cash[i]
                if sizing == 0:
                    value = eq / max_h if max_h > 0 else eq / 1
                elif sizing == 1:
                    value = fp[F_FRACTION] * eq
                elif sizing == 2:
                    value = fp[F_AMOUNT]
                else:
                    value = fp[F_VOL_TARGET] / vol[t, i] * eq if vol[t, i] > 0.0 else 0.0
                if fp[F_STOCK_CAP] > 0.0:
                    value = min(value, fp[F_STOCK_CAP] * eq)
                value = min(value, cash[i])
                est = slipped_price_nb(px, 0.0, 0.0, 1, ip[I_SLIP_MODE], fp[F_SLIP_VALUE],
                                       fp[F_TICK], 0.0)  # fmt: skip
                want = value / (est * (1.0 + rate)) if est > 0.0 else 1.0
                buy_nb(t, i, i, want, px, mkt, fp, ip, st, rec)
            c = close[t, i]
            if c > 0.0:
                last_close[i] = c
            q = qty[i]
            value = 0.0
            if q > 0.0 and last_close[i] > 0.0:
                value += q * last_close[i]
            if is_lean:
                eq_row[i] = cash[i] + value
            else:
                positions[t, i] = q
                equity[t, i] = cash[i] + value
                cash_hist[t, i] = cash[i]
        if is_lean:
            _day_sums_nb(t, qty, cash, eq_row, lean)
    return t1


@njit(cache=True, nogil=True)
def merge_records_nb(a_i, a_f, b_i, b_f, day, side, out_i, out_f):
    """Interleave the records of two :func:`simulate_columns_nb` calls on column ranges
    ``a`` before ``b`` into ``out``, in the order one call on both would have written
    them: for each day, ``a``'s sells, ``b``'s sells, ``a``'s buys, ``b``'s buys (a sell or
    its refusal is written in the day's first pass, a buy or its refusal in the second).
    ``day`` and ``side`` are the integer columns holding them (trades' or rejections');
    the float records are 2-D (a rejection's one value as a column)."""
    na, nb = a_i.shape[0], b_i.shape[0]
    ja = jb = 0
    for k in range(na + nb):
        take_a = jb >= nb
        if ja < na and not take_a:
            key_a = 2 * a_i[ja, day] + (a_i[ja, side] > 0)
            key_b = 2 * b_i[jb, day] + (b_i[jb, side] > 0)
            take_a = key_a <= key_b
        src_i, src_f, j = (a_i, a_f, ja) if take_a else (b_i, b_f, jb)
        for c in range(out_i.shape[1]):
            out_i[k, c] = src_i[j, c]
        for c in range(out_f.shape[1]):
            out_f[k, c] = src_f[j, c]
        if take_a:
            ja += 1
        else:
            jb += 1
