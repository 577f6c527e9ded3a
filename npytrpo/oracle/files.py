"""Reading and writing oracle files: the ``.npz`` archive and its JSON twin.

Both hold a ``spec`` (JSON) and named numeric arrays; nothing is ever pickled or unpickled, and
the JSON twin's floats are written with round-trip precision so that both read back
bit-identical. The layout is specified in ``docs/oracle.md``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..io.files import CORRUPTION_ERRORS, atomic_write, write_npz
from .format import CASE_FORMAT, RESULT_FORMAT, OracleData, OracleError, _canonical_json, _is_int

_JSON_DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
)
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# ================================================================================ reading
def _sniff(path: str) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except FileNotFoundError:
        raise OracleError(f"{path}: no such file") from None
    except OSError as e:
        raise OracleError(f"{path}: cannot read ({e.strerror})") from None
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        raise OracleError(f"{path}: a single .npy array, not an oracle .npz archive")
    if head.lstrip()[:1] in (b"{", b""):
        return "json"
    raise OracleError(f"{path}: neither an .npz archive nor a JSON file")


def load(path: str | os.PathLike, *, require_spec: bool = True) -> OracleData:
    """Read a case or result from ``.npz`` or its JSON twin (sniffed from the content).

    Only structure is checked here (readable, no object arrays, a JSON ``spec``);
    ``validate_case`` / ``run_case`` / ``check_result`` check the content. With
    ``require_spec=False`` (another implementation's results) a missing spec reads as ``{}``.
    """
    path = os.fspath(path)
    if _sniff(path) == "json":
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as e:
            raise OracleError(f"{path}: not UTF-8 text ({e})") from None
        return from_json(text, source=path, require_spec=require_spec)
    arrays = _npz_members(path, require_spec)
    raw = arrays.pop("spec", np.array("{}"))
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise OracleError(
            f"{path}: 'spec' must be a 0-d unicode array holding JSON, got "
            f"dtype {raw.dtype} shape {raw.shape}"
        )
    try:
        spec = json.loads(str(raw[()]))
    except json.JSONDecodeError as e:
        raise OracleError(f"{path}: 'spec' is not valid JSON: {e}") from None
    if not isinstance(spec, dict):
        raise OracleError(f"{path}: 'spec' must be a JSON object, got {type(spec).__name__}")
    for key, a in arrays.items():
        _check_stored_dtype(a, key, path)
    return OracleData(spec, arrays)


def _npz_members(path: str, require_spec: bool) -> dict[str, np.ndarray]:
    """Every member of the ``.npz`` archive at ``path``, ``spec`` included, never unpickling."""
    try:
        npz = np.load(path, allow_pickle=False)
    except CORRUPTION_ERRORS as e:
        raise OracleError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from e
    with npz:
        if "spec" not in npz.files and require_spec:
            raise OracleError(
                f"{path}: no 'spec' member (found {sorted(npz.files)}); "
                f"expected a {CASE_FORMAT!r} or {RESULT_FORMAT!r} file"
            )
        arrays = {}
        for key in npz.files:
            try:
                a = npz[key]
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    raise OracleError(
                        f"{path}: array {key!r} is an object (pickled) array; "
                        "oracle files hold numeric arrays only and it was not "
                        "loaded"
                    ) from None
                raise OracleError(f"{path}: array {key!r} is damaged ({e})") from e
            except CORRUPTION_ERRORS as e:
                raise OracleError(
                    f"{path}: array {key!r} is damaged ({type(e).__name__}: {e})"
                ) from e
            if not isinstance(a, np.ndarray):  # a zip member without the .npy header
                raise OracleError(f"{path}: member {key!r} is not a .npy array")
            arrays[key] = a
    return arrays


def _check_stored_dtype(a: np.ndarray, key: str, source: str) -> None:
    if a.dtype.hasobject:
        raise OracleError(f"{source}: array {key!r} is an object array; not allowed")
    if a.dtype.name not in _JSON_DTYPES:
        raise OracleError(
            f"{source}: array {key!r} has dtype {a.dtype}; oracle arrays are "
            f"one of {list(_JSON_DTYPES)}"
        )


# ================================================================================ writing
def save(path: str | os.PathLike, data: OracleData) -> None:
    """Write ``data`` to ``path``: JSON if the name ends in ``.json``, else an ``.npz`` archive.

    The name is used as given (no suffix is added). The write is atomic (temporary file, then
    ``os.replace``).
    """
    path = os.fspath(path)
    for key, a in data.arrays.items():
        if key == "spec":
            raise OracleError("array name 'spec' is reserved")
        _check_stored_dtype(np.asarray(a), key, "save")
    if path.endswith(".json"):
        text = to_json(data).encode("utf-8")
        atomic_write(path, lambda f: f.write(text))
    else:
        members = {"spec": np.array(_canonical_json(data.spec))}
        members.update({k: np.asarray(v) for k, v in data.arrays.items()})
        atomic_write(path, lambda f: write_npz(f, members))


# ================================================================================ the JSON twin
_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _nan_bits(dtype: np.dtype) -> int:
    """Bit pattern of ``dtype``'s canonical quiet NaN (what ``"NaN"`` reads back as)."""
    return int(np.array(np.nan, dtype=dtype).view(_UINT[dtype.itemsize]))


def _float_token(x: np.floating, bits: int, canonical: int) -> Any:
    if math.isfinite(x):
        return float(x)
    if math.isnan(x):  # any other NaN (sign bit, payload) keeps its exact bits
        return "NaN" if bits == canonical else f"NaN:0x{bits:x}"
    return "Infinity" if x > 0 else "-Infinity"


def _json_data(a: np.ndarray) -> Any:
    """Nested-list data of ``a``; non-finite floats as strings (see ``to_json``)."""
    if a.dtype.kind != "f" or np.isfinite(a).all():
        return a.tolist()
    canonical = _nan_bits(a.dtype)
    bits = a.view(_UINT[a.dtype.itemsize]).ravel().tolist()
    tokens = [_float_token(x, b, canonical) for x, b in zip(a.ravel(), bits, strict=True)]
    return np.array(tokens, dtype=object).reshape(a.shape).tolist()


def to_json(data: OracleData) -> str:
    """The JSON twin: ``{"spec": …, "arrays": {name: {"dtype", "shape", "data"}}}``.

    ``data`` is the nested list of the array (a bare number for 0-d arrays); floats are written
    by ``repr``, the shortest string that reads back to the same double, and the non-finite ones
    as the strings "Infinity", "-Infinity" and "NaN" (JSON has no literal for them); a NaN other
    than the dtype's canonical quiet one (a sign bit or payload) is "NaN:0x<its bits in hex>",
    so that every array reads back bit-identical. One array per line; the spec's keys are
    sorted.
    """
    try:
        spec = json.dumps(data.spec, indent=1, sort_keys=True, allow_nan=False)
        items = []
        for key, a in data.arrays.items():
            a = np.asarray(a)
            _check_stored_dtype(a, key, "to_json")
            entry = {"dtype": a.dtype.name, "shape": list(a.shape), "data": _json_data(a)}
            items.append(f"  {json.dumps(key)}: {json.dumps(entry, separators=(',', ':'))}")
    except (TypeError, ValueError) as e:
        raise OracleError(f"cannot write JSON: {e}") from e
    body = ",\n".join(items)
    return '{\n "spec": ' + spec.replace("\n", "\n ") + ',\n "arrays": {\n' + body + "\n }\n}\n"


def _flatten(data: Any, shape: Sequence[int], key: str, source: str) -> list:
    """The scalars of the nested list ``data``, checking it has exactly ``shape``."""
    if not shape:
        return [data]
    if not isinstance(data, list) or len(data) != shape[0]:
        got = f"length {len(data)}" if isinstance(data, list) else type(data).__name__
        raise OracleError(
            f"{source}: array {key!r}: data does not match its shape "
            f"{list(shape)} ({got} where a list of {shape[0]} was expected)"
        )
    out = []
    for item in data:
        out.extend(_flatten(item, shape[1:], key, source))
    return out


def _decode_array(key: str, entry: Any, source: str) -> np.ndarray:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data"}:
        raise OracleError(
            f"{source}: array {key!r} must be an object with exactly the keys "
            "'dtype', 'shape', 'data'"
        )
    dtype, shape = entry["dtype"], entry["shape"]
    if dtype not in _JSON_DTYPES:
        raise OracleError(
            f"{source}: array {key!r} has dtype {dtype!r}; expected one of {list(_JSON_DTYPES)}"
        )
    if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape):
        raise OracleError(f"{source}: array {key!r} has an invalid shape {shape!r}")
    flat = _flatten(entry["data"], shape, key, source)
    floating = dtype.startswith("float")
    values, nan_bits = [], {}
    for v in flat:
        if floating and isinstance(v, str) and v in _SPECIAL:
            values.append(_SPECIAL[v])
        elif floating and isinstance(v, str) and v.startswith("NaN:0x"):
            nan_bits[len(values)] = _parse_nan(v, np.dtype(dtype), key, source)
            values.append(math.nan)
        elif _is_int(v) or (floating and isinstance(v, float)):
            values.append(v)
        else:
            want = "numbers" if floating else "integers (written without a decimal point)"
            raise OracleError(f"{source}: array {key!r} ({dtype}) holds {v!r}; expected {want}")
    try:
        arr = np.array(values, dtype=dtype)
    except OverflowError as e:
        raise OracleError(f"{source}: array {key!r}: a value does not fit {dtype}") from e
    if nan_bits:
        raw = arr.view(_UINT[arr.dtype.itemsize])
        raw[list(nan_bits)] = list(nan_bits.values())
    return arr.reshape(shape)


