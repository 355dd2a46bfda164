"""League table: ranking, movement, the department's headline figures and trend."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import streamlit as st

from kim_metrics.reports import exports
from kim_metrics.services import views as insights
from kim_metrics.services.documents import boardpack_pdf
from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.domain.scoring import CHALLENGED, SELF_DECLARED, VERIFIED
from pages import _followup as followup
from pages import _shared as ui

LEVELS = {"Teams": "team", "Directorates": "directorate", "Groups": "group"}
TABLE_KEY = "league_table_rows"
PAGE_KEY = "league_page"
LEADING = ["Rank", "Movement", "Name", "Score", "RAG"]   # what a narrow page must show
CUT_SHORT = "A long name is cut short here; widen the column, or see it whole in the downloads."
NAME_WIDTH = 190  # pixels: most team and directorate names whole, the criteria still near
PAGE_ROWS = 100   # rows drawn (and styled) at a time; filters and downloads take the whole table


def _filtered(url: str, round_label: str, level: str, groups: tuple[str, ...],
              directorates: tuple[str, ...]) -> pd.DataFrame:
    """The league rows the filters choose."""
    return insights.filter_league(ui.league(url, round_label, level).table, groups=groups,
                                  directorates=directorates)


def _page(actor) -> None:
    # The page is a function so that what it reads dies with the run. Streamlit keeps a
    # session's download functions (and so, for code at a script's top level, every name the
    # script set) until the session ends, minutes after its tab closed: with a large
    # department that was megabytes per visitor.
    st.title("KIM league table")
    url = ui.db_url()
    labels = ui.round_labels(url)
    if not labels:
        ui.no_rounds_notice()
        return

    top = st.columns(4)
    round_label = ui.round_picker(labels, key="league_round", container=top[0])
    level_name = top[1].radio("Show", list(LEVELS), horizontal=True, key="league_level")
    level = LEVELS[level_name]
    result = ui.league(url, round_label, level)
    criteria = result.criteria
    places = ui.league_places(url, round_label)
    groups = sorted(places["group"].dropna().unique())
    chosen_groups = top[2].multiselect("Groups", groups, key="league_groups", placeholder="All groups")
    directorate_options = sorted(
        insights.filter_league(places, groups=chosen_groups)["directorate"].dropna().unique())
    chosen_dirs = top[3].multiselect("Directorates", directorate_options, key="league_dirs",
                                     placeholder="All directorates", disabled=level == "group",
                                     help="Not used when the table shows groups.")
    # Directorates do not apply to groups: the choice is kept for when the level changes back.
    chosen_dirs = [d for d in chosen_dirs if d in directorate_options] if level != "group" else []

    # Headline figures for the whole department --------------------------------------------------
    trend = ui.rag_trend(url)
    statuses = [*reversed(criteria.rag.levels), NO_RETURN]
    head = insights.headline(trend, round_label, statuses)
    since = f"since {head.previous}" if head.previous else ""
    st.header(f"The department in {round_label}")
    cols = st.columns(len(statuses) + 1)
    good = criteria.rag.levels[-1]
    for col, status in zip(cols, statuses):
        change = head.changes[status]
        if status == good:
            colour = "normal"
        elif status == NO_RETURN or criteria.rag.position(status) == 0:
            colour = "inverse"
        else:
            colour = "off"
        # Short labels and deltas: five figures share a laptop's width (the caption says "since").
        col.metric(ui.status_word(status, criteria.rag.statuses), head.counts[status],
                   delta=None if change is None else f"{change:+d}", delta_color=colour,
                   help=f"Teams whose status is {status} in {round_label}"
                        + (f", and the change since {head.previous}." if head.previous else "."))
    cols[-1].metric("Score", ui.score_text(head.score),
                    delta=None if head.score_change is None else f"{head.score_change:+.1f}",
                    help="The mean score (0-100) of the teams that made a return.")
    reviews = ui.review_counts(url, round_label)
    st.caption("Teams by status and the department's score (0-100)"
               + (f"; the small figures are the change {since}. " if since else ". ")
               + f"{head.returned} of {head.teams} teams made a return for {round_label}."
               + ("" if head.previous else " This is the first round, so there is no change to show.")
               + f" Of {sum(reviews.values())} scores, {reviews[VERIFIED]} are verified by the KIM team, "
               f"{reviews[CHALLENGED]} challenged (counted at the reviewer's level) and "
               f"{reviews[SELF_DECLARED]} self-declared.")

    # The table ----------------------------------------------------------------------------------
    table = insights.filter_league(result.table, groups=chosen_groups,
                                   directorates=chosen_dirs)
    view = insights.league_view(table, criteria, level)
    team_ids = view.pop("team_id").tolist() if "team_id" in view else []
    if level == "team" and "Group" in view:
        view = view.drop(columns=["Group"])  # the filters and the downloads keep it
    view = view[[*LEADING, *(c for c in view.columns if c not in LEADING)]]
    names = table["name"].tolist()
    rag_columns = ["RAG", *(c.name for c in criteria)]
    # The table is wider than a laptop's page: the score and status sit beside the name, so
    # they show without scrolling sideways, and long names are cut short in the cell (whole in
    # the downloads).
    column_config = {
        "Rank": st.column_config.NumberColumn("Rank", format="%d", width="small",
                                              help="Teams with the same score share a rank."),
        "Name": st.column_config.TextColumn("Name", width=NAME_WIDTH, help=CUT_SHORT),
        "Directorate": st.column_config.TextColumn("Directorate", width=NAME_WIDTH, help=CUT_SHORT),
        "Movement": st.column_config.TextColumn(
            "Movement", width="small",
            help=f"Places up (▲) or down (▼) since {result.previous.label if result.previous else 'the last round'}; "
                 "– no change; new: not ranked last round."),
        "Score": st.column_config.NumberColumn("Score", format="%.1f", width="small",
                                               help="Weighted score, 0-100."),
    }
    for c in criteria:
        # The short label fits the column; the full name and description are the header's help.
        column_config[c.name] = st.column_config.TextColumn(c.short or c.name, width="small",
                                                            help=ui.criterion_help(c))
    if level == "team" and ui.has_page("team"):
        view["Details"] = [f"team?team={t}&round={round_label}" for t in team_ids]
        column_config["Details"] = st.column_config.LinkColumn(
            "Details", display_text="Open", width="small", help="Open the team's scores and evidence.")

    what = {"team": "teams", "directorate": "directorates", "group": "groups"}[level]
    st.header(f"League of {what}, {round_label}")
    if level == "team":
        hint = "Choose a row to open the team's scores and evidence."
    elif level == "directorate":
        hint = "Choose a row to open the directorate's page."
    else:
        hint = ""

    # The table is drawn a page of rows at a time: styling and sending every row of a large
    # department is slow, and Streamlit refuses a styled table of more than 262,144 cells.
    pages = max(1, math.ceil(len(view) / PAGE_ROWS))
    showing = (round_label, level, tuple(chosen_groups), tuple(chosen_dirs))
    if st.session_state.get(PAGE_KEY + "_for") != showing or st.session_state.get(PAGE_KEY, 0) >= pages:
        st.session_state[PAGE_KEY + "_for"] = showing   # new filters start again at the top
        st.session_state[PAGE_KEY] = 0


    total = len(view)


    def _rows_text(page: int) -> str:
        return f"Rows {page * PAGE_ROWS + 1:,}–{min((page + 1) * PAGE_ROWS, total):,} of {total:,}"


    if pages > 1:
        page_no = st.selectbox("Rows shown", range(pages), format_func=_rows_text, key=PAGE_KEY,
                               help=f"The table shows {PAGE_ROWS} rows at a time, in rank order. The "
                                    "filters and the downloads cover every row.")
    else:
        page_no = 0
    start = page_no * PAGE_ROWS
    page_view = view.iloc[start:start + PAGE_ROWS]
    shown = f" Showing {_rows_text(page_no).lower()}; choose other rows above." if pages > 1 else ""
    st.caption(f"{len(view):,} {what}. Ranked by weighted score; equal scores share a rank. "
               "Every status is written in its cell as well as coloured." + shown + (" " + hint if hint else ""))
    selectable = (level == "team" and ui.has_page("team")) or (level == "directorate" and ui.has_page("directorate"))
    event = st.dataframe(
        ui.styled(page_view, rag_columns, decimals={"Score": 1}, statuses=criteria.rag.statuses),
        hide_index=True, width="stretch", column_config=column_config, key=TABLE_KEY,
        height=min(38 + 35 * len(page_view), 600),
        on_select="rerun" if selectable else "ignore", selection_mode="single-row",
    )
    chosen_rows = event.selection.rows if selectable else []
    if chosen_rows and chosen_rows[0] < len(page_view):
        # The table's selection lives only while this page shows it, so coming back is safe.
        # A selected row is counted on the page shown; start turns it into a row of the league.
        chosen = start + chosen_rows[0]
        if level == "team":
            st.switch_page(ui.page_path("team"), query_params={"team": str(team_ids[chosen]), "round": round_label})
        st.switch_page(ui.page_path("directorate"), query_params={"directorate": names[chosen], "round": round_label})

    downloads = st.columns(3)
    filters = "-".join(filter(None, [round_label, level]))
    groups_key, dirs_key = tuple(chosen_groups), tuple(chosen_dirs)


    def _rows() -> pd.DataFrame:
        # Read again when the file is asked for (from the cache), not kept from this run: a
        # download's function lives as long as the session, and with it whatever it holds.
        return _filtered(url, round_label, level, groups_key, dirs_key)


    downloads[0].download_button(
        "Download CSV", data=lambda: exports.league_csv(_rows(), criteria, level),
        file_name=f"kim-league-{filters}.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:")


    previous_label = result.previous.label if result.previous else None


    def _xlsx() -> bytes:
        rows = _rows()
        scores = None
        if level == "team":
            scored = ui.scored_round(url, round_label, actor).scores
            scores = scored[scored["team_id"].isin(rows["team_id"])]
        return exports.league_xlsx(rows, criteria, level, scores if scores is not None and len(scores) else None,
                                   round_label=round_label, previous_label=previous_label)


    downloads[1].download_button(
        "Download Excel", data=_xlsx, file_name=f"kim-league-{filters}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore",
        icon=":material/download:")
    # Built only when asked for: the board pack reads every round for its trend.
    if actor.sees_everything:
        ui.built_download(
            f"boardpack-{round_label}", "Board pack", container=downloads[2],
            build=lambda progress: boardpack_pdf(ui.engine(), round_label, actor=actor, progress=progress),
            label="Board pack (PDF)", file_name=f"kim-board-pack-{round_label}.pdf", mime="application/pdf",
            icon=":material/picture_as_pdf:", help="A few pages for the Permanent Secretary and the "
                                                   "board: the RAG mix and trend, top and bottom, movers, "
                                                   "non-returns.")

    # Charts -------------------------------------------------------------------------------------
    heat_title = f"Heatmap: {what} × criteria" + (f" ({_rows_text(page_no).lower()})" if pages > 1 else "")
    # Only the chosen tab runs (on_change="rerun"): the first is a table, so the league draws
    # without waiting for the browser to load the charting library, which costs seconds on a
    # first visit; the charts load when someone asks for them.
    table_tab, trend_tab, heat_tab = st.tabs(["Status mix over rounds", "Status mix as a chart", heat_title],
                                             key="league_views", on_change="rerun")
    table_of_trend = trend.drop(columns=["start_date"]).rename(
        columns={"round": "Round", "score": "Department score"})
    if table_tab.open:
        with table_tab:
            st.caption("Teams at each status in each round, and the department's score.")
            st.dataframe(table_of_trend, hide_index=True, width="content",
                         column_config={"Department score": st.column_config.NumberColumn(format="%.1f")})
    if trend_tab.open:
        import plotly.graph_objects as go   # only when a chart is asked for: it takes a while to import

        with trend_tab:
            fig = go.Figure()
            for status in [*criteria.rag.levels, NO_RETURN]:
                if status not in trend:
                    continue
                style = criteria.rag.statuses.style(status)
                fig.add_bar(x=trend["round"], y=trend[status], name=ui.plot_text(status), text=trend[status],
                            textposition="inside", marker_color=style.background if style else None,
                            textfont_color=style.text if style else None,
                            hovertemplate=f"{ui.plot_text(status)}: %{{y}} teams in %{{x}}<extra></extra>")
            fig.update_layout(barmode="stack", height=360, margin=dict(t=30, b=10, l=10, r=10),
                              uniformtext={"minsize": 10, "mode": "hide"},
                              xaxis_title="Round", yaxis_title="Teams", legend_title_text="Status",
                              title="Teams by status in each round")
            st.plotly_chart(fig, width="stretch")

    if heat_tab.open:
        import plotly.graph_objects as go

        with heat_tab:
            if table.empty:
                st.info("No rows match the filters.")
            else:
                # The rows the table shows, so the chart stays readable however large the department.
                words = insights.rag_matrix(table.iloc[start:start + PAGE_ROWS], criteria, label="name")
                order = [*criteria.rag.levels, NO_RETURN]
                z = words.apply(lambda col: col.map(order.index)).to_numpy()
                scale = []
                for i, status in enumerate(order):
                    colour = criteria.rag.statuses.colour(status)
                    scale += [[i / len(order), colour], [(i + 1) / len(order), colour]]
                heat = go.Figure(go.Heatmap(
                    z=z, x=["<br>".join(ui.plot_text(line) for line in textwrap.wrap(name, 18)) for name in words.columns],
                    y=[ui.plot_text(name) for name in words.index], text=words.map(ui.plot_text).to_numpy(),
                    texttemplate="%{text}", textfont={"size": 10}, colorscale=scale, zmin=-0.5,
                    zmax=len(order) - 0.5, showscale=False, xgap=1, ygap=1,
                    hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>"))
                heat.update_layout(height=max(320, 22 * len(words) + 200), margin=dict(t=10, b=10, l=10, r=10),
                                   yaxis={"autorange": "reversed"}, xaxis={"side": "top", "tickangle": 0})
                st.plotly_chart(heat, width="stretch")
                st.caption("Each cell names its status; the table above has the same statuses"
                           + (f" ({_rows_text(page_no).lower()})." if pages > 1 else "."))

    # Who has not returned, with whom to ask and the days to or past the deadline.
    followup.missing_returns(actor, round_label)


ui.ensure_navigation()
_page(ui.require_page("league"))
