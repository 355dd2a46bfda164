"""The board pack's words: the key messages, each a sentence drawn from the round's figures."""

from __future__ import annotations


from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.reports.boardpack.data import BoardData
from kim_metrics.reports.cells import safe_text
from kim_metrics.reports.words import plural
from kim_metrics.domain.values import missing


def score_text(value) -> str:
    return "" if missing(value) else f"{float(value):.1f}"


def rank_text(value) -> str:
    return "" if missing(value) else str(int(value))


def key_messages(b: BoardData) -> list[str]:
    """The headline points, each a sentence drawn from the round's figures."""
    out = []
    levels = b.criteria.rag.levels
    best, worst = levels[-1], levels[0]
    now = b.trend[b.trend["round"] == b.round].iloc[0] if (b.trend["round"] == b.round).any() else None
    before = b.trend[b.trend["round"] == b.previous].iloc[0] if b.previous and (b.trend["round"] == b.previous).any() else None
    total = len(b.teams)
    score = b.department.get("score")
    if not missing(score):
        text = f"The department scores {score:.1f} out of 100 ({b.department['rag']})"
        if before is not None and not missing(before["score"]):
            diff = round(float(score) - float(before["score"]), 1)
            word = "up" if diff > 0 else "down" if diff < 0 else "unchanged"
            text += (f", {word} {abs(diff):.1f} points from {float(before['score']):.1f} in {b.previous}"
                     if diff else f", unchanged since {b.previous}")
        out.append(text + ".")
    if now is not None:
        text = f"{now[best]} of {total} teams are {best} and {now[worst]} are {worst}"
        if before is not None:
            text += f" ({before[best]} and {before[worst]} in {b.previous})"
        out.append(text + ".")
    ranked = b.directorates[b.directorates["rank"].notna()]
    if len(ranked) >= 2:
        first, last = ranked.iloc[0], ranked.iloc[-1]
        out.append(f"{safe_text(first['name'])} leads the directorates with {score_text(first['score'])}; "
                   f"{safe_text(last['name'])} is last with {score_text(last['score'])}.")
    not_returned = len(b.non_returns)
    if not_returned:
        out.append(f"{plural(not_returned, 'team')} sent no return for {b.round}; "
                   f"{'it is' if not_returned == 1 else 'they are'} shown as {NO_RETURN}, not ranked.")
    else:
        out.append(f"Every team sent a return for {b.round}.")
    weakest = b.weakest()
    if weakest:
        out.append(f"The department is weakest on '{weakest['name']}': a mean of "
                   f"{weakest['percent']:.1f} out of 100, with {weakest[worst]} teams at {worst}.")
    unevidenced = int(b.teams["unevidenced"].sum())
    if unevidenced:
        out.append(f"{plural(unevidenced, 'claim')} above the lowest level {'has' if unevidenced == 1 else 'have'} "
                   "no evidence and count as the lowest level until evidence is sent.")
    return out
