"""PyTorch twin of climadiff's UNet3D (packages/climadiff/src/models/): the same architecture with
identical parameter names and shapes, so a climadiff checkpoint (safetensors weights + the model config
JSON) loads here with load_state_dict(strict=True).

    from unet3d import UNet3D, load_safetensors
    import json
    model = UNet3D(json.load(open("config.json")))
    model.load_state_dict(load_safetensors("model.safetensors"))
    v = model(x, logsnr)            # x [B, C, F, H, W] (channels, frames, lat, lon), logsnr [B]
    v = model(x, logsnr, cond, date)  # with static fields [B, S, H, W] and date features [B, D]
    y = model.encode(x)             # channels with a learned transform: u = x / std -> [-1, 1]
    mu, logvar = model.posterior(y, cond)    # a representation model: q(w|x); then v = model(x, logsnr, cond, date, w)

Needs only torch (tested with PyTorch 2.13, the engine's own reference); the safetensors reader is below.
"""
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}


def load_safetensors(path):
    """A minimal safetensors reader: 8-byte little-endian header length, JSON header, raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        buf = bytearray(data[base + start:base + end])
        t = torch.frombuffer(buf, dtype=dtype) if len(buf) else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def full_config(c):
    """Defaults as in climadiff's unet3dConfig (a checkpoint's config is already complete)."""
    c = dict(c)
    ch = c.setdefault("channels", 32)
    mults = c.setdefault("channelMults", [1, 2, 2])
    c.setdefault("outChannels", c["inChannels"])
    c.setdefault("condChannels", 0)
    c.setdefault("numResBlocks", 1)
    c.setdefault("attentionLevels", [len(mults) - 1] if len(mults) > 1 else [])
    c.setdefault("temporalAttention", True)
    c.setdefault("headChannels", min(32, ch))
    c.setdefault("maxRelativeDistance", 16)
    c.setdefault("groups", 8)
    c.setdefault("dropout", 0.0)
    c.setdefault("embedChannels", 4 * ch)
    b = dict(c.get("boundary") or {})
    b.setdefault("lon", "periodic")
    b.setdefault("lat", "zeros")
    c["boundary"] = b
    c.setdefault("gridPadding", "none")
    c.setdefault("parameterisation", "v")
    c.setdefault("dateFeatures", 0)
    c.setdefault("learnedTransforms", [])
    r = c.get("representation")
    if r is not None:
        r = dict(r)
        r.setdefault("encoder", "clip")
        r.setdefault("channels", ch)
        r.setdefault("levels", 3)
    c["representation"] = r
    return c


class MonotoneTransform(nn.Module):
    """The learned monotone input transform (climadiff models/transform.ts): h(u) = tanh(W3 tanh(W2 tanh(W1 u + b1)
    + b2) + b3) + 0.1 u with W = softplus(raw) >= 0, rescaled so [0, domainMax] maps to [-1, 1]."""

    def __init__(self, t):
        super().__init__()
        n = t.get("hidden", 16)
        self.domain_max = float(t["domainMax"])
        self.w1 = nn.Parameter(torch.zeros(n, 1))
        self.b1 = nn.Parameter(torch.zeros(n))
        self.w2 = nn.Parameter(torch.zeros(n, n))
        self.b2 = nn.Parameter(torch.zeros(n))
        self.w3 = nn.Parameter(torch.zeros(1, n))
        self.b3 = nn.Parameter(torch.zeros(1))

    def h(self, u):
        flat = u.reshape(-1, 1)
        t = torch.tanh(F.linear(flat, F.softplus(self.w1), self.b1))
        t = torch.tanh(F.linear(t, F.softplus(self.w2), self.b2))
        t = torch.tanh(F.linear(t, F.softplus(self.w3), self.b3))
        return (t + 0.1 * flat).reshape(u.shape)

    def forward(self, u):
        ends = self.h(torch.tensor([0.0, self.domain_max], dtype=u.dtype))
        return 2 * (self.h(u) - ends[0]) / (ends[1] - ends[0]) - 1


class SpaceConv(nn.Conv3d):
    """Kernel [1, k, k]: periodic longitude by concatenating edge columns, reflect latitude by F.pad."""

    def __init__(self, cin, cout, boundary, kernel=3, stride=1):
        super().__init__(cin, cout, (1, kernel, kernel), stride=(1, stride, stride), padding=0)
        self.boundary = boundary
        self.k = kernel
        self.s = stride

    def forward(self, x):
        p = (self.k - 1) // 2
        h = x
        pad_h = pad_w = 0
        if p > 0:
            if self.boundary["lon"] == "periodic":
                w = h.shape[4]
                h = torch.cat([h.narrow(4, w - p, p), h, h.narrow(4, 0, p)], 4)
            else:
                pad_w = p
            if self.boundary["lat"] == "reflect":
                h = F.pad(h, (0, 0, p, p, 0, 0), mode="reflect")
            else:
                pad_h = p
        return F.conv3d(h, self.weight, self.bias, stride=(1, self.s, self.s), padding=(0, pad_h, pad_w))


class PointConv(nn.Conv3d):
    """1x1x1 conv computed as one batched GEMM (the same computation as climadiff's PointConv)."""

    def __init__(self, cin, cout):
        super().__init__(cin, cout, 1)

    def forward(self, x):
        b, ci, f, h, w = x.shape
        co = self.out_channels
        y = torch.baddbmm(self.bias.view(1, co, 1), self.weight.view(1, co, ci).expand(b, co, ci), x.reshape(b, ci, f * h * w))
        return y.view(b, co, f, h, w)


def sinusoidal_embedding(logsnr, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(0, half, dtype=torch.float32) * (-math.log(10000) / half))
    args = logsnr.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups, dropout, boundary):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = SpaceConv(cin, cout, boundary)
        self.emb = nn.Linear(emb, 2 * cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = SpaceConv(cout, cout, boundary)
        self.skip = None if cin == cout else PointConv(cin, cout)
        self.dropout = dropout
        self.out_channels = cout

    def forward(self, x, emb_act):
        h = self.conv1(F.silu(self.norm1(x)))
        ss = self.emb(emb_act).view(emb_act.shape[0], 2 * self.out_channels, 1, 1, 1)
        scale, shift = ss.chunk(2, 1)
        h = F.silu(self.norm2(h) * (scale + 1) + shift)
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        h = self.conv2(h)
        return (x if self.skip is None else self.skip(x)) + h


class Attention(nn.Module):
    def __init__(self, axis, channels, head_channels, groups, max_rel):
        super().__init__()
        self.axis = axis
        self.heads = channels // head_channels
        self.max_rel = max_rel
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = PointConv(channels, 3 * channels)
        self.proj = PointConv(channels, channels)
        self.relpos = nn.Parameter(torch.zeros(self.heads, 2 * max_rel + 1)) if axis == "temporal" else None

    def relative_bias(self, frames):
        pos = torch.arange(frames)
        idx = (pos[None, :] - pos[:, None]).clamp(-self.max_rel, self.max_rel) + self.max_rel
        return self.relpos[:, idx]  # [heads, F, F]

    def forward(self, x):
        b, c, f, hh, w = x.shape
        n, nh = hh * w, self.heads
        d = c // nh
        qkv = self.qkv(self.norm(x)).view(b, 3, nh, d, f, n)
        if self.axis == "spatial":
            q, k, v = qkv.permute(1, 0, 4, 2, 5, 3).reshape(3, b * f * nh, n, d).unbind(0)
        else:
            q, k, v = qkv.permute(1, 0, 5, 2, 4, 3).reshape(3, b * n * nh, f, d).unbind(0)
        scores = torch.bmm(q * (1 / math.sqrt(d)), k.transpose(1, 2))
        if self.axis == "temporal":
            scores = (scores.view(b * n, nh, f, f) + self.relative_bias(f)).view(b * n * nh, f, f)
        out = torch.bmm(scores.softmax(-1), v)
        if self.axis == "spatial":
            back = out.view(b, f, nh, n, d).permute(0, 2, 4, 1, 3)
        else:
            back = out.view(b, n, nh, f, d).permute(0, 2, 4, 3, 1)
        return x + self.proj(back.reshape(b, c, f, hh, w))


class Block(nn.Module):
    def __init__(self, res, spatial, temporal):
        super().__init__()
        self.res = res
        self.spatial = spatial
        self.temporal = temporal

    def forward(self, x, emb_act):
        h = self.res(x, emb_act)
        if self.spatial is not None:
            h = self.spatial(h)
        if self.temporal is not None:
            h = self.temporal(h)
        return h


class Upsample(nn.Module):
    def __init__(self, channels, boundary):
        super().__init__()
        self.conv = SpaceConv(channels, channels, boundary)

    def forward(self, x):
        _, _, f, h, w = x.shape
        return self.conv(F.interpolate(x, size=(f, 2 * h, 2 * w), mode="nearest"))


class EncoderLevel(nn.Module):
    def __init__(self, cin, cout, groups, boundary, temporal):
        super().__init__()
        self.norm = nn.GroupNorm(groups, cin)
        self.down = SpaceConv(cin, cout, boundary, stride=2)
        self.time = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0)) if temporal else None

    def forward(self, x):
        h = self.down(F.silu(self.norm(x)))
        return h + self.time(F.silu(h)) if self.time is not None else h


