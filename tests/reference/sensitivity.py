"""Show that the golden logits catch the known pitfalls (ARCH.md section 9).

For each case, re-run the reference with one deliberate mistake and report how far the logits
move from tests/golden/<case>/logits.bin. A correct fp32 implementation stays within ~1e-5
(make_golden.py prints the exact figure), so any move above ~1e-3 is a mistake the golden test
catches. Mistakes that move nothing are listed as such: they are equivalences, not gaps.

    /usr/bin/python3 tests/reference/sensitivity.py
"""
import copy
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tests/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402
import model as ref  # noqa: E402

CATCH = 1e-3
SAME = 1e-5  # the golden file is float32, so an unchanged forward differs by ~1e-7


def load(name):
    d = os.path.join(mg.GOLDEN_DIR, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "prompt.txt")) as f:
        ids = [int(t) for t in f.read().split()]
    gold = np.fromfile(os.path.join(d, "logits.bin"), dtype="<f4").reshape(len(ids), -1)
    P = {}
    for n, (dt, shape, raw) in mg.read_safetensors(os.path.join(d, "model.safetensors")).items():
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype("<f4")
        else:
            a = mg.bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        P[n] = torch.from_numpy(a.astype(np.float64).reshape(shape))
    return cfg, P, ids, torch.from_numpy(gold.astype(np.float64))


class patched:
    """Temporarily replace attributes of the model module."""

    def __init__(self, **kw):
        self.kw, self.saved = kw, {}

    def __enter__(self):
        for k, v in self.kw.items():
            self.saved[k] = getattr(ref, k)
            setattr(ref, k, v)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            setattr(ref, k, v)


def with_cfg(**kw):
    def mutate(cfg, P):
        c = copy.deepcopy(cfg)
        c.update(kw)
        return c, P
    return mutate


def kv_b_split_in_halves(cfg, P):
    """Reading kv_b as [all K rows; all V rows] equals the right code on rows re-ordered so."""
    H, Dn, Dv = cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["v_head_dim"]
    P = dict(P)
    for n in [n for n in P if n.endswith("kv_b_proj.weight")]:
        w = P[n]
        k_all, v_all = w[: H * Dn].reshape(H, Dn, -1), w[H * Dn:].reshape(H, Dv, -1)
        P[n] = torch.cat((k_all, v_all), dim=1).reshape(w.shape)
    return cfg, P


