"""One symbol per meaning in docs/theory.md, and every document the code cites exists.

The notation rule is deliberately simple: docs/theory.md § 0.1 holds a table "meaning | symbol";
``NOTATION`` below pins the symbol of each meaning that used to be ambiguous (so the table cannot
change silently), and ``FORBIDDEN`` lists the spellings that would give one of those symbols its
old second meaning — a pattern, or a symbol within ``NEAR`` characters of a word naming the other
meaning. The rules are checked on the text after § 0 (the table and its notes quote the
forbidden spellings on purpose).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"

#: Characters between a symbol and a word for them to count as "used together".
NEAR = 30

#: meaning (a substring of the table's first column) -> its symbol (in the second column).
NOTATION = {
    "expected discounted return": "η(π)",
    "initial-state distribution": "q₀",
    "transition kernel": "𝒫",
    "advantage function": "A_π(s, a)",
    "likelihood ratio": "Rₙ(θ)",
    "Gaussian mean": "μ",
    "Fisher matrix; damped Fisher": "F_ω = F + ωI",
    "damping": "ω",
    "trust-region radius": "δ",
    "TD residual": "ξₜ",
    "GAE parameter": "λ",
    "Lagrange multiplier": "ν",
    "TRPO step size": "β",
    "CG conjugation coefficient": "ζₖ",
    "CG iteration; step length": "αₖ",
    "backtracking factor": "τ",
    "total-variation distance": "D_TV^max",
    "value-fit weight decay": "c_V",
    "reparameterization": "B; ψ",
    "PPO clip range": "χ",
}


def near(symbol: str, words: str, n: int = NEAR) -> str:
    """A regex: ``symbol`` within n characters (newlines included) of one of ``words``."""
    return rf"{symbol}[\s\S]{{0,{n}}}(?i:{words})|(?i:{words})[\s\S]{{0,{n}}}{symbol}"


#: (regex, what it would mean); matched on the text after § 0, case-sensitively (ε and ϵ, r and R
#: are different symbols) except for the English words of ``near``.
FORBIDDEN = [
    (r"δ\s*ₜ|δ_\{?t\b|\\delta_\{?t\b", "δ with a time index: the TD residual is ξₜ"),
    (near("λ", r"damp"), "λ next to 'damping': the damping is ω"),
    (r"λ\s*I\b|\\lambda\s*I\b|\+\s*λ\s*v\b", "λI / λv: the damping is ω"),
    (near("λ", r"weight decay|\bl2\b"), "λ as the value fit's weight decay: it is c_V"),
    (r"αʲ|α\^\{?j|\\alpha\^\{?j", "α^j: the backtracking factor is τ"),
    (near("α", r"backtrack"), "α next to 'backtracking': the factor is τ"),
    (near("α", r"D_TV|total.variation|\bTV\b"), "α as a TV distance: write D_TV^max"),
    (r"μ₀|μ_\{?0|\\mu_\{?0", "μ₀: the initial-state distribution is q₀"),
    (near("μ", r"lagrang|multiplier"), "μ as a Lagrange multiplier: it is ν"),
    (
        r"\bA\s*=\s*F|xᵀAx|x\^\\top A x|A⁻¹|A\^\{-1\}|\bA\s*x\s*=|\(F \+ [λω]I\)",
        "a bare A for the damped Fisher: it is F_ω (A is the advantage)",
    ),
    (r"\bJ\s*\(\s*(π|\\pi)|\bJ\s+(never|decreases|drops|ends)\b", "J as the return: it is η"),
    (r"rₙ\s*\(θ\)|r_n\(\\theta\)|r_n\(θ\)", "rₙ(θ) as the ratio: it is Rₙ(θ)"),
    (r"βₖ|β_\{?k|\\beta_\{?k", "β with a CG index: CG's coefficient is ζₖ"),
    (r"Tψ|T\\psi|T⁻¹|T\^\{-1\}|TᵀF", "T as the reparameterization: it is B"),
    (r"ϵ", "ϵ (lunate epsilon) next to ε: the PPO clip range is χ"),
    (r"λ_\{?(max|min)|\\lambda_\{?(max|min)", "λ as an eigenvalue: write ‖F‖₂ or 'eigenvalue'"),
]


def _theory() -> str:
    return THEORY.read_text(encoding="utf-8")


def _split(text: str) -> tuple[list[list[str]], str]:
    """The notation table's rows (cells) and the text after § 0 (from "## 1.")."""
    start = text.index("### 0.1")
    body_start = text.index("\n## 1.")
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text[start:body_start].splitlines()
        if line.startswith("|") and not set(line) <= set("|-: ")
    ]
    return rows, text[body_start:]


