"""My directorate: its teams as traffic lights, its rank and trend, and what each team must do."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kim_metrics.services import views as insights
from kim_metrics.domain.access import visible_org
from kim_metrics.reports.files import letter_file_name
from kim_metrics.services.documents import directorate_letter
from pages import _actions as tracked
from pages import _shared as ui

CHOICE_KEY = "directorate_choice"
TABLE_KEY = "directorate_teams"
TOP_ACTIONS = 12


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions until the session ends, and at a script's top level they would keep
    # every name the page set (about 10 MB a visit on a large department).
    st.title("My directorate")
    url = ui.db_url()
    labels = ui.round_labels(url)
    org = visible_org(actor, ui.organisation(url))
    if labels and org.empty and not ui.organisation(url).empty:
        st.info("No directorate or team is linked to your email in the organisation structure. "
                "Ask the KIM team to add you as a director or information manager.")
        st.stop()
    if not labels or org.empty:
        ui.no_rounds_notice()
        st.stop()

    directorates = sorted(org["directorate"].unique())
    # Arriving by a link (or the league table) chooses the directorate; the person may then pick
    # another, and the address follows them.
    ui.from_address("directorate", CHOICE_KEY, directorates)
    if st.session_state.get(CHOICE_KEY) not in directorates:
        mine = org.loc[org["director"].fillna("").str.lower() == actor.email, "directorate"]
        st.session_state[CHOICE_KEY] = mine.iloc[0] if len(mine) else directorates[0]

    top = st.columns([3, 1])
    directorate = top[0].selectbox("Directorate", directorates, key=CHOICE_KEY)
    round_label = ui.round_picker(labels, key="directorate_round", container=top[1], linked=True)
    ui.to_address("directorate", CHOICE_KEY, directorate)

    scored = ui.scored_round(url, round_label, actor, (directorate,))
    criteria = scored.criteria
    teams = scored.teams[scored.teams["directorate"] == directorate].sort_values("team")
    standing = insights.directorate_standing(ui.directorate_tables(url), directorate)
    now = standing[standing["round"] == round_label]
    director = org.loc[org["directorate"] == directorate, "director"].dropna()
    group = teams["group"].iloc[0] if len(teams) else ""
    st.markdown(" · ".join(filter(None, [ui.md_escape(group),
                                         f"Director: {ui.md_escape(director.iloc[0])}" if len(director) else ""])))

    # Headline ----------------------------------------------------------------------------------
    cols = [*st.columns(2), *st.columns(2)]   # two by two: the status and rank read in full
    if now.empty:
        cols[0].metric("Score", "no return")
    else:
        r = now.iloc[0]
        at = standing.index.get_loc(now.index[0])
        prev = standing.iloc[at - 1] if at > 0 else None
        change = (None if prev is None or pd.isna(r["score"]) or pd.isna(prev["score"])
                  else round(r["score"] - prev["score"], 1))
        cols[0].metric("Score", ui.score_text(r["score"]),
                       delta=None if change is None else f"{change:+.1f} since {prev['round']}",
                       help="The mean score (0-100) of the directorate's teams that made a return.")
        cols[1].metric("Status", ui.status_word(r["rag"], criteria.rag.statuses))
        rank = "unranked" if pd.isna(r["rank"]) else f"{int(r['rank'])} of {r['ranked']}"
        moved = r["movement"]
        places = None
        if not pd.isna(moved):
            places = "no change" if moved == 0 else f"{int(moved):+d} place{'s' if abs(moved) != 1 else ''}"
        cols[2].metric("Rank among directorates", rank,
                       delta=None if places is None else f"{places} since {prev['round']}" if prev is not None else places,
                       delta_color="off" if pd.isna(moved) or moved == 0 else "normal",
                       help="1 is the best score; equal scores share a rank. A rise is shown as +.")
        cols[3].metric("Teams that returned", f"{r['returned_teams']} of {r['teams']}")

    # Teams × criteria ------------------------------------------------------------------------------
    letter = st.columns(3)
    for col, fmt, label, mime in ((letter[0], "docx", "Letter (Word)",
                                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                                  (letter[1], "pdf", "Letter (PDF)", "application/pdf")):
        col.download_button(label, data=lambda fmt=fmt: directorate_letter(ui.engine(), round_label, directorate, fmt,
                                                                           actor=actor),
                            file_name=letter_file_name(directorate, round_label, fmt), mime=mime, on_click="ignore",
                            icon=":material/mail:", key=f"letter_{fmt}",
                            help="The KIM team's letter to the director for this round, ready to forward.")

    st.header(f"Teams × criteria, {round_label}")
    matrix = insights.rag_matrix(teams, criteria).reset_index()
    matrix.insert(1, "Score", teams["score"].to_numpy())
    matrix.insert(2, "RAG", teams["rag"].to_numpy())
    matrix = matrix.rename(columns={"team": "Team"})
    team_ids = teams["team_id"].tolist()
    config = {"Score": st.column_config.NumberColumn("Score", format="%.1f", width="small")}
    for c in criteria:
        config[c.name] = st.column_config.TextColumn(c.short or c.name, help=ui.criterion_help(c), width="small")
    if ui.has_page("team"):
        matrix["Details"] = [f"team?team={t}&round={round_label}" for t in team_ids]
        config["Details"] = st.column_config.LinkColumn("Details", display_text="Open", width="small")
    st.caption("Every status is written in its cell as well as coloured. Choose a row to open the "
               "team's scores and evidence.")
    event = st.dataframe(ui.styled(matrix, ["RAG", *(c.name for c in criteria)], decimals={"Score": 1},
                                   statuses=criteria.rag.statuses),
                         hide_index=True, width="stretch", column_config=config, key=TABLE_KEY,
                         on_select="rerun" if ui.has_page("team") else "ignore",
                         selection_mode="single-row")
    rows = event.selection.rows if ui.has_page("team") else []
    if rows and rows[0] < len(team_ids):
        st.switch_page(ui.page_path("team"), query_params={"team": str(team_ids[rows[0]])})
    missing = teams.loc[~teams["returned"].astype(bool), "team"].tolist()
    if missing:
        st.warning(f"**No return for {round_label}** from {len(missing)} "
                   f"team{'s' if len(missing) != 1 else ''}: "
                   + ", ".join(ui.md_escape(t) for t in missing)
                   + ". Their first action is to make a return.", icon=":material/warning:")

    # What to do next ---------------------------------------------------------------------------
    st.header("What each team must do next")
    actions = insights.improvement_actions(scored.teams, scored.scores, criteria, directorate)
    if actions.empty:
        st.success("Every team that returned is at the top status on every criterion.",
                   icon=":material/check_circle:")
    else:
        st.caption("One action per team and criterion that is not yet "
                   f"{criteria.rag.levels[-1]}, most valuable first: the last column is how many "
                   "points (out of 100) the directorate's score would rise if the team took that step.")
        team_filter = st.selectbox("Team", ["All teams", *sorted(actions["team"].unique())],
                                   key="directorate_action_team")
        shown = actions if team_filter == "All teams" else actions[actions["team"] == team_filter]
        if len(shown) > TOP_ACTIONS and not st.toggle(f"Show all {len(shown)} actions",
                                                       key="directorate_all_actions"):
            st.caption(f"The {TOP_ACTIONS} most valuable of {len(shown)} actions.")
            shown = shown.head(TOP_ACTIONS)
        view = shown.rename(columns={"team": "Team", "criterion_name": "Criterion", "now": "Now",
                                     "rag": "Status now", "target": "Next level",
                                     "target_rag": "Status then", "action": "What to do",
                                     "gain": "Directorate score rises by"})[
            ["Team", "Criterion", "Now", "Status now", "Next level", "Status then", "What to do",
             "Directorate score rises by"]]
        # st.table renders its cells as Markdown: make the text inert.
        for col in ("Team", "Criterion", "Now", "Next level", "What to do"):
            view[col] = view[col].map(ui.md_escape)
        st.table(ui.styled(view.reset_index(drop=True), ["Status now", "Status then"],
                           decimals={"Directorate score rises by": 2},
                           statuses=criteria.rag.statuses).hide(axis="index"))
        tracked.adopt_form(actor, round_label, directorate, actions)
    tracked.committed_actions(actor, directorate=directorate)

    # Trend -------------------------------------------------------------------------------------
    st.header("Trend over rounds")
    if len(standing) > 0:
        fig = go.Figure()
        fig.add_scatter(x=standing["round"], y=standing["score"], mode="lines+markers+text",
                        text=[ui.score_text(s) for s in standing["score"]], textposition="top center",
                        name="Score", hovertemplate="%{x}: score %{y:.1f}<extra></extra>")
        # Headroom above 100 so a top score's label, written above its point, is not cut off.
        fig.update_layout(height=300, yaxis={"range": [0, 112], "title": "Score (0-100)",
                                             "tickvals": [0, 20, 40, 60, 80, 100]},
                          xaxis_title="Round", margin=dict(t=20, b=10, l=10, r=10), showlegend=False)
        st.plotly_chart(fig, width="stretch")
        trend_view = standing.drop(columns=["movement"]).rename(columns={"round": "Round", "rank": "Rank", "ranked": "Of",
                                              "score": "Score", "rag": "RAG", "movement_label": "Movement",
                                              "returned_teams": "Teams returned", "teams": "Teams"})
        st.dataframe(ui.styled(trend_view, ["RAG"], decimals={"Score": 1}, statuses=criteria.rag.statuses),
                     hide_index=True)


ui.ensure_navigation()
_page(ui.require_page("directorate"))
