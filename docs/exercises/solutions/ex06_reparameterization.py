"""Reference solution of exercise 6: by the chain rule ∂/∂ψ = Bᵀ∂/∂θ, so g_ψ = Bᵀg; the map
θ = Bψ is linear (no second-derivative term), so the KL's Hessian in ψ is BᵀFB."""


def answer(F, g, B):
    return B.T @ F @ B, B.T @ g
