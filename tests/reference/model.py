"""Float64 reference forward pass for the model families r1 runs.

Families: deepseek_v3 / deepseek_v2 (MLA attention + DeepSeekMoE), qwen2 and llama (GQA attention,
the R1-Distill students). Semantics follow HF transformers: the DeepSeek remote code
`modeling_deepseek.py` (V2 and V3), `modeling_qwen2.py` and `modeling_llama.py`. Where the
references disagree we pick one and say so at the spot (search for "CHOICE"):
  * experts outside the kept groups are masked with -inf (official code, llama.cpp), not 0.0 (HF);
  * routed_scaling_factor is applied whether or not the top-K weights are renormalised (official
    code, llama.cpp, HF V3); HF V2 applies it only when it does not renormalise;
  * everything runs in float64, where HF uses fp32 for norms, rope tables, router and softmax.

Every module is a plain function of (activations, params dict, config) with no hidden state, so
the same code can later run under torch.autograd to produce golden gradients. The pieces most
likely to hide a convention bug have a second, independently written form selected with
impl="alt" (absorbed MLA, complex-number RoPE on the original pairing, scalar rope frequencies,
scalar router, per-head causal loops); make_golden.py requires the two to agree to 1e-10.

Dimensions (docs/glossary): T tokens, D hidden, V vocab, H heads, Hkv kv heads, Dh head dim,
Rq/Rkv lora ranks, Dn/Dr/Dv MLA nope/rope/value head dims, E routed experts, K active experts,
G expert groups, TG kept groups, I ffn width.
"""
import math

import torch

DT = torch.float64

# HF builds q_a_layernorm and kv_a_layernorm as DeepseekV3RMSNorm(width) without passing eps,
# so they use the class default 1e-6 whatever rms_norm_eps says.
MLA_INNER_NORM_EPS = 1e-6

MLA_TYPES = ("deepseek_v3", "deepseek_v2")
GQA_TYPES = ("qwen2", "llama")


# ---------------------------------------------------------------- configuration helpers

def is_mla(cfg):
    return cfg["model_type"] in MLA_TYPES


def head_dim(cfg):
    """Dh for the GQA families: an explicit head_dim key wins, else D / H (HF)."""
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def layer_is_moe(cfg, i):
    """HF DeepseekV3DecoderLayer: MoE iff experts exist, i >= first_k_dense_replace and
    i % moe_layer_freq == 0."""
    return (is_mla(cfg) and cfg.get("n_routed_experts") is not None
            and i >= cfg["first_k_dense_replace"] and i % cfg["moe_layer_freq"] == 0)


def n_shared(cfg):
    """Number of shared experts; null and 0 both mean none."""
    return cfg.get("n_shared_experts") or 0


def rope_kind(cfg):
    rs = cfg.get("rope_scaling")
    if rs is None:
        return "default"
    return rs.get("rope_type", rs.get("type"))