def test_notation_table_pins_one_symbol_per_meaning():
    """Each ambiguous meaning has its row, with the symbol NOTATION pins, and that symbol is
    used in the text (the table is not decoration)."""
    rows, body = _split(_theory())
    assert rows and rows[0][:2] == ["meaning", "symbol"], rows[:1]
    for meaning, symbol in NOTATION.items():
        found = [r for r in rows[1:] if meaning in r[0]]
        assert len(found) == 1, f"notation table: {len(found)} rows for {meaning!r}"
        assert symbol in found[0][1], f"notation table: {meaning!r} is {found[0][1]!r}"
        head = re.split(r"[;(= ]", symbol)[0]  # the symbol itself, e.g. "η" of "η(π)"
        spellings = {head}
        if unicodedata.name(head[0]).startswith("GREEK SMALL LETTER"):  # LaTeX in $$ blocks
            spellings.add("\\" + unicodedata.name(head[0]).split()[-1].lower())
        assert any(sp in body for sp in spellings), f"{head!r} ({meaning}) is not in the text"
    symbols = [r[1] for r in rows[1:]]
    assert len(symbols) == len(set(symbols)), "two rows give the same symbol"


@pytest.mark.parametrize("pattern, meaning", FORBIDDEN, ids=[m for _, m in FORBIDDEN])
def test_no_symbol_takes_a_second_meaning(pattern, meaning):
    """No spelling in FORBIDDEN occurs in the text after § 0."""
    text = _theory()
    _, body = _split(text)
    offset = len(text) - len(body)
    where = [
        f"line {text.count(chr(10), 0, offset + m.start()) + 1}: {m.group(0)!r}"
        for m in re.finditer(pattern, body)
    ]
    assert not where, f"{meaning}: " + "; ".join(where)


def test_forbidden_patterns_can_fire():
    """Each rule matches the first edition's spelling it was written against (so none of them is
    vacuous)."""
    first_edition = [
        "δ_t = r_t + γ V(s_{t+1})", "damping λ = 0.1", "A = F + λI", "vf l2 weight decay λ",
        "θ_j = θ_old + αʲβx", "α = 0.5 backtracking", "α = max_s D_TV(π, π̃)", "s₀ ~ μ₀",
        "the Lagrangian condition g = μAΔ", "xᵀAx", "J never decreases", "rₙ(θ) = π_θ/π_old",
        "β_{k+1} = r", "θ = Tψ", "clip(r, 1 − ϵ, 1 + ϵ)", "κ ≤ (λ_max + λ)/λ",
    ]  # fmt: skip
    assert len(first_edition) == len(FORBIDDEN)
    for (pattern, meaning), example in zip(FORBIDDEN, first_edition, strict=True):
        assert re.search(pattern, example), (meaning, example)


# ================================================================ document references in code
#: A document reference in a docstring or comment: a path-like token ending in ".md".
DOC_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.md\b")


def _exists_exactly(path: Path) -> bool:
    """``path`` exists with exactly this spelling (case-sensitive even on case-insensitive file
    systems): every component is compared with the directory listing."""
    cur = ROOT
    for part in path.relative_to(ROOT).parts:
        if not cur.is_dir() or part not in {p.name for p in cur.iterdir()}:
            return False
        cur = cur / part
    return True


def _resolves(ref: str) -> bool:
    """A reference resolves when it names a file relative to the repository root, or to docs/."""
    return _exists_exactly(ROOT / ref) or _exists_exactly(ROOT / "docs" / ref)


def test_every_document_the_package_cites_exists():
    """Every "*.md" named in npytrpo/ (e.g. "docs/design.md", "theory.md") is a file in the
    repository, spelled exactly."""
    refs = []
    for py in sorted((ROOT / "npytrpo").rglob("*.py")):
        for lineno, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            refs += [(py.relative_to(ROOT), lineno, m) for m in DOC_REF.findall(line)]
    assert refs, "expected the package to cite its documents"
    broken = [f"{path}:{lineno}: {ref}" for path, lineno, ref in refs if not _resolves(ref)]
    assert not broken, "documents cited but not in the repository:\n" + "\n".join(broken)
