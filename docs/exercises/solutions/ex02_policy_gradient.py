"""Reference solution of exercise 2: the cotangent of the network output is Âₙ/N times the
output-space score onehot(aₙ) − pₙ; one VJP sums Jₙᵀ(·) over the batch."""

from npytrpo.distributions import categorical_score


def answer(policy, theta, obs, actions, adv):
    out, cache = policy.net.forward(theta, obs)
    u = categorical_score(out, actions) * (adv / obs.shape[0])[:, None]
    return policy.net.vjp(cache, u)