def check_config(cfg):
    """Refuse configurations this reference does not model, rather than guess."""
    mt = cfg["model_type"]
    if mt not in MLA_TYPES + GQA_TYPES:
        raise ValueError(f"model_type {mt!r} not supported")
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError("only hidden_act silu is modelled")
    kind = rope_kind(cfg)
    if is_mla(cfg):
        if kind not in ("default", "yarn"):
            raise ValueError(f"deepseek rope_scaling {kind!r} not modelled")
        if cfg.get("attention_bias"):
            raise ValueError("deepseek attention_bias=true not modelled")
        if cfg["qk_rope_head_dim"] % 2:
            raise ValueError("qk_rope_head_dim must be even")
        if cfg.get("n_routed_experts") is not None:
            E, G, TG, K = (cfg["n_routed_experts"], cfg["n_group"], cfg["topk_group"],
                           cfg["num_experts_per_tok"])
            method = cfg["topk_method"]
            if method not in ("greedy", "group_limited_greedy", "noaux_tc"):
                raise ValueError(f"topk_method {method!r} not modelled")
            if cfg["scoring_func"] not in ("sigmoid", "softmax"):
                raise ValueError(f"scoring_func {cfg['scoring_func']!r} not modelled")
            if E % G:
                raise ValueError("n_routed_experts must be a multiple of n_group")
            if method == "noaux_tc" and E // G < 2:
                raise ValueError("noaux_tc scores a group by its top-2: groups need >= 2 experts")
            if method != "greedy" and TG * (E // G) < K:
                raise ValueError("the kept groups hold fewer than num_experts_per_tok experts")
    else:
        if kind not in ("default", "llama3"):
            raise ValueError(f"{mt} rope_scaling {kind!r} not modelled")
        if cfg["num_attention_heads"] % cfg["num_key_value_heads"]:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        if head_dim(cfg) % 2:
            raise ValueError("head_dim must be even")
        if cfg.get("mlp_bias"):
            raise ValueError("mlp_bias=true not modelled")


def has_qkv_bias(cfg):
    """Qwen2 always has q/k/v biases; llama has them (and an o_proj bias) iff attention_bias."""
    return cfg["model_type"] == "qwen2" or bool(cfg.get("attention_bias"))


def has_o_bias(cfg):
    return cfg["model_type"] == "llama" and bool(cfg.get("attention_bias"))


def param_specs(cfg):
    """Every tensor the model reads, in a fixed order: list of (HF name, shape, kind).

    kind: "matrix" (Linear weight [out, in] or embedding), "norm" (RMSNorm weight),
    "bias" (Linear bias) or "router_bias" (e_score_correction_bias, kept fp32 in checkpoints).
    """
    check_config(cfg)
    D, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    specs = [("model.embed_tokens.weight", (V, D), "matrix")]

    def mlp(pre, width):
        specs.append((pre + "gate_proj.weight", (width, D), "matrix"))
        specs.append((pre + "up_proj.weight", (width, D), "matrix"))
        specs.append((pre + "down_proj.weight", (D, width), "matrix"))

    for i in range(L):
        pre = f"model.layers.{i}."
        specs.append((pre + "input_layernorm.weight", (D,), "norm"))
        a = pre + "self_attn."
        H = cfg["num_attention_heads"]
        if is_mla(cfg):
            Dn, Dr, Dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
            Rq, Rkv = cfg.get("q_lora_rank"), cfg["kv_lora_rank"]
            if Rq:
                specs.append((a + "q_a_proj.weight", (Rq, D), "matrix"))
                specs.append((a + "q_a_layernorm.weight", (Rq,), "norm"))
                specs.append((a + "q_b_proj.weight", (H * (Dn + Dr), Rq), "matrix"))
            else:
                specs.append((a + "q_proj.weight", (H * (Dn + Dr), D), "matrix"))
            specs.append((a + "kv_a_proj_with_mqa.weight", (Rkv + Dr, D), "matrix"))
            specs.append((a + "kv_a_layernorm.weight", (Rkv,), "norm"))
            specs.append((a + "kv_b_proj.weight", (H * (Dn + Dv), Rkv), "matrix"))
            specs.append((a + "o_proj.weight", (D, H * Dv), "matrix"))
        else:
            Hkv, Dh = cfg["num_key_value_heads"], head_dim(cfg)
            for proj, rows in (("q_proj", H * Dh), ("k_proj", Hkv * Dh), ("v_proj", Hkv * Dh)):
                specs.append((a + proj + ".weight", (rows, D), "matrix"))
                if has_qkv_bias(cfg):
                    specs.append((a + proj + ".bias", (rows,), "bias"))
            specs.append((a + "o_proj.weight", (D, H * Dh), "matrix"))
            if has_o_bias(cfg):
                specs.append((a + "o_proj.bias", (D,), "bias"))
        specs.append((pre + "post_attention_layernorm.weight", (D,), "norm"))
        m = pre + "mlp."
        if layer_is_moe(cfg, i):
            E, Im = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
            specs.append((m + "gate.weight", (E, D), "matrix"))
            if cfg["topk_method"] == "noaux_tc":
                specs.append((m + "gate.e_score_correction_bias", (E,), "router_bias"))
            for e in range(E):
                mlp(f"{m}experts.{e}.", Im)
            if n_shared(cfg):
                mlp(m + "shared_experts.", n_shared(cfg) * Im)
        else:
            mlp(m, cfg["intermediate_size"])
    specs.append(("model.norm.weight", (D,), "norm"))
    if not cfg.get("tie_word_embeddings", False):
        specs.append(("lm_head.weight", (V, D), "matrix"))
    return specs


# ---------------------------------------------------------------- small building blocks

def linear(x, w, b=None):
    """y = x W^T (+ b); W is [out, in] as stored."""
    y = x @ w.transpose(0, 1)
    return y if b is None else y + b


def rms_norm(x, w, eps):
    """HF order: normalise, then scale by the weight. x [..., n], w [n]."""
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def silu(x):
    return x * torch.sigmoid(x)


def swiglu(x, P, pre):
    """down( silu(gate x) * up x ); x [T, D]."""
    g = linear(x, P[pre + "gate_proj.weight"])
    u = linear(x, P[pre + "up_proj.weight"])
    return linear(silu(g) * u, P[pre + "down_proj.weight"])


def causal_mask(T):
    """[T, T] additive mask: 0 where key s <= query t, -inf above the diagonal."""
    return torch.full((T, T), float("-inf"), dtype=DT).triu(1)


def softmax_by_hand(a):
    """Softmax over the last dim written out, for the alt paths."""
    e = torch.exp(a - a.max(-1, keepdim=True).values)
    return e / e.sum(-1, keepdim=True)


# ---------------------------------------------------------------- RoPE, HF form

def default_inv_freq(dim, theta):
    """f_j = 1 / theta^(2j/dim), j = 0..dim/2-1 (HF _compute_default_rope_parameters)."""
    return 1.0 / theta ** (torch.arange(0, dim, 2, dtype=DT) / dim)


def yarn_find_correction_dim(num_rotations, dim, base, max_pos):
    return dim * math.log(max_pos / (num_rotations * 2 * math.pi)) / (2 * math.log(base))


def yarn_find_correction_range(low_rot, high_rot, dim, base, max_pos):
    """floor / ceil, then clamp to [0, dim-1]. Note dim is the full rope width, while the ramp
    runs over dim/2 pair indices, so high may exceed the last pair index (HF behaviour)."""
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_pos))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_pos))
    return max(low, 0), min(high, dim - 1)