class LatentEncoder(nn.Module):
    """q(w|x) = N(mu, diag exp(logvar)) of a representation model (climadiff src/models/encoder.ts)."""

    def __init__(self, rep, cin, groups, boundary):
        super().__init__()
        self.rep = rep
        widths = [rep["channels"] * min(2 ** l, 4) for l in range(rep["levels"] + 1)]
        self.stem = SpaceConv(cin, widths[0], boundary)
        self.levels = nn.ModuleList([EncoderLevel(widths[l], widths[l + 1], groups, boundary, rep["encoder"] == "clip")
                                     for l in range(rep["levels"])])
        self.normOut = nn.GroupNorm(groups, widths[-1])
        self.head = nn.Linear(widths[-1], 2 * rep["dim"])

    def forward(self, x, cond=None):
        b, _, f, h, w = x.shape
        if self.rep["encoder"] == "frame":
            x = x[:, :, :1]
            if cond is not None and cond.dim() == 5:
                cond = cond[:, :, :1]
        if cond is not None:
            if cond.dim() == 4:
                cond = cond[:, :, None].expand(b, cond.shape[1], x.shape[2], h, w)
            x = torch.cat([x, cond.to(x.dtype)], 1)
        hcur = self.stem(x)
        for level in self.levels:
            hcur = level(hcur)
        out = self.head(F.silu(self.normOut(hcur)).mean((2, 3, 4)))
        d = self.rep["dim"]
        return out[:, :d], out[:, d:]


