"""GRPO loss golden data for tests/test_grpo.c (run by `make reference`).

Writes tests/golden/grpo/grpo.txt: named float64 arrays as text lines
"name count v0 v1 ...". The advantages follow GRPO.md §1.1 (Bessel std as
TRL/veRL, +eps, groups with equal rewards -> exactly 0); the per-token
coefficient g = dL/dlogp comes from torch autograd through the clipped
surrogate and the k3 KL (float64), independent of the analytic formula in
src/rl/grpo_loss.c."""
import os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "golden", "grpo", "grpo.txt")
rng = np.random.default_rng(20250705)
lines = []


def put(name, a):
    a = np.asarray(a, dtype=np.float64).ravel()
    lines.append(name + " " + str(a.size) + " " + " ".join(repr(float(x)) for x in a))


def advantages(r, G, scale_std, eps):
    r = r.reshape(-1, G)
    out = np.zeros_like(r)
    for i, g in enumerate(r):
        if np.all(g == g[0]):
            continue
        d = g - g.mean()
        out[i] = d / (g.std(ddof=1) + eps) if scale_std else d
    return out.ravel()


# rewards: 6 groups of 4 in R1-Zero units (1 accuracy + 0.1 format)
G = 4
r = np.array([1.1, 0.1, 0.1, 0.0,
              1.1, 1.1, 1.1, 1.1,   # all equal -> 0
              0.0, 0.0, 0.0, 0.0,   # all equal -> 0
              0.1, 1.1, 0.0, 1.1,
              0.1, 0.1, 0.1, 1.1,
              1.0, 0.0, 1.1, 0.1], dtype=np.float32)
put("rewards", r)
put("adv_std", advantages(r.astype(np.float64), G, True, 1e-4))
put("adv_nostd", advantages(r.astype(np.float64), G, False, 1e-4))

# weights for 5 sequences of these completion lengths, L_max 12
lens = np.array([3, 7, 12, 1, 5])
put("lens", lens)
n = len(lens)
put("w_seq", 1.0 / (n * lens))
put("w_tok", np.full(n, 1.0 / lens.sum()))
put("w_const", np.full(n, 1.0 / (n * 12)))

# per-token batch: 5 sequences x T 12, masks from lens, log-probs around -1.5,
# old/ref perturbed so that both clip sides and the unclipped region occur
T = 12
mask = np.zeros((n, T))
for i, L in enumerate(lens):
    mask[i, 2:2 + L] = 1  # completion starts after a 2-token prompt (cut at T)
mask = mask[:, :T]
logp = -np.abs(rng.normal(1.5, 0.8, (n, T)))
old = logp + rng.normal(0, 0.4, (n, T))
ref = logp + rng.normal(0, 0.2, (n, T))
adv_seq = np.array([1.2, -0.7, 0.9, 0.0, -1.4])
adv = np.repeat(adv_seq[:, None], T, axis=1)
eps_low, eps_high, beta = 0.2, 0.28, 0.04
# the C side stores inputs in f32: round them the same way first
logp, old, ref = (x.astype(np.float32).astype(np.float64) for x in (logp, old, ref))
wrow = np.repeat((1.0 / lens.sum()) * np.ones(n)[:, None], T, axis=1) * mask
wrow = wrow.astype(np.float32).astype(np.float64)
put("mask", mask)
put("logp", logp)
put("old", old)
put("ref", ref)
put("adv", adv)
put("w", wrow)
put("clip", [eps_low, eps_high, beta])

x = torch.tensor(logp, dtype=torch.float64, requires_grad=True)
rho = torch.exp(x - torch.tensor(old))
A = torch.tensor(adv)
surr = torch.minimum(rho * A, torch.clamp(rho, 1 - eps_low, 1 + eps_high) * A)
kappa = torch.exp(torch.tensor(ref) - x)
k3 = kappa - (torch.tensor(ref) - x) - 1
M = torch.tensor(mask)
loss = (torch.tensor(wrow) * (-surr + beta * k3) * M).sum()
loss.backward()
put("g", x.grad.numpy())
put("loss", [loss.item()])
put("kl_sum", [(k3 * M).sum().item()])
rn = rho.detach().numpy()
a = adv
clipped = ((a > 0) & (rn > 1 + eps_high)) | ((a < 0) & (rn < 1 - eps_low))
put("clipped", [float((clipped * mask).sum())])

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
low = int((((a < 0) & (rn < 1 - eps_low)) * mask).sum())
high = int((((a > 0) & (rn > 1 + eps_high)) * mask).sum())
print("wrote", OUT, "clipped", int((clipped * mask).sum()), "of", int(mask.sum()), "low", low, "high", high)