def _parse_nan(token: str, dtype: np.dtype, key: str, source: str) -> int:
    """The bits of a ``"NaN:0x…"`` token, checked to be a NaN of ``dtype``."""
    try:
        bits = int(token[len("NaN:0x") :], 16)
        ok = bits < 2 ** (8 * dtype.itemsize)
        ok = ok and bool(np.isnan(np.array(bits, dtype=_UINT[dtype.itemsize]).view(dtype)))
    except ValueError:
        ok = False
    if not ok:
        raise OracleError(f"{source}: array {key!r} ({dtype}): {token!r} is not a NaN of {dtype}")
    return bits


def from_json(text: str, *, source: str = "JSON", require_spec: bool = True) -> OracleData:
    """Parse a JSON twin written by :func:`to_json` (arrays come back bit-identical)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise OracleError(f"{source}: not valid JSON: {e}") from None
    if isinstance(doc, dict) and not require_spec:
        doc.setdefault("spec", {})
    if not isinstance(doc, dict) or set(doc) != {"spec", "arrays"}:
        raise OracleError(
            f"{source}: a JSON oracle file is an object with exactly the keys 'spec' and 'arrays'"
        )
    if not isinstance(doc["spec"], dict) or not isinstance(doc["arrays"], dict):
        raise OracleError(f"{source}: 'spec' and 'arrays' must be JSON objects")
    if "spec" in doc["arrays"]:
        raise OracleError(f"{source}: array name 'spec' is reserved")
    arrays = {k: _decode_array(k, v, source) for k, v in doc["arrays"].items()}
    return OracleData(doc["spec"], arrays)
