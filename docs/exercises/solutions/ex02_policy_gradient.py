"""Reference solution of exercise 2: the cotangent of the network output is Âₙ/N times the
output-space score onehot(aₙ) − pₙ; one VJP sums Jₙᵀ(·) over the batch."""

from npytrpo.distributions import CategoricalHead


def answer(policy, theta, obs, actions, adv):
    out, cache = policy.net.forward(theta, obs)
    u = CategoricalHead(out.shape[1]).score(out, actions)[0] * (adv / obs.shape[0])[:, None]
    return policy.net.vjp(cache, u)
