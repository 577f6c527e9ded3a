"""Details of the oracle's files (``npytrpo/oracle/files.py``) as its docstrings and
docs/oracle.md ("File format", "JSON twin") state them (issue 17, mutation testing of
``npytrpo/oracle``): how a file is told npz or JSON by its content, every refusal with the
message naming the file and the array, the JSON twin's exact layout and tokens, the ``spec``
member, and ``require_spec``.
"""

import json
import zipfile

import numpy as np
import pytest

from npytrpo.io.files import write_npz
from npytrpo.oracle import OracleData, OracleError, from_json, load, save, to_json

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64"]  # fmt: skip


def refused(path, **kw):
    with pytest.raises(OracleError) as e:
        load(path, **kw)
    return str(e.value)


# ============================================================== telling npz from JSON
def test_files_are_told_apart_by_their_first_bytes(tmp_path):
    """A zip signature is an npz archive, a ``{`` after blanks (or nothing) is JSON, the .npy
    magic is a single array, anything else neither; whatever the file's name."""
    data = OracleData({"format": "x"}, {"a": np.arange(3.0)})
    save(tmp_path / "a.npz", data)
    (tmp_path / "npz.json").write_bytes((tmp_path / "a.npz").read_bytes())
    assert load(tmp_path / "npz.json").spec == {"format": "x"}
    (tmp_path / "j.npz").write_text("  \n\t" + to_json(data))
    np.testing.assert_array_equal(load(tmp_path / "j.npz").arrays["a"], np.arange(3.0))
    (tmp_path / "six.json").write_text("      " + to_json(data))  # six blanks: the bytes read
    assert load(tmp_path / "six.json").spec == {"format": "x"}
    (tmp_path / "empty.json").write_text("")
    assert refused(tmp_path / "empty.json").startswith(f"{tmp_path / 'empty.json'}: not valid JSON")
    np.save(tmp_path / "one.npy", np.zeros(2))
    assert refused(tmp_path / "one.npy") == (
        f"{tmp_path / 'one.npy'}: a single .npy array, not an oracle .npz archive"
    )
    (tmp_path / "x.bin").write_bytes(b"[1, 2]")
    assert refused(tmp_path / "x.bin") == f"{tmp_path / 'x.bin'}: neither an .npz archive nor a " \
        "JSON file"  # fmt: skip


def test_a_missing_or_unreadable_path_is_named(tmp_path):
    assert refused(tmp_path / "nope.npz") == f"{tmp_path / 'nope.npz'}: no such file"
    assert refused(tmp_path) == f"{tmp_path}: cannot read (Is a directory)"


def test_json_must_be_utf8_text(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"spec": {"name": "caf\xe9"}, "arrays": {}}')
    assert refused(path).startswith(f"{path}: not UTF-8 text ('utf-8' codec can't decode")
    path.write_bytes('{"spec": {"name": "café"}, "arrays": {}}'.encode())
    assert load(path).spec == {"name": "café"}


# ============================================================== the npz archive
def test_the_spec_member_is_a_0d_unicode_json_object(tmp_path):
    """``spec`` must be a 0-d unicode array holding a JSON object; each fault is named."""
    path = tmp_path / "c.npz"
    for spec, message in (
        (np.array(["{}"]), "'spec' must be a 0-d unicode array holding JSON, got dtype <U2 "
                           "shape (1,)"),
        (np.array(b"{}"), "'spec' must be a 0-d unicode array holding JSON, got dtype |S2 "
                          "shape ()"),
        (np.array("{x"), "'spec' is not valid JSON: Expecting property name enclosed in double "
                         "quotes: line 1 column 2 (char 1)"),
        (np.array("[1]"), "'spec' must be a JSON object, got list"),
    ):  # fmt: skip
        write_npz(path, {"spec": spec, "a": np.zeros(1)})
        assert refused(path) == f"{path}: {message}"


def test_without_a_spec_member_only_theirs_is_read(tmp_path):
    """A case or result needs its spec member; another implementation's file (require_spec
    False) reads as an empty spec; the message lists the members found and the formats."""
    path = tmp_path / "theirs.npz"
    write_npz(path, {"g": np.ones(2), "x": np.zeros(2)})
    assert refused(path) == (
        f"{path}: no 'spec' member (found ['g', 'x']); expected a 'npytrpo-oracle/1' or "
        "'npytrpo-oracle-result/1' file"
    )
    data = load(path, require_spec=False)
    assert data.spec == {} and sorted(data.arrays) == ["g", "x"]


