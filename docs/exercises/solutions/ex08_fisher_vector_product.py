"""Reference solution of exercise 8: Jv by forward mode, M(Jv) = p ⊙ (Jv − pᵀJv) per state,
then one backprop of M(Jv)/N."""

from npytrpo.distributions import categorical_fisher_vector


def answer(policy, theta, obs, v):
    out, cache = policy.net.forward(theta, obs)
    MJv = categorical_fisher_vector(out, policy.net.jvp(cache, v))
    return policy.net.vjp(cache, MJv / obs.shape[0])