def yarn_get_mscale(scale=1.0, mscale=1.0):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_linear_ramp_mask(low, high, n):
    if low == high:
        high += 0.001  # HF: avoid a division by zero
    ramp = (torch.arange(n, dtype=DT) - low) / (high - low)
    return torch.clamp(ramp, 0, 1)


def yarn_settings(rs):
    """rope_scaling fields with the defaults of HF DeepseekV3YarnRotaryEmbedding."""
    return dict(factor=rs["factor"],
                L0=rs.get("original_max_position_embeddings", 4096),
                beta_fast=rs.get("beta_fast", 32),
                beta_slow=rs.get("beta_slow", 1),
                mscale=rs.get("mscale", 1),
                mscale_all_dim=rs.get("mscale_all_dim", 0))


def yarn_inv_freq(dim, base, rs):
    """HF DeepseekV3YarnRotaryEmbedding._set_cos_sin_cache: returns (inv_freq [dim/2],
    cos/sin multiplier m(s, mscale) / m(s, mscale_all_dim))."""
    y = yarn_settings(rs)
    pos_exp = torch.arange(0, dim, 2, dtype=DT) / dim
    freq_extra = 1.0 / base ** pos_exp
    freq_inter = 1.0 / (y["factor"] * base ** pos_exp)
    low, high = yarn_find_correction_range(y["beta_fast"], y["beta_slow"], dim, base, y["L0"])
    keep = 1.0 - yarn_linear_ramp_mask(low, high, dim // 2)  # 1 = keep the original frequency
    inv_freq = freq_inter * (1 - keep) + freq_extra * keep
    scale = (yarn_get_mscale(y["factor"], y["mscale"])
             / yarn_get_mscale(y["factor"], y["mscale_all_dim"]))
    return inv_freq, float(scale)


def llama3_inv_freq(dim, base, rs):
    """HF _compute_llama3_parameters (attention factor 1)."""
    inv_freq = default_inv_freq(dim, base)
    factor = rs["factor"]
    low_ff, high_ff = rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_ctx / low_ff
    high_freq_wavelen = old_ctx / high_ff
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_ctx / wavelen - low_ff) / (high_ff - low_ff)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, scaled), 1.0


def rope_inv_freq(cfg, dim):
    """(inv_freq [dim/2], cos/sin multiplier) for this config, HF form."""
    theta = cfg.get("rope_theta", 10000.0)
    kind = rope_kind(cfg)
    if kind == "default":
        return default_inv_freq(dim, theta), 1.0
    if kind == "yarn":
        return yarn_inv_freq(dim, theta, cfg["rope_scaling"])
    if kind == "llama3":
        return llama3_inv_freq(dim, theta, cfg["rope_scaling"])
    raise ValueError(f"rope type {kind!r}")