def kv_head_modulo(cfg, P):
    """Query head h reading kv head h % Hkv (instead of h // rep) equals the right code with
    query head h moved to slot (h % Hkv) * rep + h // Hkv."""
    H, Hkv, Dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], ref.head_dim(cfg)
    rep = H // Hkv
    perm = [0] * H
    for h in range(H):
        perm[(h % Hkv) * rep + h // Hkv] = h
    P = dict(P)
    for n in list(P):
        if n.endswith("q_proj.weight") or n.endswith("q_proj.bias"):
            P[n] = P[n].reshape(H, Dh, *P[n].shape[1:])[perm].reshape(P[n].shape)
        if n.endswith("o_proj.weight"):
            w = P[n]
            P[n] = w.reshape(w.shape[0], H, Dh)[:, perm].reshape(w.shape)
    return cfg, P


def drop_qkv_bias(cfg, P):
    return cfg, {n: (torch.zeros_like(t) if n.endswith(".bias") else t) for n, t in P.items()}


def plain_mla_scale(cfg):
    return (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5


def official_mscale(cfg):
    """Official inference code: m(s, mscale)^2 on the softmax scale, nothing on cos/sin."""
    rs = cfg["rope_scaling"]
    m = ref.yarn_get_mscale(rs["factor"], rs.get("mscale", 1))
    return plain_mla_scale(cfg) * m * m


def yarn_without_cos_scale(dim, base, rs):
    return ref.__dict__["_orig_yarn_inv_freq"](dim, base, rs)[0], 1.0


def yarn_without_ramp(dim, base, rs):
    return ref.default_inv_freq(dim, base), ref.__dict__["_orig_yarn_inv_freq"](dim, base, rs)[1]


def range_high_half(low_rot, high_rot, dim, base, max_pos):
    lo, hi = ref.__dict__["_orig_range"](low_rot, high_rot, dim, base, max_pos)
    return lo, min(hi, dim // 2 - 1)


def range_no_low_clamp(low_rot, high_rot, dim, base, max_pos):
    import math
    return (math.floor(ref.yarn_find_correction_dim(low_rot, dim, base, max_pos)),
            ref.__dict__["_orig_range"](low_rot, high_rot, dim, base, max_pos)[1])


def group_score_max(grouped, method):
    return grouped.max(dim=-1).values


def group_score_sum(grouped, method):
    return grouped.sum(dim=-1)


def identity(x):
    return x


def neox_on_pairs(x, cos, sin):
    return ref.__dict__["_orig_rope_neox"](ref.deinterleave(x), cos, sin)


def no_mutation(cfg, P):
    return cfg, P


# (case, description, cfg/param mutation, module patches)
MUTATIONS = [
    ("ds_v3", "rope on halves, not adjacent pairs (no de-interleave)", no_mutation,
     {"deinterleave": identity}),
    ("ds_v3", "YaRN frequency ramp ignored", no_mutation, {"yarn_inv_freq": yarn_without_ramp}),
    ("ds_v3", "YaRN low not clamped at 0", no_mutation,
     {"yarn_find_correction_range": range_no_low_clamp}),
    ("ds_v3", "softmax scale without m(s, mscale_all_dim)^2", no_mutation,
     {"mla_softmax_scale": plain_mla_scale}),
    ("ds_v3", "kv_b_proj read as [all K; all V]", kv_b_split_in_halves, {}),
    ("ds_v3", "group score = max of the group", no_mutation, {"group_scores": group_score_max}),
    ("ds_v3", "group score = sum of the whole group", no_mutation,
     {"group_scores": group_score_sum}),
    ("ds_v3", "no group limit (n_group 1)", with_cfg(n_group=1, topk_group=1), {}),
    ("ds_v3", "dropped groups filled with 0.0 (HF) instead of -inf", no_mutation,
     {"GROUP_MASK_FILL": 0.0}),
    ("ds_v3", "top-K weights not renormalised", with_cfg(norm_topk_prob=False), {}),
    ("ds_v3", "routed_scaling_factor skipped when renormalising (HF V2 rule)",
     with_cfg(routed_scaling_factor=1.0), {}),
    ("ds_v3", "shared expert dropped", with_cfg(n_shared_experts=None), {}),
    ("ds_v2lite", "YaRN high clamped at dim/2-1 instead of dim-1", no_mutation,
     {"yarn_find_correction_range": range_high_half}),
    ("ds_v2lite", "softmax scale without m(s, mscale_all_dim)^2", no_mutation,
     {"mla_softmax_scale": plain_mla_scale}),
    ("ds_v2lite", "top-K weights renormalised", with_cfg(norm_topk_prob=True), {}),
    ("ds_v2lite", "shared experts dropped", with_cfg(n_shared_experts=None), {}),
    ("ds_v2group", "group score = top-2 sum (noaux_tc rule)", no_mutation,
     {"group_scores": lambda g, m: g.topk(2, dim=-1).values.sum(-1)}),
    ("ds_v2group", "routed_scaling_factor not applied", with_cfg(routed_scaling_factor=1.0), {}),
    ("ds_mscale", "cos/sin not multiplied by m(s, mscale)", no_mutation,
     {"yarn_inv_freq": yarn_without_cos_scale}),
    ("ds_mscale", "official code: m(s, mscale)^2 on softmax scale, none on cos/sin", no_mutation,
     {"yarn_inv_freq": yarn_without_cos_scale, "mla_softmax_scale": official_mscale}),
    ("qwen2", "rope on adjacent pairs, not halves", no_mutation, {"rope_neox": neox_on_pairs}),
    ("qwen2", "query head h reads kv head h % Hkv", kv_head_modulo, {}),
    ("qwen2", "q/k/v biases ignored", drop_qkv_bias, {}),
    ("llama", "llama3 rope scaling ignored", with_cfg(rope_scaling=None), {}),
    ("llama", "rms_norm_eps 1e-6 instead of 1e-5", with_cfg(rms_norm_eps=1e-6), {}),
    ("llama", "query head h reads kv head h % Hkv", kv_head_modulo, {}),
]


def main():
    ref._orig_yarn_inv_freq = ref.yarn_inv_freq
    ref._orig_range = ref.yarn_find_correction_range
    ref._orig_rope_neox = ref.rope_neox
    cache = {}
    for case, what, mutate, patches in MUTATIONS:
        if case not in cache:
            cache[case] = load(case)
        cfg, P, ids, gold = cache[case]
        c, p = mutate(cfg, P)
        with patched(**patches):
            out = ref.forward(c, p, ids, "hf")
        d = (out - gold).abs().max().item()
        verdict = "caught" if d > CATCH else ("same logits" if d < SAME else "WEAK")
        print(f"{case:<11} {d:10.3e}  {verdict:<11} {what}")


if __name__ == "__main__":
    main()
