"""data.binance.vision, Binance's public data archive: zipped CSVs, each with a `.CHECKSUM` file.

Files keep the archive's own layout under the cache folder (BINANCE_DATA_CACHE_DIR), e.g.
`data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip`. A file is used only when its
SHA-256 matches its CHECKSUM ("<sha256>  <name>") and the zip reads whole; a cached file that
matches its cached checksum is used without asking the archive again.
"""

import hashlib
import io
import zipfile
from pathlib import Path

from django.conf import settings

from .http import HttpClient, SourceError


class ArchiveFileRefused(SourceError):
    """A downloaded file is not the archive's: its checksum differs, or the zip is damaged."""


def kline_path(symbol: str, timeframe: str, period: str) -> str:
    """Return the archive path of a spot kline file of a month ("2024-01") or a day ("2024-01-05")."""
    kind = "monthly" if len(period) == 7 else "daily"
    return f"data/spot/{kind}/klines/{symbol}/{timeframe}/{symbol}-{timeframe}-{period}.zip"


def funding_path(symbol: str, month: str) -> str:
    """Return the archive path of a USD-M futures monthly funding rate file."""
    return f"data/futures/um/monthly/fundingRate/{symbol}/{symbol}-fundingRate-{month}.zip"


def metrics_path(symbol: str, day: str) -> str:
    """Return the archive path of a USD-M futures daily metrics file (open interest every 5 minutes)."""
    return f"data/futures/um/daily/metrics/{symbol}/{symbol}-metrics-{day}.zip"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _expected(text: str, name: str, source: str) -> str:
    parts = text.split()
    if len(parts) != 2 or len(parts[0]) != 64 or parts[1] != name:
        raise SourceError(source, f"{name}.CHECKSUM is not '<sha256>  {name}'")
    return parts[0].lower()


def _check_zip(data: bytes, name: str, source: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveFileRefused(source, f"{name}: damaged zip ({exc}); file refused") from None
    if damaged is not None:
        raise ArchiveFileRefused(source, f"{name}: damaged zip member {damaged}; file refused")


class BinanceArchive(HttpClient):
    source = "binance archive"

    def __init__(self, cache_dir: Path | None = None):
        super().__init__(settings.BINANCE_DATA_URL)
        self.cache_dir = Path(cache_dir or settings.BINANCE_DATA_CACHE_DIR)

    def fetch(self, path: str) -> Path:
        """Return the local, verified copy of the archive file `path` (downloaded unless cached).

        Raises SourceNotFound when the archive has no such file (a month not published yet) and
        ArchiveFileRefused when the download does not match its checksum or is no whole zip;
        nothing of a refused file is kept.
        """
        name = path.rsplit("/", 1)[-1]
        local = self.cache_dir / path
        checksum_file = local.with_name(f"{name}.CHECKSUM")
        if local.is_file() and checksum_file.is_file():
            expected = _expected(checksum_file.read_text(), name, self.source)
            if _sha256(local.read_bytes()) == expected:
                return local
        checksum_text = self.get(f"{path}.CHECKSUM").text
        expected = _expected(checksum_text, name, self.source)
        data = self.get(path).content
        actual = _sha256(data)
        if actual != expected:
            raise ArchiveFileRefused(
                self.source,
                f"{name}: checksum mismatch (sha256 {actual[:16]}..., CHECKSUM says {expected[:16]}...); "
                "file refused",
            )
        _check_zip(data, name, self.source)
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(f"{name}.part")
        partial.write_bytes(data)
        partial.replace(local)  # atomic: a kill never leaves half a file under the real name
        checksum_file.write_text(checksum_text)
        return local
