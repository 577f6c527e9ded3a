"""Reference solution of exercise 5.

Categorical: each Mₙ = diag(p) − ppᵀ has rank K − 1 (its null vector is 1), so rank F ≤ N(K−1);
adding c to every logit of every state is invisible, and the last layer can do that along h + 1
directions (the output bias and, for each input unit of the last layer, its row of W), so
rank F ≤ P − (h + 1), h the last layer's input size. Gaussian: the mean block has rank
≤ min(N·d, P_net) (Mₙ = diag(1/σ²) has rank d), plus d for the ℓ block 2I. Generic θ and
states reach these bounds.
"""


def answer(kind, obs_dim, hidden, out_dim, n):
    sizes = [obs_dim, *hidden, out_dim]
    p_net = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if kind == "categorical":
        return min(n * (out_dim - 1), p_net - (sizes[-2] + 1))
    return min(n * out_dim, p_net) + out_dim
