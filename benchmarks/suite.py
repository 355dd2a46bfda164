"""The benchmark run: build the department, take every figure, return them as one dict."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from . import PG_ROUNDS, PG_TEAMS, measure
from .generate import Department, generate_department, write_return_xlsx
from .load import (Database, drop_postgres, load_department, load_org, postgres_database,
                   sqlite_database)


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else round(a / b, 3)


@dataclass
class Suite:
    args: argparse.Namespace
    backend: str                 # sqlite | postgres | both
    pg_url: str | None
    workdir: Path
    log: Callable[[str], None]
    figures: dict = field(default_factory=dict)
    _fresh: int = 0

    @property
    def repeat(self) -> int:
        return self.args.repeat

    @property
    def profile_dir(self) -> Path | None:
        if not self.args.profile:
            return None
        path = Path(self.args.profile)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def run(self) -> dict:
        a = self.args
        f = self.figures
        dept = generate_department(a.teams, a.rounds, a.seed, teams_per_directorate=a.teams_per_directorate)
        f.update(teams=a.teams, rounds=a.rounds, criteria=len(dept.criteria), seed=a.seed,
                 backend=self.backend, stored_scores=a.teams * a.rounds * len(dept.criteria),
                 return_rows=a.teams * len(dept.criteria), league_round=dept.round_labels[-1],
                 return_round=dept.return_round)

        self.log(f"writing the return workbook: {f['return_rows']:,} rows (openpyxl write-only)")
        start = time.perf_counter()
        xlsx = write_return_xlsx(dept, self.workdir / f"kim-return-{dept.return_round}.xlsx")
        f["generate_xlsx_s"] = _r(time.perf_counter() - start, 2)
        f["return_file_mb"] = _r(xlsx.stat().st_size / 1e6, 2)
        self._allow_large_return(f["return_rows"] + 1, f["return_file_mb"])

        self.xlsx = xlsx
        self.measure_reading(dept, xlsx)
        self.measure_league(dept)
        return f

    # Reading and ingest --------------------------------------------------------------------

    def _allow_large_return(self, rows: int, size_mb: float) -> None:
        """Above the default upload limits (kim_metrics.reading.limits: 200,000 rows a sheet, 20 MB),
        raise them through their environment variables, as a department sending one
        department-wide return would; the figures say which limits were raised."""
        from kim_metrics.reading import limits as upload_limits
        defaults = {limit.key: limit for limit in upload_limits.LIMITS}
        raised = {}
        for key, needed in (("rows_per_sheet", rows), ("upload_mb", int(size_mb) + 1)):
            limit = defaults.get(key)
            if limit is None or os.environ.get(limit.env):
                continue
            if needed > limit.default:
                os.environ[limit.env] = str(needed)
                raised[limit.env] = needed
        if raised:
            self.figures["limits_raised"] = raised
            self.log(f"the return is above the default upload limits; raised {raised}")

    def _fresh_sqlite(self, dept: Department, name: str) -> Database:
        """An empty migrated SQLite database holding the organisation (loaded untimed)."""
        self._fresh += 1
        path = self.workdir / f"{name}-{self._fresh}.db"
        db = sqlite_database(path)
        load_org(db, dept)
        return db

    def _fresh_postgres(self, dept: Department) -> Database:
        db = postgres_database(self.pg_url, prefix="kim_bench_ingest")
        load_org(db, dept)
        return db

    def measure_reading(self, dept: Department, xlsx: Path) -> None:
        f = self.figures
        label = dept.return_round
        self.log("raw parse: python-calamine, every cell")
        t, rows = measure.timed(lambda: measure.raw_parse(xlsx), repeat=self.repeat, warmup=1)
        f["raw_parse_s"] = _r(t.seconds)
        f["cpu"] = {"raw_parse_s": _r(t.cpu_seconds)}
        f["raw_parse_runs"] = [_r(x) for x in t.runs]
        assert rows == f["return_rows"] + 1, rows

        if self.args.skip_naive:
            f["naive_ingest_s"] = None
        else:
            self.log("naive ingest: pandas.read_excel(openpyxl) + one ORM add per row (slow)")
            db = self._fresh_sqlite(dept, "naive")
            t, _ = measure.timed(lambda: measure.naive_ingest(xlsx, db.engine, label, dept.criteria))
            db.dispose()
            f["naive_ingest_s"] = _r(t.seconds)
            f["cpu"]["naive_ingest_s"] = _r(t.cpu_seconds)

        ingest_on_pg = self.backend == "postgres"
        self.log(f"kim ingest ×{self.repeat}, each into a fresh "
                 f"{'PostgreSQL schema' if ingest_on_pg else 'SQLite database'} with the organisation loaded")
        f["ingest_backend"] = "postgres" if ingest_on_pg else "sqlite"
        f["ingest_timed"] = ("kim_metrics.cli.main(['ingest', FILE, '--round', R, '--db', URL]) "
                             "in-process; fresh database with the organisation loaded untimed; "
                             f"median of {self.repeat}")
        t = self._time_ingest(dept, xlsx, postgres=ingest_on_pg)
        f["ingest_s"] = _r(t.seconds)
        f["cpu"]["ingest_s"] = _r(t.cpu_seconds)
        f["ingest_runs"] = [_r(x) for x in t.runs]
        if self.backend == "both":
            self.log(f"kim ingest into PostgreSQL ×{self.repeat}")
            f["pg_ingest_s"] = _r(self._time_ingest(dept, xlsx, postgres=True).seconds)
        elif ingest_on_pg:
            f["pg_ingest_s"] = f["ingest_s"]

        self.log("ingest stage by stage (api.check_return, api.save_preview), one more fresh database")
        db = self._fresh_postgres(dept) if ingest_on_pg else self._fresh_sqlite(dept, "stages")
        try:
            f.update({k: _r(v) for k, v in measure.ingest_stages(xlsx, db.engine, label).items()})
        finally:
            drop_postgres(db) if ingest_on_pg else db.dispose()
        if self.profile_dir:
            self._profile_ingest(dept, xlsx, ingest_on_pg)
        f["ingest_vs_raw"] = _ratio(f["ingest_s"], f["raw_parse_s"])
        f["naive_vs_ingest"] = _ratio(f["naive_ingest_s"], f["ingest_s"])

    def _time_ingest(self, dept: Department, xlsx: Path, *, postgres: bool) -> measure.Timing:
        label = dept.return_round
        made: list[Database] = []

        def setup() -> Database:
            db = self._fresh_postgres(dept) if postgres else self._fresh_sqlite(dept, "ingest")
            db.engine.dispose()   # the command opens its own engine
            made.append(db)
            return db

        try:
            t, _ = measure.timed(lambda db: measure.ingest_cli(xlsx, db.url, label),
                                 repeat=self.repeat, setup=setup)
        finally:
            for db in made:
                drop_postgres(db) if postgres else db.dispose()
        return t

    def _profile_ingest(self, dept: Department, xlsx: Path, postgres: bool) -> None:
        db = self._fresh_postgres(dept) if postgres else self._fresh_sqlite(dept, "profile")
        try:
            out = self.profile_dir / "ingest.txt"
            measure.cprofiled(lambda: measure.ingest_cli(xlsx, db.url, dept.return_round), out,
                              title=f"kim ingest, {self.figures['return_rows']:,} rows")
            self.log(f"profile written: {out}")
        finally:
            drop_postgres(db) if postgres else db.dispose()

    # League and page --------------------------------------------------------------------

    def measure_league(self, dept: Department) -> None:
        f = self.figures
        with ExitStack() as stack:
            if self.backend in ("sqlite", "both"):
                db = self._build(dept, "sqlite")
                stack.callback(db.dispose)
                self._league_figures(dept, db, prefix="")
                self._page(db, dept)
            if self.backend in ("postgres", "both"):
                pg_dept = dept
                if self.backend == "both":
                    # The PostgreSQL league is judged on its own, larger department.
                    teams = self.args.pg_teams or PG_TEAMS
                    rounds = self.args.pg_rounds or PG_ROUNDS
                    if (teams, rounds) != (dept.n_teams, dept.n_rounds):
                        pg_dept = generate_department(teams, rounds, self.args.seed,
                                                      teams_per_directorate=self.args.teams_per_directorate)
                f.update(pg_teams=pg_dept.n_teams, pg_rounds=pg_dept.n_rounds,
                         pg_stored_scores=pg_dept.n_teams * pg_dept.n_rounds * len(pg_dept.criteria))
                db = self._build(pg_dept, "postgres")
                stack.callback(drop_postgres, db)
                self._league_figures(pg_dept, db, prefix="pg_")
                if self.backend == "postgres":
                    for key in ("league_fetch_s", "league_s", "league_vs_fetch"):
                        f[key] = f[f"pg_{key}"]
                    self._page(db, dept)
            self.log("cleaning up")

    def _build(self, dept: Department, backend: str) -> Database:
        self.log(f"building the department in {backend}: {dept.n_teams:,} teams, "
                 f"{dept.n_teams * dept.n_rounds * len(dept.criteria):,} scores by bulk insert")
        start = time.perf_counter()
        if backend == "sqlite":
            db = sqlite_database(self.workdir / "department.db")
        else:
            db = postgres_database(self.pg_url)
        try:
            load_department(db, dept, progress=lambda m: self.log(f"  {m}"))
        except BaseException:
            drop_postgres(db) if backend == "postgres" else db.dispose()
            raise
        self.figures[f"{'pg_' if backend == 'postgres' else ''}build_s"] = _r(time.perf_counter() - start, 1)
        return db

    def _league_figures(self, dept: Department, db: Database, prefix: str) -> None:
        f = self.figures
        label = dept.round_labels[-1]
        # The loader numbers rounds 1..R in order.
        ids = [dept.n_rounds, dept.n_rounds - 1] if dept.n_rounds > 1 else [1]
        self.log(f"{prefix}league for {label}: plain fetch, then api.league (median of {self.repeat})")
        t, frames = measure.timed(lambda: measure.league_fetch(db.engine, ids),
                                  repeat=self.repeat, warmup=1)
        assert len(frames[0]) == dept.n_teams * len(dept.criteria), len(frames[0])
        f[f"{prefix}league_fetch_s"] = _r(t.seconds)
        f["cpu"][f"{prefix}league_fetch_s"] = _r(t.cpu_seconds)
        f["league_fetch_timed"] = ("pd.read_sql(select(<the 13 columns store.round_scores reads>)"
                                   ".where(round, current)) for the round and the previous one")
        t, table = measure.timed(lambda: measure.league(db.engine, label), repeat=self.repeat, warmup=1)
        assert len(table) == dept.n_teams, len(table)
        f[f"{prefix}league_s"] = _r(t.seconds)
        f["cpu"][f"{prefix}league_s"] = _r(t.cpu_seconds)
        f[f"{prefix}league_runs"] = [_r(x) for x in t.runs]
        f[f"{prefix}league_vs_fetch"] = _ratio(f[f"{prefix}league_s"], f[f"{prefix}league_fetch_s"])
        if self.profile_dir:
            out = self.profile_dir / f"{prefix}league.txt"
            measure.cprofiled(lambda: measure.league(db.engine, label), out,
                              title=f"{prefix}league for {label}, {dept.n_teams:,} teams")
            self.log(f"profile written: {out}")

    def _page(self, db: Database, dept: Department) -> None:
        f = self.figures
        page = Path(self.args.page).resolve() if self.args.page else measure.DASHBOARD
        f["page_backend"] = db.backend
        nothing = dict(page_s=None, page_first_run_s=None, page_peak_rss_mb=None, peak_rss_mb=None,
                       page_ok=False)
        if self.args.skip_page:
            f.update(nothing, page_status="skipped (--skip-page)")
            f["browser_status"] = "skipped (--skip-page)"
            return
        missing = [p for p in (page, measure.LEAGUE_PAGE_FILE) if not p.exists()]
        if missing:
            f.update(nothing, page_status=f"missing: {missing[0]} does not exist yet")
            self.log(f"page: {missing[0]} does not exist yet; left out")
            return
        self._apptest(db, page)
        self._browser(db, dept)

    def _apptest(self, db: Database, page: Path) -> None:
        f = self.figures
        self.log(f"page: {page.name} (league table, as the Board) through AppTest in a fresh child "
                 "process after kim serve's preload: cold run, then warm run; then once more in a "
                 "fresh interpreter with nothing loaded")
        try:
            report = measure.page_in_child(db.url, page, timeout=self.args.page_timeout, preload=True)
            fresh = measure.page_in_child(db.url, page, timeout=self.args.page_timeout)
        except Exception as exc:  # noqa: BLE001 - a broken page must not lose the other figures
            f.update(page_s=None, page_first_run_s=None, page_peak_rss_mb=None, peak_rss_mb=None,
                     page_ok=False, page_status=f"failed: {str(exc)[-600:]}")
            self.log(f"page failed: {exc}")
            return
        if self.profile_dir:
            out = self.profile_dir / f"{'pg_' if db.backend == 'postgres' else ''}page.txt"
            self.log("page again under cProfile (cold and warm runs), untimed")
            try:
                measure.page_in_child(db.url, page, profile=out, timeout=self.args.page_timeout,
                                      preload=True)
                self.log(f"profiles written: {out.with_name(out.stem + '-cold.txt')} and "
                         f"{out.with_name(out.stem + '-warm.txt')}")
            except Exception as exc:  # noqa: BLE001
                self.log(f"page profile failed: {exc}")
        f["page_first_run_s"] = _r(report["first_run_s"])
        f["page_preload_s"] = _r(report["preload_s"])
        f["page_first_run_fresh_s"] = _r(fresh["first_run_s"])
        f["page_first_run_timed"] = ("the first AppTest run after serve.preload(), which `kim serve` "
                                     "runs before it accepts visitors; page_first_run_fresh_s is a "
                                     "fresh interpreter with nothing loaded")
        f["page_s"] = _r(report["page_s"])
        f["page_peak_rss_mb"] = _r(report["peak_rss_mb"], 1)
        # Until a browser run measures the server, the AppTest process is the page process.
        f["peak_rss_mb"] = f["page_peak_rss_mb"]
        f["peak_rss_source"] = "AppTest child (VmHWM)"
        on_league = any(measure.LEAGUE_TITLE in t.lower() for t in report.get("titles", []))
        f["page_ok"] = not report["exceptions"] and on_league
        if report["exceptions"]:
            f["page_status"] = "the page raised: " + (report.get("error_detail")
                                                      or " | ".join(report["exceptions"])[:600])
        elif not on_league:
            f["page_status"] = f"not the league table: titles shown {report.get('titles')}"
        else:
            f["page_status"] = "ok"

    def _browser(self, db: Database, dept: Department) -> None:
        from . import browser
        f = self.figures
        why_not = "skipped (--skip-browser)" if self.args.skip_browser else browser.chromium_missing()
        if why_not:
            f["browser_status"] = why_not
            self.log(f"browser figures left out: {why_not}")
            return
        saved_round = dept.return_round

        def save_elsewhere() -> None:
            # The command line's own code, in this process: another replica as far as the
            # dashboard server can tell. The save moves the data version.
            measure.ingest_cli(self.xlsx, db.url, saved_round)

        try:
            got = browser.browser_figures(
                db.url, repeat=self.args.visits, save=save_elsewhere, log_dir=self.workdir,
                timeout_s=self.args.page_timeout, league_round=dept.round_labels[-1],
                saved_round=saved_round, log=self.log)
        except Exception as exc:  # noqa: BLE001 - keep the other figures
            f["browser_status"] = f"failed: {str(exc)[-800:]}"
            self.log(f"browser figures failed: {exc}")
            return
        for key, value in got.items():
            f[key] = [_r(v) for v in value] if isinstance(value, list) else _r(value, 4 if key.endswith("_s") else 1)
        f["peak_rss_source"] = "dashboard server under kim serve (VmHWM)"
        f["browser_cold_vs_floor"] = _ratio(got["browser_cold_s"], got["browser_floor_cold_s"])
        f["browser_warm_vs_floor"] = _ratio(got["browser_warm_s"], got["browser_floor_warm_s"])
        f["browser_stale_vs_floor"] = _ratio(got["browser_stale_s"], got["browser_floor_warm_s"])
        f["browser_timed"] = ("navigation until the first st.dataframe grid is on screen, a new "
                              "browser context each visit, Chromium headless; stale is divided "
                              "by the floor's later visit")
        f["browser_status"] = "ok"
