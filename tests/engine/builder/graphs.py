"""Hand-built builder graphs shared by the builder tests."""

from __future__ import annotations

from typing import Any


def node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def edge(src: str, dst: str, port: str, src_port: str = "out") -> dict[str, Any]:
    return {"id": f"{src}-{dst}-{port}", "source": src, "source_port": src_port,
            "target": dst, "target_port": port}  # fmt: skip


def dual_ma(fast: float = 5, slow: float = 20) -> dict[str, Any]:
    """Buy when the fast mean crosses above the slow one, sell on the cross back; the two
    means feed both crosses (shared blocks)."""
    return {
        "name": "dual MA",
        "parameters": {"fast": fast},
        "nodes": [
            node("close", "field", name="close"),
            node("fast", "op.Mean", window={"ref": "fast"}),
            node("slow", "op.Mean", window=slow),
            node("up", "op.Cross"),
            node("down", "op.CrossDown"),
            node("buy", "signal.entry"),
            node("sell", "signal.exit"),
            node("size", "sizing.fixed_fraction", fraction=0.15, max_holdings=5),
            node("stop", "risk.stop_loss", mode="percent", value=0.1),
            node("st", "universe.exclude_st"),
            node("out", "strategy"),
        ],
        "edges": [
            edge("close", "fast", "x"),
            edge("close", "slow", "x"),
            edge("fast", "up", "x"),
            edge("slow", "up", "y"),
            edge("fast", "down", "x"),
            edge("slow", "down", "y"),
            edge("up", "buy", "when"),
            edge("down", "sell", "when"),
            edge("buy", "out", "entry"),
            edge("sell", "out", "exit"),
            edge("size", "out", "sizing"),
            edge("stop", "out", "risk"),
            edge("st", "out", "universe"),
        ],
    }


def chain(n: int) -> dict[str, Any]:
    """A top-k graph whose score is a chain of ``n`` blocks (for size limits and timing)."""
    nodes = [node("c", "field", name="close")]
    edges = []
    prev = "c"
    for i in range(n):
        nid = f"m{i}"
        nodes.append(node(nid, "op.Mean" if i % 2 == 0 else "op.Abs",
                          **({"window": 2} if i % 2 == 0 else {})))  # fmt: skip
        edges.append(edge(prev, nid, "x"))
        prev = nid
    nodes += [node("pick", "select.top_k", top_k=10, n_drop=2), node("out", "strategy")]
    edges += [edge(prev, "pick", "score"), edge("pick", "out", "select")]
    return {"name": "chain", "nodes": nodes, "edges": edges}


def wide(n: int) -> dict[str, Any]:
    """A top-k graph of about ``n`` blocks: moving averages of the close with different
    windows, summed pairwise in a balanced tree (wide and shallow)."""
    nodes = [node("c", "field", name="close")]
    edges = []
    layer = []
    for i in range((n - 3) // 2 + 1):
        nid = f"w{i}"
        nodes.append(node(nid, "op.Mean", window=2 + i))
        edges.append(edge("c", nid, "x"))
        layer.append(nid)
    k = 0
    while len(layer) > 1:
        nxt = []
        for a, b in zip(layer[::2], layer[1::2], strict=False):
            nid = f"s{k}"
            k += 1
            nodes.append(node(nid, "op.Add"))
            edges += [edge(a, nid, "x"), edge(b, nid, "y")]
            nxt.append(nid)
        if len(layer) % 2:
            nxt.append(layer[-1])
        layer = nxt
    nodes += [node("pick", "select.top_k", top_k=10, n_drop=2), node("out", "strategy")]
    edges += [edge(layer[0], "pick", "score"), edge("pick", "out", "select")]
    return {"name": "wide", "nodes": nodes, "edges": edges}
