"""How much Start-End rank a Start-End Similarity predictor needs: exact, by Krawtchouk eigenvalues.

At a fixed word offset, a Start-End Similarity input is a pair of words ``a, b`` of m
symbols from n, and every quantity the task asks about is a function of the number of
aligned agreements ``k = #{i : a_i = b_i}``. A matrix ``M[a, b] = g(k(a, b))`` over all
``n^m × n^m`` pairs depends only on ``a - b`` in the group ``Z_n^m`` (``k`` counts the zero
coordinates of the difference), so the characters of that group diagonalise it: the
eigenvalue of a character of weight w (w non-zero coordinates) is

    λ_w = Σ_{d=0}^{m} g(m - d) K_d(w),   K_d(w) = Σ_j (-1)^j (n-1)^{d-j} C(w, j) C(m-w, d-j)

(``K_d`` the Krawtchouk polynomials of the Hamming scheme H(m, n)), and there are
``C(m, w) (n-1)^w`` characters of weight w. The Start-End rank of ``g`` (the rank of ``M``)
is therefore the exact integer

    rank = Σ_{w : λ_w ≠ 0} C(m, w) (n - 1)^w,

computed here in rational arithmetic, for any m and n (no matrix is formed). Two cases
matter for the depth experiments:

- the overlap count ``g(k) = k``: only weights 0 and 1 survive, rank ``1 + m (n - 1)``; three
  class logits affine in k already classify every input (the upper envelope of three lines
  has three pieces), so this rank *suffices* for the task at a fixed offset;
- a class indicator ``g(k) = [round(2k/m) = c]``: the optimal predictor's own output, of
  full rank ``n^m`` for every class at m = 2, 8, 16, 30 with n = 32 (1024 at m = 2; about
  1.1·10^12 at m = 8).

A depth-1 Recurrent Arithmetic Circuit of width R has Start-End rank at most R (Levine
et al., arXiv:1710.09431), so it cannot realise a function whose rank exceeds R.

Examples
--------
>>> ses_overlap_rank(8, 32)
249
>>> ses_class_rank(2, 32, 2)
1024
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from math import comb

__all__ = ["agreement_function_rank", "ses_overlap_rank", "ses_class_rank", "krawtchouk"]


def _check(word_length: int, alphabet: int) -> None:
    for name, value, low in (("word_length", word_length, 1), ("alphabet", alphabet, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def krawtchouk(d: int, w: int, word_length: int, alphabet: int) -> int:
    """``K_d(w)`` of the Hamming scheme H(m, n): the sum of a weight-w character over the words of weight d.

    Examples
    --------
    >>> [krawtchouk(1, w, 3, 2) for w in range(4)]  # m = 3, n = 2: 3 - 2w
    [3, 1, -1, -3]
    """
    m, n = word_length, alphabet
    return sum((-1) ** j * (n - 1) ** (d - j) * comb(w, j) * comb(m - w, d - j) for j in range(0, min(w, d) + 1))


def agreement_function_rank(g: Sequence | Callable[[int], object], word_length: int, alphabet: int) -> int:
    """Exact rank of ``M[a, b] = g(k(a, b))`` over all pairs of words of m symbols from n.

    Parameters
    ----------
    g : sequence of m + 1 numbers, or callable
        ``g[k]`` (or ``g(k)``): the value at k aligned agreements; ints, Fractions or
        floats (floats are taken exactly).
    word_length, alphabet : int
        m >= 1 and n >= 2.

    Returns
    -------
    int
        The rank (at most ``n^m``).

    Raises
    ------
    ValueError
        A sequence ``g`` of the wrong length, or m, n out of range.

    Notes
    -----
    O(m³) exact integer operations; no matrix is formed.

    Examples
    --------
    >>> agreement_function_rank([0, 0, 1], 2, 3)  # [a = b] over 2-symbol words from 3: the identity
    9
    >>> agreement_function_rank(lambda k: 1, 5, 4)  # a constant
    1
    """
    _check(word_length, alphabet)
    m, n = word_length, alphabet
    if callable(g):
        values = [g(k) for k in range(m + 1)]
    else:
        values = list(g)
        if len(values) != m + 1:
            raise ValueError(f"g must give one value for each agreement count 0..{m}, got {len(values)} values")
    values = [Fraction(v) for v in values]
    rank = 0
    for w in range(m + 1):
        eigenvalue = sum(values[m - d] * krawtchouk(d, w, m, n) for d in range(m + 1))
        if eigenvalue != 0:
            rank += comb(m, w) * (n - 1) ** w
    return rank


def ses_overlap_rank(word_length: int, alphabet: int = 32) -> int:
    """Start-End rank of the overlap count k at a fixed offset: ``1 + m (n - 1)``, enough to classify.

    Examples
    --------
    >>> [ses_overlap_rank(m) for m in (2, 8, 16, 30)]
    [63, 249, 497, 931]
    """
    return agreement_function_rank(lambda k: k, word_length, alphabet)


def ses_class_rank(word_length: int, alphabet: int = 32, label: int = 2) -> int:
    """Start-End rank of the indicator of class ``label`` (``round(2k/m)``, ties to even) at a fixed offset.

    Raises
    ------
    ValueError
        ``label`` not in {0, 1, 2}.

    Examples
    --------
    >>> ses_class_rank(2, 4, 2), ses_class_rank(8, 32, 2) == 32 ** 8  # full rank
    (16, True)
    """
    if label not in (0, 1, 2):
        raise ValueError(f"label must be 0, 1 or 2 (the three SES classes), got {label!r}")
    return agreement_function_rank(lambda k: int(round(Fraction(2 * k, word_length)) == label),
                                   word_length, alphabet)