def rope_cos_sin(inv_freq, pos, scale):
    """HF tables: emb = cat(freqs, freqs); returns cos, sin [T, dim], both times scale."""
    freqs = torch.outer(pos.to(DT), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scale, emb.sin() * scale


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_neox(x, cos, sin):
    """x [..., T, dim] rotated as pairs (j, j + dim/2): x cos + rotate_half(x) sin."""
    return x * cos + rotate_half(x) * sin


def deinterleave(x):
    """[x0, x1, x2, x3, ...] -> [x0, x2, ..., x1, x3, ...] (HF DeepSeek view(d/2, 2).transpose)."""
    d = x.shape[-1]
    return x.reshape(*x.shape[:-1], d // 2, 2).transpose(-1, -2).reshape(*x.shape[:-1], d)


# ---------------------------------------------------------------- RoPE, alt form

def alt_rope_freqs(cfg, dim):
    """Same frequencies computed pair by pair with scalar math; returns (list, multiplier)."""
    theta = cfg.get("rope_theta", 10000.0)
    n = dim // 2
    base = [theta ** (-(2.0 * j) / dim) for j in range(n)]
    kind = rope_kind(cfg)
    if kind == "default":
        return base, 1.0
    rs = cfg["rope_scaling"]
    if kind == "yarn":
        y = yarn_settings(rs)
        s = y["factor"]

        def corr(r):  # pair-dimension at which the wavelength spans r rotations of L0
            return dim * math.log(y["L0"] / (2 * math.pi * r)) / (2 * math.log(theta))
        lo = max(math.floor(corr(y["beta_fast"])), 0)
        hi = min(math.ceil(corr(y["beta_slow"])), dim - 1)
        span = (hi - lo) if hi != lo else 0.001
        out = []
        for j in range(n):
            r = min(max((j - lo) / span, 0.0), 1.0)  # 0: keep f_j, 1: use f_j / s
            out.append(base[j] / s * r + base[j] * (1.0 - r))

        def m(mu):
            return 1.0 + 0.1 * mu * math.log(s) if s > 1 else 1.0
        return out, m(y["mscale"]) / m(y["mscale_all_dim"])
    if kind == "llama3":
        L0, s = rs["original_max_position_embeddings"], rs["factor"]
        lf, hf = rs["low_freq_factor"], rs["high_freq_factor"]
        out = []
        for f in base:
            wl = 2 * math.pi / f
            if wl < L0 / hf:
                out.append(f)
            elif wl > L0 / lf:
                out.append(f / s)
            else:
                t = (L0 / wl - lf) / (hf - lf)
                out.append((1 - t) * f / s + t * f)
        return out, 1.0
    raise ValueError(f"rope type {kind!r}")


def rope_complex(x, freqs, pos, scale, pairing):
    """Rotate x [..., T, dim] as complex numbers z_j = x_a + i x_b times scale * e^{i pos f_j}.
    pairing "adjacent": (a, b) = (2j, 2j+1), the DeepSeek checkpoint layout (official code,
    llama.cpp ROPE_TYPE_NORM); "halves": (a, b) = (j, j + dim/2), NEOX (qwen2, llama)."""
    d = x.shape[-1]
    if pairing == "adjacent":
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., : d // 2], x[..., d // 2:]
    ang = torch.outer(pos.to(DT), torch.tensor(freqs, dtype=DT))  # [T, dim/2]
    rot = torch.polar(torch.full_like(ang, scale), ang)
    z = torch.complex(a, b) * rot
    if pairing == "adjacent":
        return torch.stack((z.real, z.imag), dim=-1).reshape(x.shape)
    return torch.cat((z.real, z.imag), dim=-1)


# ---------------------------------------------------------------- MLA attention

def mla_softmax_scale(cfg):
    """tau = (Dn + Dr)^-1/2, times m(s, mscale_all_dim)^2 only when rope_scaling has a nonzero
    mscale_all_dim (HF DeepseekV3Attention.__init__)."""
    tau = (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5
    rs = cfg.get("rope_scaling")
    if rs is not None:
        mad = rs.get("mscale_all_dim", 0)
        if mad:
            m = yarn_get_mscale(rs["factor"], mad)
            tau = tau * m * m
    return tau


def mla_forward(x, P, pre, cfg, pos, impl="hf"):
    """Multi-head latent attention over a whole causal sequence. x [T, D] (already normed),
    returns [T, D]. impl "hf": decompressed K/V with HF's de-interleaved rope;
    "alt": absorbed form over the latent with rope on adjacent pairs."""
    T = x.shape[0]
    H = cfg["num_attention_heads"]
    Dn, Dr, Dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    Rkv = cfg["kv_lora_rank"]
    if cfg.get("q_lora_rank"):
        cq = rms_norm(linear(x, P[pre + "q_a_proj.weight"]), P[pre + "q_a_layernorm.weight"],
                      MLA_INNER_NORM_EPS)
        q = linear(cq, P[pre + "q_b_proj.weight"])
    else:
        q = linear(x, P[pre + "q_proj.weight"])
    q = q.reshape(T, H, Dn + Dr)
    q_nope, q_pe = q[..., :Dn], q[..., Dn:]                   # [T, H, Dn], [T, H, Dr]
    ckv = linear(x, P[pre + "kv_a_proj_with_mqa.weight"])      # [T, Rkv + Dr]
    c = rms_norm(ckv[:, :Rkv], P[pre + "kv_a_layernorm.weight"], MLA_INNER_NORM_EPS)
    k_pe = ckv[:, Rkv:]                                        # [T, Dr], shared by all heads
    tau = mla_softmax_scale(cfg)
    w_kvb = P[pre + "kv_b_proj.weight"]                        # [H (Dn + Dv), Rkv]
    if impl == "hf":
        kv = linear(c, w_kvb).reshape(T, H, Dn + Dv)           # per head [K_i ; V_i] rows
        k_nope, v = kv[..., :Dn], kv[..., Dn:]
        inv_freq, scale = rope_inv_freq(cfg, Dr)
        cos, sin = rope_cos_sin(inv_freq, pos, scale)          # [T, Dr]
        qr = rope_neox(deinterleave(q_pe.transpose(0, 1)), cos, sin)    # [H, T, Dr]
        kr = rope_neox(deinterleave(k_pe), cos, sin)                     # [T, Dr]
        qh = torch.cat((q_nope.transpose(0, 1), qr), dim=-1)             # [H, T, Dn + Dr]
        kh = torch.cat((k_nope.transpose(0, 1), kr.expand(H, T, Dr)), dim=-1)
        att = qh @ kh.transpose(-1, -2) * tau + causal_mask(T)           # [H, T, T]
        p = torch.softmax(att, dim=-1)
        o = (p @ v.transpose(0, 1)).transpose(0, 1).reshape(T, H * Dv)
    else:
        w = w_kvb.reshape(H, Dn + Dv, Rkv)
        w_uk, w_uv = w[:, :Dn, :], w[:, Dn:, :]                 # [H, Dn, Rkv], [H, Dv, Rkv]
        q_hat = torch.einsum("thn,hnr->thr", q_nope, w_uk)     # W_UK absorbed into the query
        freqs, scale = alt_rope_freqs(cfg, Dr)
        qr = rope_complex(q_pe.transpose(0, 1), freqs, pos, scale, "adjacent").transpose(0, 1)
        kr = rope_complex(k_pe, freqs, pos, scale, "adjacent")
        rows = []
        for t in range(T):                                     # query t sees keys 0..t
            a = tau * (q_hat[t] @ c[: t + 1].transpose(0, 1) + qr[t] @ kr[: t + 1].transpose(0, 1))
            o_lat = softmax_by_hand(a) @ c[: t + 1]            # [H, Rkv]
            rows.append(torch.einsum("hr,hvr->hv", o_lat, w_uv).reshape(H * Dv))
        o = torch.stack(rows)
    return linear(o, P[pre + "o_proj.weight"])


# ---------------------------------------------------------------- GQA attention

def gqa_forward(x, P, pre, cfg, pos, impl="hf"):
    """Grouped-query attention with NEOX rope (qwen2, llama). x [T, D], returns [T, D].
    Query head h reads kv head h // (H / Hkv) (HF repeat_kv)."""
    T = x.shape[0]
    H, Hkv, Dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    rep = H // Hkv
    bias = has_qkv_bias(cfg)
    q = linear(x, P[pre + "q_proj.weight"], P[pre + "q_proj.bias"] if bias else None)
    k = linear(x, P[pre + "k_proj.weight"], P[pre + "k_proj.bias"] if bias else None)
    v = linear(x, P[pre + "v_proj.weight"], P[pre + "v_proj.bias"] if bias else None)
    q = q.reshape(T, H, Dh).transpose(0, 1)      # [H, T, Dh]
    k = k.reshape(T, Hkv, Dh).transpose(0, 1)    # [Hkv, T, Dh]
    v = v.reshape(T, Hkv, Dh).transpose(0, 1)
    scale_qk = Dh ** -0.5
    if impl == "hf":
        inv_freq, scale = rope_inv_freq(cfg, Dh)
        cos, sin = rope_cos_sin(inv_freq, pos, scale)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        k = k[:, None].expand(Hkv, rep, T, Dh).reshape(H, T, Dh)
        v = v[:, None].expand(Hkv, rep, T, Dh).reshape(H, T, Dh)
        p = torch.softmax(q @ k.transpose(-1, -2) * scale_qk + causal_mask(T), dim=-1)
        o = (p @ v).transpose(0, 1).reshape(T, H * Dh)
    else:
        freqs, scale = alt_rope_freqs(cfg, Dh)
        q = rope_complex(q, freqs, pos, scale, "halves")
        k = rope_complex(k, freqs, pos, scale, "halves")
        rows = []
        for t in range(T):
            heads = []
            for h in range(H):
                g = h // rep
                p = softmax_by_hand(scale_qk * (k[g, : t + 1] @ q[h, t]))
                heads.append(p @ v[g, : t + 1])
            rows.append(torch.cat(heads))
        o = torch.stack(rows)
    return linear(o, P[pre + "o_proj.weight"], P[pre + "o_proj.bias"] if has_o_bias(cfg) else None)


# ---------------------------------------------------------------- MoE router

# CHOICE: experts of dropped groups get -inf, like the official code (commit 1398800) and
# llama.cpp; HF fills 0.0, which differs only when a kept biased score is negative.
GROUP_MASK_FILL = float("-inf")


def group_scores(grouped, method):
    """grouped [T, G, E/G] selection scores -> [T, G]: noaux_tc sums each group's top-2,
    group_limited_greedy takes its max."""
    if method == "noaux_tc":
        return grouped.topk(2, dim=-1).values.sum(-1)
    return grouped.max(dim=-1).values


def route(z, cfg, bias):
    """Top-K expert choice for each token. z [T, E] router logits, bias [E] or None.
    Returns (idx [T, K] long, w [T, K]). HF MoEGate (V2 and V3) except for the CHOICEs."""
    T, E = z.shape
    K, G, TG = cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"]
    method = cfg["topk_method"]
    s = torch.sigmoid(z) if cfg["scoring_func"] == "sigmoid" else torch.softmax(z, dim=-1)
    if (bias is not None) != (method == "noaux_tc"):
        raise ValueError("e_score_correction_bias exists iff topk_method is noaux_tc")
    choice = s + bias if method == "noaux_tc" else s           # bias steers selection only
    # HF "greedy" ignores n_group; the grouped methods with G == 1 keep every expert.
    if method != "greedy" and G > 1:
        gscore = group_scores(choice.reshape(T, G, E // G), method)
        keep = torch.zeros(T, G, dtype=torch.bool)
        keep = keep.scatter(1, gscore.topk(TG, dim=-1).indices, True)
        keep = keep[:, :, None].expand(T, G, E // G).reshape(T, E)
        choice = choice.masked_fill(~keep, GROUP_MASK_FILL)
    idx = choice.topk(K, dim=-1).indices
    w = s.gather(1, idx)                                       # unbiased scores weight
    if cfg["norm_topk_prob"] and K > 1:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    # CHOICE: always scale, as the official code, llama.cpp and HF V3 do. HF V2 scales only when
    # it does not renormalise; our configs pair norm_topk_prob=true only with sigmoid (V3) models.
    w = w * cfg["routed_scaling_factor"]
    return idx, w


def route_scalar(z, cfg, bias):
    """Alt router for one token from Python floats. Returns (experts, weights, info) where info
    holds the selection margins and whether the group limit changed the choice."""
    E = len(z)
    K, G, TG = cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"]
    method = cfg["topk_method"]
    if cfg["scoring_func"] == "sigmoid":
        s = [1.0 / (1.0 + math.exp(-v)) for v in z]
    else:
        mx = max(z)
        ex = [math.exp(v - mx) for v in z]
        s = [v / sum(ex) for v in ex]
    b = [s[e] + bias[e] for e in range(E)] if method == "noaux_tc" else list(s)

    def ranked(vals, among):
        return sorted(among, key=lambda i: (-vals[i], i))

    info = {"group_gap": math.inf, "expert_gap": math.inf, "mask_changed": False}
    cand = list(range(E))
    if method != "greedy" and G > 1:
        per = E // G
        gs = []
        for g in range(G):
            members = sorted((b[e] for e in range(g * per, (g + 1) * per)), reverse=True)
            gs.append(members[0] + members[1] if method == "noaux_tc" else members[0])
        order = ranked(gs, range(G))
        info["group_gap"] = gs[order[TG - 1]] - gs[order[TG]] if TG < G else math.inf
        kept = set(order[:TG])
        cand = [e for e in range(E) if e // per in kept]
    order = ranked(b, cand)
    top = order[:K]
    if len(order) > K:
        info["expert_gap"] = b[order[K - 1]] - b[order[K]]
    info["mask_changed"] = set(top) != set(ranked(b, range(E))[:K])
    info["experts"] = top
    w = [s[e] for e in top]
    if cfg["norm_topk_prob"] and K > 1:
        tot = sum(w) + 1e-20
        w = [v / tot for v in w]
    w = [v * cfg["routed_scaling_factor"] for v in w]
    return top, w, info


def moe_forward(x, P, pre, cfg, impl="hf", trace=None):
    """DeepSeekMoE: y = sum_k w_k expert_{idx_k}(x) + shared(x). x [T, D], returns [T, D].
    trace, when a list, receives one dict per call with the selection and its margins."""
    T, D = x.shape
    z = linear(x, P[pre + "gate.weight"])                      # [T, E]
    bias = P.get(pre + "gate.e_score_correction_bias")
    if impl == "hf":
        idx, w = route(z, cfg, bias)
        y = torch.zeros(T, D, dtype=DT)
        for e in range(cfg["n_routed_experts"]):               # HF moe_infer: batch per expert
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel():
                out = swiglu(x[rows], P, f"{pre}experts.{e}.")
                y = y.index_add(0, rows, out * w[rows, slot][:, None])
        if trace is not None:
            trace.append({"layer": pre, "idx": idx.tolist()})
    else:
        bl = bias.tolist() if bias is not None else None
        rows, infos = [], []
        for t in range(T):
            top, w, info = route_scalar(z[t].tolist(), cfg, bl)
            infos.append(info)
            acc = torch.zeros(D, dtype=DT)
            for e, we in zip(top, w):
                acc = acc + we * swiglu(x[t: t + 1], P, f"{pre}experts.{e}.")[0]
            rows.append(acc)
        y = torch.stack(rows)
        if trace is not None:
            trace.append({"layer": pre, "infos": infos})
    if n_shared(cfg):
        y = y + swiglu(x, P, pre + "shared_experts.")
    return y


# ---------------------------------------------------------------- the model

def forward(cfg, P, ids, impl="hf", trace=None):
    """Logits [T, V] for every position of ids (a 1-D sequence starting at position 0).
    P maps HF tensor names to float64 tensors. impl selects the "hf" or the "alt" forms."""
    check_config(cfg)
    ids = torch.as_tensor(ids, dtype=torch.long)
    T = ids.shape[0]
    pos = torch.arange(T)
    eps = cfg["rms_norm_eps"]
    h = P["model.embed_tokens.weight"][ids]                    # [T, D]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        a = rms_norm(h, P[pre + "input_layernorm.weight"], eps)
        attn = mla_forward if is_mla(cfg) else gqa_forward
        h = h + attn(a, P, pre + "self_attn.", cfg, pos, impl)
        m = rms_norm(h, P[pre + "post_attention_layernorm.weight"], eps)
        if layer_is_moe(cfg, i):
            h = h + moe_forward(m, P, pre + "mlp.", cfg, impl, trace)
        else:
            h = h + swiglu(m, P, pre + "mlp.")
    h = rms_norm(h, P["model.norm.weight"], eps)
    tied = cfg.get("tie_word_embeddings", False)
    head = P["model.embed_tokens.weight"] if tied else P["lm_head.weight"]
    return linear(h, head)
