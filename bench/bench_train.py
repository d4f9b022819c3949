"""PyTorch side of bench/bench_train.c: one training step (forward, backward, AdamW) of the same
DeepSeek-MoE config (bench/bench_train.json) on the same [B, T] batch shape, batched the way HF
modeling_deepseek does it (MLA decompressed attention, sigmoid router with a selection bias,
per-expert index gather/index_add, shared expert). Modes: fp32, and bf16 torch.autocast("cpu").

    /usr/bin/python3 bench/bench_train.py --threads 2 --batch 8 --seq 128 --steps 5 [--modes fp32,bf16]

Prints one line per mode: "torch <mode>: <tokens/s> tok/s <ms> ms/step best <ms> ms cpu <ms> ms/step" (median
wall time, best wall time, median process CPU time of all threads). Debian's torch links the
BLAS selected by update-alternatives; run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/
openblas-openmp for OpenBLAS fp32 (bench_train.c does both).
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F


def rms(x, w, eps=1e-6):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def build(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    D, V, H = cfg["hidden_size"], cfg["vocab_size"], cfg["num_attention_heads"]
    Rq, Rkv = cfg["q_lora_rank"], cfg["kv_lora_rank"]
    Dn, Dr, Dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    E, Fe, Fd = cfg["n_routed_experts"], cfg["moe_intermediate_size"], cfg["intermediate_size"]
    P = {}

    def mat(n, *shape):
        P[n] = (torch.randn(*shape, generator=g) * 0.02).requires_grad_()

    def ones(n, d):
        P[n] = torch.ones(d).requires_grad_()
    mat("embed", V, D)
    for l in range(cfg["num_hidden_layers"]):
        p = f"l{l}."
        ones(p + "an", D), ones(p + "fn", D)
        mat(p + "qa", Rq, D), ones(p + "qan", Rq), mat(p + "qb", H * (Dn + Dr), Rq)
        mat(p + "kva", Rkv + Dr, D), ones(p + "kvn", Rkv), mat(p + "kvb", H * (Dn + Dv), Rkv)
        mat(p + "o", D, H * Dv)
        if l < cfg["first_k_dense_replace"]:
            mat(p + "g", Fd, D), mat(p + "u", Fd, D), mat(p + "d", D, Fd)
        else:
            mat(p + "router", E, D)
            P[p + "bias"] = torch.zeros(E)
            for e in range(E):
                mat(p + f"e{e}g", Fe, D), mat(p + f"e{e}u", Fe, D), mat(p + f"e{e}d", D, Fe)
            S = cfg["n_shared_experts"] * Fe
            mat(p + "sg", S, D), mat(p + "su", S, D), mat(p + "sd", D, S)
    ones("norm", D)
    mat("head", V, D)
    return P


def rope_tables(T, Dr, theta):
    inv = 1.0 / theta ** (torch.arange(0, Dr, 2, dtype=torch.float32) / Dr)
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    return ang.cos(), ang.sin()


def rope(x, cos, sin):  # adjacent pairs, x [..., T, Dr]
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), -1).flatten(-2)


def swiglu(x, g, u, d):
    return F.linear(F.silu(F.linear(x, g)) * F.linear(x, u), d)


def forward(cfg, P, ids, tgt, cos, sin):
    B, T = ids.shape
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    Dn, Dr, Dv, Rkv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    E, K = cfg["n_routed_experts"], cfg["num_experts_per_tok"]
    tau = (Dn + Dr) ** -0.5
    mask = torch.full((T, T), float("-inf")).triu(1)
    h = P["embed"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"l{l}."
        x = rms(h, P[p + "an"])
        q = F.linear(rms(F.linear(x, P[p + "qa"]), P[p + "qan"]), P[p + "qb"]).view(B, T, H, Dn + Dr).transpose(1, 2)
        kv = F.linear(x, P[p + "kva"])
        c, kpe = rms(kv[..., :Rkv], P[p + "kvn"]), kv[..., Rkv:]
        kvd = F.linear(c, P[p + "kvb"]).view(B, T, H, Dn + Dv).transpose(1, 2)
        qr = rope(q[..., Dn:], cos, sin)
        kr = rope(kpe, cos, sin)[:, None].expand(B, H, T, Dr)
        qq = torch.cat((q[..., :Dn], qr), -1)
        kk = torch.cat((kvd[..., :Dn], kr), -1)
        att = torch.softmax((qq @ kk.transpose(-1, -2)) * tau + mask, dim=-1)
        o = (att @ kvd[..., Dn:]).transpose(1, 2).reshape(B, T, H * Dv)
        h = h + F.linear(o, P[p + "o"])
        x = rms(h, P[p + "fn"])
        if l < cfg["first_k_dense_replace"]:
            h = h + swiglu(x, P[p + "g"], P[p + "u"], P[p + "d"])
            continue
        xf = x.reshape(B * T, D)
        s = torch.sigmoid(F.linear(xf, P[p + "router"]).float())
        idx = (s + P[p + "bias"]).topk(K, dim=-1).indices
        w = s.gather(1, idx)
        w = w / (w.sum(-1, keepdim=True) + 1e-20) * cfg["routed_scaling_factor"]
        y = swiglu(xf, P[p + "sg"], P[p + "su"], P[p + "sd"])
        for e in range(E):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel():
                out = swiglu(xf[rows], P[p + f"e{e}g"], P[p + f"e{e}u"], P[p + f"e{e}d"])
                y = y.index_add(0, rows, (out * w[rows, slot][:, None]).to(y.dtype))
        h = h + y.view(B, T, D)
    logits = F.linear(rms(h, P["norm"]), P["head"])
    return F.cross_entropy(logits.float().reshape(B * T, -1), tgt.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--modes", default="fp32,bf16")
    ap.add_argument("--config", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_train.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        cfg = json.load(f)
    P = build(cfg)
    params = [t for n, t in P.items() if t.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    g = torch.Generator().manual_seed(1)
    seq = torch.randint(0, cfg["vocab_size"], (a.batch, a.seq + 1), generator=g)
    ids, tgt = seq[:, :-1], seq[:, 1:]
    cos, sin = rope_tables(a.seq, cfg["qk_rope_head_dim"], cfg["rope_theta"])
    for mode in a.modes.split(","):
        times, cpu = [], []
        for step in range(a.steps + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=(mode == "bf16")):
                loss = forward(cfg, P, ids, tgt, cos, sin)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if step:  # the first step warms up allocators and oneDNN kernels
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        med, cmed = sorted(times)[len(times) // 2], sorted(cpu)[len(cpu) // 2]
        print(f"torch {mode}: {a.batch * a.seq / med:.1f} tok/s {1000 * med:.1f} ms/step best {1000 * min(times):.1f} ms "
              f"cpu {1000 * cmed:.1f} ms/step loss {loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