def test_damaged_and_foreign_members_are_named(tmp_path):
    """A truncated archive, a member whose .npy header is broken, a zip member that is no .npy
    array, and an array of a dtype the format has no name for are refused by name."""
    good = tmp_path / "good.npz"
    write_npz(good, {"spec": np.array("{}"), "g": np.arange(4.0)})
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:40])
    assert refused(cut).startswith(f"{cut}: not a readable .npz archive (BadZipFile: ")
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("spec.npy", _npy(np.array("{}")))
        z.writestr("g.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n")
        z.writestr("raw", b"bytes")
    assert refused(bad).startswith(f"{bad}: array 'g' is damaged (")
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("spec.npy", _npy(np.array("{}")))
        z.writestr("raw", b"bytes")
    assert refused(bad) == f"{bad}: member 'raw' is not a .npy array"
    for value, dtype in ((np.array([True]), "bool"), (np.array([1j]), "complex128")):
        write_npz(bad, {"spec": np.array("{}"), "b": value})
        assert refused(bad) == (
            f"{bad}: array 'b' has dtype {dtype}; oracle arrays are one of {DTYPES}"
        )


def test_a_member_whose_data_fails_its_crc_is_named_as_damaged(tmp_path):
    """Corrupted bytes inside a member (its header intact) are found by the zip's CRC: the
    member is named as damaged with the error's type and text."""
    path = tmp_path / "crc.npz"
    write_npz(path, {"spec": np.array("{}"), "g": np.arange(64.0)})
    raw = bytearray(path.read_bytes())
    at = raw.index(np.arange(64.0)[40:41].tobytes())  # a byte of g's data, past its header
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert refused(path).startswith(f"{path}: array 'g' is damaged (BadZipFile: Bad CRC-32")


def _npy(a):
    import io

    f = io.BytesIO()
    np.save(f, a, allow_pickle=False)
    return f.getvalue()


def test_every_numeric_dtype_of_the_format_round_trips(tmp_path):
    """Each of the eleven dtypes reads back with its dtype and bytes, from npz and JSON."""
    arrays = {d: (np.arange(3) * 7).astype(d) for d in DTYPES}
    data = OracleData({"format": "f"}, arrays)
    for name in ("d.npz", "d.json"):
        save(tmp_path / name, data)
        back = load(tmp_path / name).arrays
        for d in DTYPES:
            assert back[d].dtype == np.dtype(d) and back[d].tobytes() == arrays[d].tobytes()


# ============================================================== writing
def test_save_writes_the_name_as_given_with_a_canonical_spec(tmp_path):
    """save writes JSON when the name ends in .json, else an npz archive under exactly that name
    (no suffix added) whose spec is the canonical JSON (sorted keys, no spaces)."""
    data = OracleData({"b": 1, "a": [1.5, "x"]}, {"g": np.arange(2.0)})
    save(tmp_path / "result.bin", data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.bin"]
    with np.load(tmp_path / "result.bin", allow_pickle=False) as z:
        assert sorted(z.files) == ["g", "spec"] and str(z["spec"][()]) == '{"a":[1.5,"x"],"b":1}'
    save(tmp_path / "r.json", data)
    assert (tmp_path / "r.json").read_text() == to_json(data)


def test_save_refuses_a_spec_array_and_unknown_dtypes_by_name(tmp_path):
    """save (and to_json on its own) refuse a member named spec and dtypes the format lacks,
    naming the array and who refused it."""
    with pytest.raises(OracleError) as e:
        save(tmp_path / "x.npz", OracleData({}, {"spec": np.zeros(1)}))
    assert str(e.value) == "array name 'spec' is reserved"
    with pytest.raises(OracleError) as e:
        save(tmp_path / "x.npz", OracleData({}, {"b": np.array([True])}))
    assert str(e.value) == f"save: array 'b' has dtype bool; oracle arrays are one of {DTYPES}"
    with pytest.raises(OracleError) as e:
        save(tmp_path / "x.json", OracleData({}, {"o": np.array([None])}))
    assert str(e.value) == "save: array 'o' is an object array; not allowed"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OracleError) as e:
        to_json(OracleData({}, {"b": np.array([True])}))
    assert str(e.value) == (
        f"cannot write JSON: to_json: array 'b' has dtype bool; oracle arrays are one of {DTYPES}"
    )


# ============================================================== the JSON twin
def test_json_twin_layout_is_exactly_as_documented():
    """The spec indented with sorted keys, then one array per line as {"dtype", "shape",
    "data"}, floats by repr, non-finite as strings, a 0-d array as a bare number."""
    data = OracleData({"b": [1, 2], "a": "x"},
                      {"x": np.array([1.0, np.nan, -np.inf, np.inf, 0.1]),
                       "n": np.array(3, dtype=np.int32)})  # fmt: skip
    assert to_json(data) == (
        '{\n "spec": {\n  "a": "x",\n  "b": [\n   1,\n   2\n  ]\n },\n "arrays": {\n'
        '  "x": {"dtype":"float64","shape":[5],"data":[1.0,"NaN","-Infinity","Infinity",0.1]},\n'
        '  "n": {"dtype":"int32","shape":[],"data":3}\n }\n}\n'
    )
    back = from_json(to_json(data))
    assert back.spec == data.spec
    assert back.arrays["x"].tobytes() == data.arrays["x"].tobytes()


