"""Reference solution of exercise 6: by the chain rule ∂/∂ψ = Bᵀ∂/∂θ, so g_ψ = Bᵀg, and the
KL's Hessian (its gradient vanishes at θ_old, so no second-derivative term of the map) is BᵀFB."""


def answer(F, g, B):
    return B.T @ F @ B, B.T @ g
