"""Golden gradients for the C training engine (tests/test_train.c), from float64 autograd.

For each case: a fixed [B, T] batch (tokens, next-token targets with some positions masked out,
per-position loss weights), the loss, and the gradient of the loss with respect to every
parameter, written as tests/golden/grad_<case>/{train.json, batch.txt, grads.safetensors}.
Cases reuse the forward goldens' models (tests/golden/<model>/) except grad_mtp, which has its
own model (config.json + model.safetensors) with an MTP module (num_nextn_predict_layers = 1),
the sequence-wise balance loss (alpha) and signed per-position weights (the GRPO form).

Loss (docs/TRAINING.md):
    L = -sum_t w_t log p(target_t)  +  lambda * (-sum_t w_{t+1} log p_mtp(target_{t+1}))
        + alpha * sum_layers mean_b sum_e f_be P_be
MTP: h' = eh_proj [enorm(emb(token t+1)) ; hnorm(h_main t)], h_main after the final norm (vLLM),
zero embedding at the last position, then one decoder layer, shared_head.norm and lm_head.
Balance loss: f_be = E/(K T) #{t: e chosen}, P_be = mean_t s_te / sum_j s_tj (DeepSeek-V3 eq. 17-20).

Run from the repo root: /usr/bin/python3 tests/reference/make_grad_golden.py [case ...]
Routing margins are checked as in make_golden.py: if some token's choice is within GAP_MIN of a
tie the next data seed is used, so an fp32 implementation routes identically.
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as ref  # noqa: E402
import make_golden as mg  # noqa: E402

GOLDEN = os.path.join(HERE, "..", "golden")
GAP_MIN = 1e-3


def case_mtp_config():
    return mg.deepseek_config(
        True, vocab_size=61, hidden_size=32, intermediate_size=43, moe_intermediate_size=11,
        num_hidden_layers=2, num_attention_heads=2, q_lora_rank=16, kv_lora_rank=12,
        qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6,
        n_routed_experts=8, num_experts_per_tok=2, n_group=2, topk_group=1, n_shared_experts=1,
        first_k_dense_replace=1, norm_topk_prob=True, routed_scaling_factor=2.5,
        scoring_func="sigmoid", topk_method="noaux_tc", num_nextn_predict_layers=1,
        rope_theta=10000.0, rope_scaling=mg.yarn(40, 128, 1.0, 1.0),
        max_position_embeddings=40 * 128)


# name -> (model folder, B, T, aux_alpha, mtp_lambda, signed weights, first data seed)
CASES = {
    "ds_v3": ("ds_v3", 2, 6, 0.0, 0.0, False, 11),
    "ds_v2lite": ("ds_v2lite", 2, 6, 0.0, 0.0, False, 21),
    "ds_v2group": ("ds_v2group", 2, 6, 0.0, 0.0, False, 31),
    "qwen2": ("qwen2", 2, 6, 0.0, 0.0, False, 41),
    "llama": ("llama", 2, 6, 0.0, 0.0, False, 51),
    "mtp": (None, 2, 6, 0.01, 0.3, True, 61),
}


def mtp_specs(cfg):
    """Parameter specs of the MTP module (layer index L = num_hidden_layers)."""
    L, D = cfg["num_hidden_layers"], cfg["hidden_size"]
    pre = f"model.layers.{L}."
    big = dict(cfg, num_hidden_layers=L + 1)
    layer = [s for s in ref.param_specs(big) if s[0].startswith(pre)]
    return ([(pre + "enorm.weight", (D,), "norm"), (pre + "hnorm.weight", (D,), "norm"),
             (pre + "eh_proj.weight", (D, 2 * D), "matrix")] + layer
            + [(pre + "shared_head.norm.weight", (D,), "norm")])


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    back = mg.read_safetensors(os.path.join(folder, "model.safetensors"))
    P = {}
    for n, (dt, shape, raw) in back.items():
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dt == "BF16":
            a = mg.bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            a = np.frombuffer(raw, dtype="<f2").astype("<f4")
        P[n] = torch.from_numpy(a.astype(np.float64).reshape(shape))
    return cfg, P


def make_mtp_model(folder, seed=7001):
    cfg = case_mtp_config()
    g = torch.Generator().manual_seed(seed)
    stored = {}
    for name, shape, kind in ref.param_specs(cfg) + mtp_specs(cfg):
        r = torch.randn(shape, generator=g, dtype=torch.float32)
        w = r * 0.2 if kind == "matrix" else (1.0 + 0.1 * r if kind == "norm" else 0.1 * r)
        stored[name] = ("F32", np.ascontiguousarray(w.numpy().astype("<f4")))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    mg.write_safetensors(os.path.join(folder, "model.safetensors"), stored)


def route_margin(z, cfg, bias):
    gap = math.inf
    bl = bias.tolist() if bias is not None else None
    for row in z.tolist():
        _, _, info = ref.route_scalar(row, cfg, bl)
        gap = min(gap, info["expert_gap"], info["group_gap"])
    return gap


def seq_aux(x, P, pre, cfg):
    """sum_e f_e P_e of one sequence x [T, D] (HF V2 MoEGate seq_aux, V3 score normalisation)."""
    T = x.shape[0]
    E, K = cfg["n_routed_experts"], cfg["num_experts_per_tok"]
    z = ref.linear(x, P[pre + "gate.weight"])
    s = torch.sigmoid(z) if cfg["scoring_func"] == "sigmoid" else torch.softmax(z, dim=-1)
    idx, _ = ref.route(z.detach(), cfg, P.get(pre + "gate.e_score_correction_bias"))
    f = torch.zeros(E, dtype=ref.DT).scatter_add(0, idx.flatten(), torch.ones(T * K, dtype=ref.DT))
    f = f / (T * K / E)
    sp = s / s.sum(-1, keepdim=True)
    return (f * sp.mean(0)).sum()


def layer(h, P, cfg, i, pos, info):
    pre = f"model.layers.{i}."
    eps = cfg["rms_norm_eps"]
    a = ref.rms_norm(h, P[pre + "input_layernorm.weight"], eps)
    attn = ref.mla_forward if ref.is_mla(cfg) else ref.gqa_forward
    h = h + attn(a, P, pre + "self_attn.", cfg, pos, "hf")
    m = ref.rms_norm(h, P[pre + "post_attention_layernorm.weight"], eps)
    if ref.layer_is_moe(cfg, i):
        mp = pre + "mlp."
        z = ref.linear(m, P[mp + "gate.weight"]).detach()
        info["gap"] = min(info["gap"], route_margin(z, cfg, P.get(mp + "gate.e_score_correction_bias")))
        info["aux"].append(seq_aux(m, P, mp, cfg))
        return h + ref.moe_forward(m, P, mp, cfg, "hf")
    return h + ref.swiglu(m, P, pre + "mlp.")


def nll(logits, tgt, w):
    lp = torch.log_softmax(logits, dim=-1)
    out = torch.zeros((), dtype=ref.DT)
    for t, (y, wt) in enumerate(zip(tgt, w)):
        if y >= 0:
            out = out - wt * lp[t, y]
    return out


def train_loss(cfg, P, tokens, targets, weights, alpha, lam):
    L, eps = cfg["num_hidden_layers"], cfg["rms_norm_eps"]
    head = P["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else P["lm_head.weight"]
    info = {"gap": math.inf, "aux": []}
    main = torch.zeros((), dtype=ref.DT)
    mtp = torch.zeros((), dtype=ref.DT)
    for ids, tgt, w in zip(tokens, targets, weights):
        T = len(ids)
        pos = torch.arange(T)
        h = P["model.embed_tokens.weight"][torch.tensor(ids)]
        for i in range(L):
            h = layer(h, P, cfg, i, pos, info)
        xf = ref.rms_norm(h, P["model.norm.weight"], eps)
        main = main + nll(ref.linear(xf, head), tgt, w)
        if lam:
            pre = f"model.layers.{L}."
            e = P["model.embed_tokens.weight"][torch.tensor(ids[1:])]
            e = torch.cat((e, torch.zeros(1, e.shape[1], dtype=ref.DT)))
            cat = torch.cat((ref.rms_norm(e, P[pre + "enorm.weight"], eps),
                             ref.rms_norm(xf, P[pre + "hnorm.weight"], eps)), dim=-1)
            h2 = layer(ref.linear(cat, P[pre + "eh_proj.weight"]), P, cfg, L, pos, info)
            y = ref.rms_norm(h2, P[pre + "shared_head.norm.weight"], eps)
            mtp = mtp + nll(ref.linear(y, head), list(tgt[1:]) + [-1], list(w[1:]) + [0.0])
    aux = alpha * sum(info["aux"]) / len(tokens) if info["aux"] else torch.zeros((), dtype=ref.DT)
    return main, mtp, aux, info["gap"]


def draw_batch(cfg, B, T, seed, signed):
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, cfg["vocab_size"], (B, T + 1), generator=g)
    tokens, targets = seq[:, :T].tolist(), seq[:, 1:].tolist()
    drop = torch.rand(B, T, generator=g) < 0.25
    targets = [[-1 if drop[b, t] else targets[b][t] for t in range(T)] for b in range(B)]
    count = sum(y >= 0 for row in targets for y in row)
    if signed:
        w = (torch.rand(B, T, generator=g) * 1.5 - 0.5) / count
        weights = [[float(np.float32(w[b, t])) if targets[b][t] >= 0 else 0.0 for t in range(T)]
                   for b in range(B)]
    else:
        weights = [[float(np.float32(1.0 / count)) if y >= 0 else 0.0 for y in row] for row in targets]
    return tokens, targets, weights


def build(name):
    folder, B, T, alpha, lam, signed, seed0 = CASES[name]
    out = os.path.join(GOLDEN, "grad_" + name)
    os.makedirs(out, exist_ok=True)
    if folder is None:
        make_mtp_model(out)
        model_dir = out
    else:
        model_dir = os.path.join(GOLDEN, folder)
    cfg, P = load(model_dir)
    for seed in range(seed0, seed0 + 100):
        tokens, targets, weights = draw_batch(cfg, B, T, seed, signed)
        for t in P.values():
            t.requires_grad_(True)
            t.grad = None
        main, mtp, aux, gap = train_loss(cfg, P, tokens, targets, weights, alpha, lam)
        if gap >= GAP_MIN:
            break
    else:
        raise RuntimeError(f"{name}: no batch with clean routing")
    total = main + lam * mtp + aux
    total.backward()
    stored = {"loss": ("F32", np.array([main.item()], dtype="<f4")),
              "mtp_loss": ("F32", np.array([mtp.item()], dtype="<f4")),
              "aux_loss": ("F32", np.array([aux.item()], dtype="<f4"))}
    for n, t in P.items():
        gr = t.grad if t.grad is not None else torch.zeros_like(t)
        stored[n] = ("F32", np.ascontiguousarray(gr.detach().numpy().astype("<f4")))
    mg.write_safetensors(os.path.join(out, "grads.safetensors"), stored)
    with open(os.path.join(out, "train.json"), "w") as f:
        json.dump({"model": folder or ".", "B": B, "T": T, "aux_alpha": alpha, "mtp_lambda": lam,
                   "seed": seed}, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "batch.txt"), "w") as f:
        flat = lambda rows: " ".join(str(v) for r in rows for v in r)  # noqa: E731
        f.write(flat(tokens) + "\n" + flat(targets) + "\n")
        f.write(" ".join(repr(v) for r in weights for v in r) + "\n")
    gmax = max(t.grad.abs().max().item() for t in P.values() if t.grad is not None)
    print(f"grad_{name}: seed {seed}, loss {main.item():.6f} mtp {mtp.item():.6f} aux {aux.item():.3e}, "
          f"routing margin {gap:.2e}, max|grad| {gmax:.3e}")


def main(argv):
    torch.set_num_threads(1)
    names = argv or list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit(f"make_grad_golden: unknown case {n!r} (cases: {' '.join(CASES)})")
        build(n)


if __name__ == "__main__":
    main(sys.argv[1:])
