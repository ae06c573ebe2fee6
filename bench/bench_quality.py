"""Quality: embedding backends on two text-similarity sets.

    python -m bench.bench_quality                                   # everything
    python -m bench.bench_quality --backends e5,tfidf --no-lee      # a part

1. Cross-lingual retrieval (data/eval/crosslingual.jsonl: 24 EN/UK/RU pairs, query and
   asset always in different languages): each query ranks all 24 assets by cosine
   similarity; top-1 accuracy, MRR and recall@3, for e5 (query/passage prefixes, as the
   engine embeds), MiniLM (English-only), and TF-IDF over words and over character 3-5-grams
   (fitted on the 48 texts).
2. Lee document similarity (Lee, Pincombe & Welsh 2005; the files the gensim wheel ships in
   gensim/test/test_data/): 50 news documents (lee.cor), the mean human similarity rating of
   every pair (similarities0-1.txt, upper triangle), 300 background documents
   (lee_background.cor). Pearson r over the 1,225 pairs between the model's cosine similarity
   and the human ratings, as gensim's own test_lee does. Rows: e5 (both documents embedded as
   "passage: ", as the engine embeds assets, and as "query: ", e5's recipe for symmetric
   tasks), MiniLM, TF-IDF with IDF from the background corpus, and gensim's log-entropy + LSI
   (200 topics on the background corpus; the paper's reference, r ~ 0.6).

The learning evaluation (learned model vs baselines and oracle on generated logs) is measured
by `python -m bench.bench_learning`, against the generator's true utility.

Prints tables and one JSON document (bench/results/quality.json unless --out).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PROJECT_ROOT, print_table, write_result

CROSSLINGUAL = PROJECT_ROOT / "data" / "eval" / "crosslingual.jsonl"
TARGET_CROSSLINGUAL_TOP1 = 0.8  # tests/recommender/test_crosslingual.py


# --- metric functions (pure; tested in tests/bench) -----------------------------------------
def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities of the rows of a and b (zero rows give 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    na[na == 0] = 1.0
    nb[nb == 0] = 1.0
    return (a / na) @ (b / nb).T


def retrieval_metrics(sims: np.ndarray, gold: Sequence[int]) -> dict[str, float]:
    """Top-1 accuracy, MRR and recall@3 of queries (rows of `sims`) whose right document is
    column gold[i]. Ties count against the query (the right document ranks after every
    document scoring at least as high)."""
    sims = np.asarray(sims, dtype=np.float64)
    gold_arr = np.asarray(gold)
    right = sims[np.arange(len(gold_arr)), gold_arr]
    # rank = 1 + number of other documents scoring >= the right one
    ranks = (sims >= right[:, None]).sum(axis=1)
    return {
        "top1": round(float(np.mean(ranks == 1)), 4),
        "mrr": round(float(np.mean(1.0 / ranks)), 4),
        "recall@3": round(float(np.mean(ranks <= 3)), 4),
    }


def pearson_upper(model_sims: np.ndarray, human: np.ndarray) -> float:
    """Pearson r between two square similarity matrices over the pairs above the diagonal."""
    model_sims = np.asarray(model_sims, dtype=np.float64)
    human = np.asarray(human, dtype=np.float64)
    if model_sims.shape != human.shape or model_sims.shape[0] != model_sims.shape[1]:
        raise ValueError(f"shapes {model_sims.shape} and {human.shape} must be equal and square")
    iu = np.triu_indices(human.shape[0], 1)
    return float(np.corrcoef(model_sims[iu], human[iu])[0, 1])


# --- the data sets --------------------------------------------------------------------------
def crosslingual_pairs(path: Path = CROSSLINGUAL) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def lee_dir() -> Path:
    """gensim/test/test_data of the installed gensim wheel."""
    import gensim

    folder = Path(gensim.__file__).resolve().parent / "test" / "test_data"
    if not (folder / "similarities0-1.txt").exists():
        raise FileNotFoundError(f"the Lee data set is not in {folder} (gensim wheel changed?)")
    return folder


def lee_data() -> tuple[list[str], np.ndarray, list[str]]:
    """(50 documents, (50, 50) human similarity (upper triangle), 300 background documents).
    The files are Latin-1, one document per line."""
    folder = lee_dir()
    docs = (folder / "lee.cor").read_bytes().decode("latin-1").splitlines()
    background = (folder / "lee_background.cor").read_bytes().decode("latin-1").splitlines()
    docs = [d.strip() for d in docs if d.strip()]
    background = [d.strip() for d in background if d.strip()]
    human = np.loadtxt(folder / "similarities0-1.txt")
    if len(docs) != 50 or human.shape != (50, 50) or len(background) != 300:
        raise ValueError(
            f"unexpected Lee data: {len(docs)} documents, human matrix {human.shape}, "
            f"{len(background)} background documents (expected 50, (50, 50), 300)"
        )
    return docs, human, background


# --- backends -------------------------------------------------------------------------------
def _embed(name: str, texts: Sequence[str], *, as_query: bool) -> np.ndarray:
    from recommender import get_embedder

    embedder = get_embedder(name)
    return embedder.embed_queries(list(texts)) if as_query else embedder.embed_passages(list(texts))


def _tfidf(kind: str, fit_on: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "word":
        return TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(list(fit_on))
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(
        list(fit_on)
    )


def crosslingual(backends: Sequence[str]) -> list[dict[str, Any]]:
    pairs = crosslingual_pairs()
    queries = [p["query"] for p in pairs]
    assets = [p["asset"] for p in pairs]
    gold = list(range(len(pairs)))
    rows = []
    for name in backends:
        started = time.perf_counter()
        if name.startswith("tfidf"):
            kind = "char" if name == "tfidf-char" else "word"
            vec = _tfidf(kind, queries + assets)
            sims = cosine_matrix(vec.transform(queries).toarray(), vec.transform(assets).toarray())
        else:
            sims = _embed(name, queries, as_query=True) @ _embed(name, assets, as_query=False).T
        m = retrieval_metrics(sims, gold)
        # per direction: which language pairs fail
        by_pair: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            by_pair.setdefault(f"{p['query_lang']}->{p['asset_lang']}", []).append(i)
        per = {
            k: retrieval_metrics(sims[idx], [gold[i] for i in idx])["top1"]
            for k, idx in sorted(by_pair.items())
        }
        rows.append(
            {
                "backend": name,
                "pairs": len(pairs),
                **m,
                "top1_by_direction": per,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        print(f"cross-lingual {name}: top-1 {m['top1']}", file=sys.stderr, flush=True)
    return rows


def lee(backends: Sequence[str], e5_prefixes: Sequence[str]) -> list[dict[str, Any]]:
    docs, human, background = lee_data()
    rows = []
    for name in backends:
        variants: list[tuple[str, dict[str, Any]]] = []
        if name == "e5":
            variants = [(f"e5 ({p}: prefix)", {"as_query": p == "query"}) for p in e5_prefixes]
        elif name in ("tfidf", "lsi"):
            variants = [(name, {})]
        elif not name.startswith("tfidf"):  # minilm or a sentence-transformers folder
            variants = [(name, {"as_query": False})]
        else:
            continue  # tfidf-char is for the cross-lingual set only (shared names)
        for label, opts in variants:
            started = time.perf_counter()
            if name == "tfidf":
                vec = _tfidf("word", background)
                x = vec.transform(docs).toarray()
                sims = cosine_matrix(x, x)
                label = "tfidf (IDF from the 300 background docs)"
            elif name == "lsi":
                sims = _lsi_similarities(docs, background)
                label = "lsi (gensim log-entropy, 200 topics; Lee et al. reference)"
            else:
                v = _embed(name, docs, **opts)
                sims = v @ v.T
            rows.append(
                {
                    "model": label,
                    "pairs": int(50 * 49 / 2),
                    "pearson_r": round(pearson_upper(sims, human), 4),
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
            print(f"lee {label}: r = {rows[-1]['pearson_r']}", file=sys.stderr, flush=True)
    return rows


def _lsi_similarities(docs: Sequence[str], background: Sequence[str]) -> np.ndarray:
    """gensim's test_lee recipe: preprocess, dictionary and log-entropy on the background
    corpus, LSI with 200 topics, fold the 50 documents in."""
    from gensim import corpora, matutils, models
    from gensim.parsing.preprocessing import preprocess_documents

    bg = preprocess_documents(list(background))
    corpus = preprocess_documents(list(docs))
    dictionary = corpora.Dictionary(bg)
    bg_bow = [dictionary.doc2bow(t) for t in bg]
    bow = [dictionary.doc2bow(t) for t in corpus]
    log_ent = models.LogEntropyModel(bg_bow)
    lsi = models.LsiModel(log_ent[bg_bow], id2word=dictionary, num_topics=200, random_seed=0)
    dense = matutils.corpus2dense(lsi[log_ent[bow]], num_terms=200).T
    return cosine_matrix(dense, dense)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--backends",
        default="e5,minilm,tfidf,tfidf-char,lsi",
        help="e5, minilm (or a sentence-transformers folder), tfidf, tfidf-char, lsi",
    )
    parser.add_argument(
        "--e5-prefixes",
        default="passage,query",
        help="e5 recipes on the Lee set: passage and/or query",
    )
    parser.add_argument("--no-crosslingual", action="store_true")
    parser.add_argument("--no-lee", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    result: dict[str, Any] = {
        "benchmark": "quality",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    if not args.no_crosslingual:
        rows = crosslingual(backends=[b for b in backends if b != "lsi"])
        result["crosslingual"] = rows
        e5 = next((r for r in rows if r["backend"] == "e5"), None)
        if e5 is not None:
            result["crosslingual_target"] = {
                "top1": e5["top1"],
                "target": TARGET_CROSSLINGUAL_TOP1,
                "met": e5["top1"] >= TARGET_CROSSLINGUAL_TOP1,
            }
        print("\ncross-lingual retrieval (24 pairs, query and asset in different languages)")
        print_table(rows, ["backend", "pairs", "top1", "mrr", "recall@3", "seconds"])
    if not args.no_lee:
        prefixes = [p.strip() for p in args.e5_prefixes.split(",") if p.strip()]
        rows = lee(backends, prefixes)
        result["lee"] = rows
        print("\nLee document similarity (50 docs, 1,225 pairs, Pearson r with human ratings)")
        print_table(rows, ["model", "pairs", "pearson_r", "seconds"])
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