class DownLevel(nn.Module):
    def __init__(self, blocks, downsample):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample


class UpLevel(nn.Module):
    def __init__(self, blocks, upsample):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.upsample = upsample


class Middle(nn.Module):
    def __init__(self, res1, spatial, temporal, res2):
        super().__init__()
        self.res1 = res1
        self.spatial = spatial
        self.temporal = temporal
        self.res2 = res2

    def forward(self, x, emb_act):
        h = self.spatial(self.res1(x, emb_act))
        if self.temporal is not None:
            h = self.temporal(h)
        return self.res2(h, emb_act)


class UNet3D(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = full_config(config)
        self.config = c
        E, bd, G = c["embedChannels"], c["boundary"], c["groups"]
        base, mults = c["channels"], c["channelMults"]

        def attn(axis, ch):
            return Attention(axis, ch, c["headChannels"], G, c["maxRelativeDistance"])

        def mk(cin, cout, level):
            return Block(ResBlock(cin, cout, E, G, c["dropout"], bd),
                         attn("spatial", cout) if level in c["attentionLevels"] else None,
                         attn("temporal", cout) if c["temporalAttention"] else None)

        self.embed = nn.Sequential(nn.Linear(base, E), nn.SiLU(), nn.Linear(E, E))
        self.stem = SpaceConv(c["inChannels"] + c["condChannels"], base, bd)
        L = len(mults)
        skips, ch, down = [base], base, []
        for l in range(L):
            blocks, out = [], base * mults[l]
            for _ in range(c["numResBlocks"]):
                blocks.append(mk(ch, out, l))
                ch = out
                skips.append(ch)
            ds = None
            if l < L - 1:
                ds = SpaceConv(ch, ch, bd, stride=2)
                skips.append(ch)
            down.append(DownLevel(blocks, ds))
        self.down = nn.ModuleList(down)
        self.mid = Middle(ResBlock(ch, ch, E, G, c["dropout"], bd), attn("spatial", ch),
                          attn("temporal", ch) if c["temporalAttention"] else None,
                          ResBlock(ch, ch, E, G, c["dropout"], bd))
        up = [None] * L
        for l in reversed(range(L)):
            blocks, out = [], base * mults[l]
            for _ in range(c["numResBlocks"] + 1):
                blocks.append(mk(ch + skips.pop(), out, l))
                ch = out
            up[l] = UpLevel(blocks, Upsample(ch, bd) if l > 0 else None)
        self.up = nn.ModuleList(up)
        self.normOut = nn.GroupNorm(G, ch)
        self.convOut = SpaceConv(ch, c["outChannels"], bd)
        D = c["dateFeatures"]
        self.dateEmbed = nn.Sequential(nn.Linear(D, E), nn.SiLU(), nn.Linear(E, E)) if D > 0 else None
        self.transforms = nn.ModuleList([MonotoneTransform(t) for t in c["learnedTransforms"]])
        rep = c["representation"]
        self.latentEmbed = nn.Sequential(nn.Linear(rep["dim"], E), nn.SiLU(), nn.Linear(E, E)) if rep else None
        self.encoder = LatentEncoder(rep, c["inChannels"] + c["condChannels"], G, bd) if rep else None

    def posterior(self, x, cond=None):
        """(mu, logvar) of q(w|x), x as the U-Net sees it (after encode)."""
        return self.encoder(x, cond if self.config["condChannels"] > 0 else None)

    def encode(self, x):
        """Learned-transform channels (u = x / std) mapped to [-1, 1], as the U-Net was trained on them."""
        if len(self.transforms) == 0:
            return x
        chans = list(x.unbind(1))
        for t, m in zip(self.config["learnedTransforms"], self.transforms):
            chans[t["channel"]] = m(chans[t["channel"]])
        return torch.stack(chans, 1)

    def forward(self, x, logsnr, cond=None, date=None, latent=None):
        c = self.config
        b, _, f, h, w = x.shape
        if c["condChannels"] > 0:
            if cond.dim() == 4:
                cond = cond[:, :, None].expand(b, c["condChannels"], f, h, w)
            x = torch.cat([x, cond.to(x.dtype)], 1)
        logsnr = torch.as_tensor(logsnr, dtype=torch.float32)
        if logsnr.numel() == 1:
            logsnr = logsnr.reshape(1).expand(b)
        emb = self.embed(sinusoidal_embedding(logsnr, c["channels"]))
        if self.dateEmbed is not None:
            emb = emb + self.dateEmbed(date.to(torch.float32))
        if self.latentEmbed is not None:
            emb = emb + self.latentEmbed(latent.to(torch.float32))
        emb_act = F.silu(emb)
        m = 2 ** (len(c["channelMults"]) - 1)
        ph, pw = (m - h % m) % m, (m - w % m) % m
        if c["gridPadding"] != "none" and (ph or pw):
            # models/config.ts gridPadding: padded to the multiple, the extra cell at the bottom/right, cropped after
            top, left = ph // 2, pw // 2
            mode = "reflect" if c["gridPadding"] == "reflect" else "constant"
            if c["boundary"]["lon"] == "periodic":
                x = torch.cat([x[..., w - left:], x, x[..., :pw - left]], 4) if pw else x
                x = F.pad(x, (0, 0, top, ph - top, 0, 0), mode=mode) if ph else x
            else:
                x = F.pad(x, (left, pw - left, top, ph - top, 0, 0), mode=mode)
            return self._unet(x, emb_act)[..., top:top + h, left:left + w]
        return self._unet(x, emb_act)

    def _unet(self, x, emb_act):
        c = self.config
        hcur = self.stem(x)
        hs = [hcur]
        for level in self.down:
            for blk in level.blocks:
                hcur = blk(hcur, emb_act)
                hs.append(hcur)
            if level.downsample is not None:
                hcur = level.downsample(hcur)
                hs.append(hcur)
        hcur = self.mid(hcur, emb_act)
        for l in reversed(range(len(c["channelMults"]))):
            level = self.up[l]
            for blk in level.blocks:
                hcur = blk(torch.cat([hcur, hs.pop()], 1), emb_act)
            if level.upsample is not None:
                hcur = level.upsample(hcur)
        return self.convOut(F.silu(self.normOut(hcur)))


def _read_f32(path, shape):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape).clone()


