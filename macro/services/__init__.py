"""Market snapshots: build them from stored candles (`snapshots`), and merge in external macro
metrics (`metrics_import`: a file, or `metrics_merge` of records); `fields` says which fields are
whose. Import from the module.

build_snapshots owns DERIVED_FIELDS (see macro.derivations for their definitions) and rewrites
them on every run; every other metric is external (fear & greed, funding, S&P 500, ...) and only
import_metrics writes it, so a rebuild never blanks it. A derived field that an import set
explicitly (listed in data_quality_flags["imported_fields"]) is the import's and is kept too.
"""