def test_a_nan_with_a_payload_or_sign_keeps_its_bits_and_a_bad_token_is_named():
    """A NaN other than the dtype's canonical quiet NaN is "NaN:0x<bits>"; a token whose bits
    are out of range (2³² itself for float32), not a NaN, or not hex is refused naming the array
    and dtype."""
    for dtype, uint in ((np.float64, np.uint64), (np.float32, np.uint32), (np.float16, np.uint16)):
        canonical = int(np.array(np.nan, dtype=dtype).view(uint))
        odd = np.array([canonical | 1, canonical ^ (1 << (8 * np.dtype(dtype).itemsize - 1))],
                       dtype=uint).view(dtype)  # fmt: skip
        text = to_json(OracleData({}, {"a": odd}))
        tokens = json.loads(text)["arrays"]["a"]["data"]
        assert tokens == [f"NaN:0x{int(b):x}" for b in odd.view(uint)]
        assert from_json(text).arrays["a"].tobytes() == odd.tobytes()
    base = '{"spec": {}, "arrays": {"a": {"dtype": "float32", "shape": [1], "data": ["%s"]}}}'
    for token in ("NaN:0x1", "NaN:0x100000000", "NaN:0x1ffc00000", "NaN:0xzz", "NaN:0x"):
        with pytest.raises(OracleError) as e:
            from_json(base % token, source="f.json")
        assert str(e.value) == f"f.json: array 'a' (float32): '{token}' is not a NaN of float32"
    assert np.isnan(from_json(base % "NaN:0x7fc00001").arrays["a"][0])


@pytest.mark.parametrize("text, message", [
    ("[1]", "JSON: a JSON oracle file is an object with exactly the keys 'spec' and 'arrays'"),
    ('{"spec": {}, "arrays": {}, "x": 1}',
     "JSON: a JSON oracle file is an object with exactly the keys 'spec' and 'arrays'"),
    ('{"spec": [], "arrays": {}}', "JSON: 'spec' and 'arrays' must be JSON objects"),
    ('{"spec": {}, "arrays": []}', "JSON: 'spec' and 'arrays' must be JSON objects"),
    ('{"spec": {}, "arrays": {"spec": {}}}', "JSON: array name 'spec' is reserved"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "float64", "shape": [1]}}}',
     "JSON: array 't' must be an object with exactly the keys 'dtype', 'shape', 'data'"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "bool", "shape": [1], "data": [1]}}}',
     f"JSON: array 't' has dtype 'bool'; expected one of {DTYPES}"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int8", "shape": [-1], "data": []}}}',
     "JSON: array 't' has an invalid shape [-1]"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int8", "shape": [true], "data": [1]}}}',
     "JSON: array 't' has an invalid shape [True]"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int8", "shape": 2, "data": [1, 2]}}}',
     "JSON: array 't' has an invalid shape 2"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int8", "shape": [2, 1], "data": [[1], 2]}}}',
     "JSON: array 't': data does not match its shape [1] (int where a list of 1 was expected)"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int8", "shape": [2, 2], "data": [[1, 2], [3]]}}}',
     "JSON: array 't': data does not match its shape [2] (length 1 where a list of 2 was "
     "expected)"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int64", "shape": [1], "data": ["NaN"]}}}',
     "JSON: array 't' (int64) holds 'NaN'; expected integers (written without a decimal point)"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "float64", "shape": [1], "data": [true]}}}',
     "JSON: array 't' (float64) holds True; expected numbers"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "uint8", "shape": [1], "data": [-1]}}}',
     "JSON: array 't': a value does not fit uint8"),
    ('{"spec": {}, "arrays": {"t": {"dtype": "int64", "shape": [1], "data": [1e400]}}}',
     "JSON: array 't' (int64) holds inf; expected integers (written without a decimal point)"),
])  # fmt: skip
def test_malformed_json_twins_are_refused_naming_the_array(text, message):
    with pytest.raises(OracleError) as e:
        from_json(text)
    assert str(e.value) == message


def test_json_values_special_tokens_and_a_missing_spec():
    """Float arrays take ints, floats and the three special strings; a missing spec is an
    error unless require_spec is False; invalid JSON is named with its source."""
    text = '{"spec": {}, "arrays": {"t": {"dtype": "float32", "shape": [2, 2], ' \
        '"data": [[1, 2.5], ["Infinity", "NaN"]]}}}'  # fmt: skip
    t = from_json(text).arrays["t"]
    assert t.dtype == np.float32 and t.shape == (2, 2) and t[0, 1] == 2.5 and np.isnan(t[1, 1])
    assert np.isposinf(t[1, 0])
    assert from_json('{"arrays": {}}', require_spec=False).spec == {}
    with pytest.raises(OracleError, match="exactly the keys 'spec' and 'arrays'"):
        from_json('{"arrays": {}}')
    with pytest.raises(OracleError) as e:
        from_json("{", source="s.json")
    assert str(e.value).startswith("s.json: not valid JSON: Expecting property name")
    with pytest.raises(OracleError) as e:
        to_json(OracleData({"x": float("nan")}, {}))
    assert str(e.value).startswith("cannot write JSON: Out of range float values")
