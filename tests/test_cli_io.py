"""Reading tables for the command line: delimiters, compression, BOM, stdin, Parquet."""

import bz2
import gzip
import io
import zipfile

import pandas as pd
import pytest

from automl.exceptions import DataError
from automl.data.tables import base_stem, read_table, sniff_delimiter, write_table

FRAME = pd.DataFrame(
    {"id": [1, 2, 3, 4], "name": ["Braund, Mr. Owen", "Cumings; Mrs", "Heikkinen|Miss", "Futrelle"],
     "x": [1.5, 2.0, None, 4.25], "y": ["a", "b", "a", "b"]}
)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    path = tmp_path / "data.csv"
    FRAME.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open)])
def test_compressed_by_extension(tmp_path, suffix, opener):
    path = tmp_path / f"data.csv{suffix}"
    with opener(path, "wt", encoding="utf-8") as fh:
        FRAME.to_csv(fh, sep=";", index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_zip_with_one_member(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner.csv", FRAME.to_csv(index=False))
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,caf\xc3\xa9\n1,2\n3,4\n")
    assert list(read_table(path).columns) == ["id", "café"]


def test_stdin_plain_and_gzipped():
    text = FRAME.to_csv(index=False, sep="\t").encode()
    pd.testing.assert_frame_equal(read_table("-", stdin=io.BytesIO(text)), FRAME)
    pd.testing.assert_frame_equal(read_table("-", stdin=io.BytesIO(gzip.compress(text))), FRAME)


@pytest.mark.parametrize(
    "content, needle",
    [(b"", "empty"), (b"a,b\n1,caf\xe9\n", "not UTF-8"), (b"\x1f\x8bnot really gzip", "decompress")],
)
def test_bad_files_are_data_errors(tmp_path, content, needle):
    path = tmp_path / ("bad.csv.gz" if content.startswith(b"\x1f") else "bad.csv")
    path.write_bytes(content)
    with pytest.raises(DataError, match=needle):
        read_table(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="No such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="directory"):
        read_table(tmp_path)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(DataError, match="pip install pyarrow"):
        read_table(path)


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "data.parquet"
    FRAME.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_single_column_and_sniffer_fallback():
    assert sniff_delimiter("a\n1\n2\n") == ","
    assert sniff_delimiter('a;b;"c\n1;2;"3\n') == ";"


def test_base_stem_and_write_table(tmp_path):
    assert base_stem("dir/titanic.csv.gz") == "titanic" and base_stem("x.parquet") == "x" and base_stem("-") == "stdin"
    out = io.StringIO()
    write_table(FRAME[["id"]], None, stdout=out)
    assert out.getvalue() == "id\n1\n2\n3\n4\n"
    write_table(FRAME, tmp_path / "o.csv.gz")
    pd.testing.assert_frame_equal(read_table(tmp_path / "o.csv.gz"), FRAME)