def main(argv):
    """CLI used by climadiff's parity test: unet3d.py JOB.json, where JOB has config, weights, inputs
    ({name: {path, shape}} for x, logsnr and optionally cond and date), out (raw float32 output), threads;
    with "encode": true the output is model.encode(x) instead; with "posterior": true it is cat(mu, logvar) of q(w|x).
    Prints JSON: output shape and the parameter count."""
    job = json.load(open(argv[1]))
    torch.set_num_threads(int(job.get("threads", 1)))
    model = UNet3D(job["config"])
    model.load_state_dict(load_safetensors(job["weights"]), strict=True)
    model.eval()
    ins = {k: _read_f32(v["path"], v["shape"]) for k, v in job["inputs"].items()}
    with torch.no_grad():
        if job.get("encode"):
            y = model.encode(ins["x"])
        elif job.get("posterior"):
            y = torch.cat(model.posterior(ins["x"], ins.get("cond")), 1)
        else:
            y = model(ins["x"], ins["logsnr"], ins.get("cond"), ins.get("date"), ins.get("latent"))
    with open(job["out"], "wb") as f:
        buf = bytearray(4 * y.numel())
        if y.numel():
            torch.frombuffer(buf, dtype=torch.float32).copy_(y.reshape(-1))
        f.write(bytes(buf))
    print(json.dumps({"shape": list(y.shape), "parameters": sum(p.numel() for p in model.parameters()),
                      "names": [n for n, _ in model.named_parameters()]}))


if __name__ == "__main__":
    main(sys.argv)
