"""The candle columns are named once (assets.candle_columns): the tables, the import's keys and
every module's lists agree with it."""

import re
from pathlib import Path

from assets.candle_columns import CANDLE_COLUMNS, CANDLE_KEYS
from assets.importers import ALIASES
from assets.models import INDICATOR_FIELDS, PriceData, PriceDataArchive

ROOT = Path(__file__).resolve().parents[2]
# The columns of a candle table that are not a source's values: identity, derived and bookkeeping.
OTHER_COLUMNS = {"id", "asset_id", "timeframe", *INDICATOR_FIELDS, "is_validated", "is_price_point"}
BOOKKEEPING = {"created_at", "updated_at", "archived_at"}
# Two candle columns in a row, spelled as a list: a copy of the map.
A_COPY = re.compile(r'"(open|open_price)",\s*"(high|high_price)",\s*"(low|low_price)"')


def test_the_map_holds_every_value_column_of_the_candle_tables():
    for model in (PriceData, PriceDataArchive):
        columns = {field.column for field in model._meta.concrete_fields}
        assert columns - OTHER_COLUMNS - BOOKKEEPING == set(CANDLE_COLUMNS.values()), model


def test_the_import_reads_the_keys_of_the_map():
    assert set(ALIASES) == set(CANDLE_KEYS)


def test_no_module_keeps_a_list_of_its_own():
    copies = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == ".venv" or "tests" in relative.parts or "migrations" in relative.parts:
            continue
        if relative == Path("assets/candle_columns.py"):
            continue
        copies += [f"{relative}: {match[0]}" for match in A_COPY.finditer(path.read_text(encoding="utf-8"))]
    assert copies == []
