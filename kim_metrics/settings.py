"""Every setting KIM League reads from the environment, in one place.

Each ``KIM_*`` variable is a field below with its default and what it is for; the README's
configuration table is made from these fields (``python -m kim_metrics.settings table``), and
a test keeps the two the same. Settings are read afresh on each call of ``load_settings`` so a
changed variable needs no restart; an empty variable counts as unset.

This module imports nothing of the package but its errors, so every layer may use it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kim_metrics.domain.errors import KimError

ENV_PREFIX = "KIM_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Fields that are upload limits, in the order ``reading.limits`` lists them; each must be a
# number above 0, and those in ``WHOLE_NUMBER_LIMITS`` are counts.
UPLOAD_LIMITS = ("max_upload_mb", "max_rows_per_sheet", "max_cells_per_sheet", "max_sheets",
                 "max_workbook_cells", "max_zip_entries", "max_uncompressed_mb",
                 "max_compression_ratio", "max_shared_text_mb", "max_cell_chars")
WHOLE_NUMBER_LIMITS = {"max_rows_per_sheet", "max_cells_per_sheet", "max_sheets",
                       "max_workbook_cells", "max_zip_entries", "max_cell_chars"}


class SettingError(KimError, ValueError):
    """A variable holds a value that cannot be used; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore",
                                      frozen=True)

    # Where the data lives.
    database_url: str | None = Field(
        None, description="URL of the database, SQLite or PostgreSQL (or `--db URL`); "
                          "`postgresql://...` for several dashboard replicas",
        json_schema_extra={"shown_default": "`sqlite:///data/kim.db`"})

    # Upload limits. Reading takes about 70 bytes a cell for an .xls or .ods (calamine keeps
    # each sheet and hands out a copy) and 40 for an .xlsx: at these defaults, under half a GB.
    max_upload_mb: float = Field(20, description="largest file that may be uploaded, in MB, here "
                                                 "and in the dashboard's uploader")
    max_rows_per_sheet: int = Field(200_000, description="most rows one sheet may have")
    max_cells_per_sheet: int = Field(10_000_000, description="most cells one sheet may span "
                                                            "(rows × columns, blanks included)")
    max_sheets: int = Field(200, description="most sheets a workbook may have")
    max_workbook_cells: int = Field(5_000_000, description="most cells all the sheets of a workbook "
                                                          "may span together (blanks included)")
    max_zip_entries: int = Field(1_000, description="most parts a zip-based workbook may hold")
    max_uncompressed_mb: float = Field(250, description="largest size a workbook may unzip to, in MB")
    max_compression_ratio: float = Field(100, description="most times smaller a part of a workbook "
                                                          "may be compressed")
    max_shared_text_mb: float = Field(200, description="most text, in MB, a workbook's cells may "
                                                       "copy from its shared strings")
    max_cell_chars: int = Field(32_767, description="longest text one cell may hold (32,767 is "
                                                    "Excel's own limit)")

    # The dashboard.
    role: str | None = Field(None, description="in local mode (no sign-in), the role whose pages to "
                                               "preview: `admin`, `executive`, `director`, "
                                               "`information_manager` or `viewer`",
                             json_schema_extra={"shown_default": "`admin`"})
    cache_entries: int = Field(64, gt=0, description="how many results each of the dashboard's "
                                                    "caches keeps")
    cache_ttl_s: float | None = Field(None, gt=0, description="seconds a cached result may live; "
                                                              "unset, it lives until the data changes",
                                      json_schema_extra={"shown_default": "until the data changes"})

    # Documents.
    pdf_font_dir: Path | None = Field(
        None, description="folder holding `DejaVuSans.ttf` and `DejaVuSans-Bold.ttf` for PDFs",
        json_schema_extra={"shown_default": "the system's DejaVu fonts, else Helvetica"})

    # Mail.
    smtp_url: SecretStr | None = Field(
        None, description="the department's mail server, `smtp://user:password@host:587` "
                          "(or `smtps://`)")
    mail_from: str | None = Field(None, description="the address messages come from "
                                                    "(with `KIM_SMTP_URL`)")
    notify_api_key: SecretStr | None = Field(None, description="a GOV.UK Notify API key, to send "
                                                               "through Notify instead of SMTP")
    notify_template_reminder: str | None = Field(None, description="Notify template id for reminders")
    notify_template_letter: str | None = Field(None, description="Notify template id for letters")
    notify_template_boardpack: str | None = Field(None, description="Notify template id for the "
                                                                    "board pack")
    notify_template_action_overdue: str | None = Field(None, description="Notify template id for "
                                                                         "overdue IMA actions")

    @field_validator(*UPLOAD_LIMITS, mode="before")
    @classmethod
    def _positive_number(cls, raw: Any, info) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            value = float(raw.strip().replace(",", "").replace("_", ""))
        except ValueError:
            value = math.nan
        if not (value > 0 and math.isfinite(value)):
            field = Settings.model_fields[info.field_name]
            raise SettingError(f"The setting {env_name(info.field_name)}={raw!r} is not a positive "
                               f"number. Set it to the {field.description} (default "
                               f"{_number(field.default)}), or unset it.")
        return int(value) if info.field_name in WHOLE_NUMBER_LIMITS else value



def default_database_path() -> Path:
    """``data/kim.db`` in the source checkout (``make run``); installed from a wheel, where the
    package sits among the interpreter's libraries, ``data/kim.db`` under the working folder."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data" / "kim.db"
    return Path.cwd() / "data" / "kim.db"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``environ`` (the process environment by default).

    A value that cannot be used raises ``SettingError`` (a ``KimError``) whose message names
    the variable and what to set.
    """
    try:
        if environ is None:
            return Settings()
        values = {name: value for name in Settings.model_fields
                  if (value := (environ.get(env_name(name)) or "").strip())}
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, SettingError):
            raise SettingError(str(cause)) from None
        name = env_name(str(first["loc"][0])) if first.get("loc") else "A KIM_ setting"
        raise SettingError(f"The setting {name} is not valid: {first['msg']}. Correct it or "
                           "unset it.") from None


def _shown_default(name: str) -> str:
    field = Settings.model_fields[name]
    extra = field.json_schema_extra or {}
    if "shown_default" in extra:
        return str(extra["shown_default"])
    if field.default is None:
        return "unset"
    return _number(field.default) if isinstance(field.default, (int, float)) else str(field.default)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def settings_table() -> str:
    """The README's configuration table: one row per variable, from the fields above."""
    rows = ["| variable | default | what it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{env_name(name)}` | {_shown_default(name)} | {field.description} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    """``table``: print the README's table; ``upload-mb``: the upload cap, for the uploader."""
    if argv == ["table"]:
        sys.stdout.write(settings_table())
    elif argv == ["upload-mb"]:
        # Streamlit's maxUploadSize is a whole number of MB; round up so the reader's own
        # message, which names the limit, is the one people see.
        print(math.ceil(load_settings().max_upload_mb))
    else:
        print("usage: python -m kim_metrics.settings table | upload-mb", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
