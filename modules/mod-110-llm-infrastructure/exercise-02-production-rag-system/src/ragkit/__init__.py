"""110-02: Production RAG: LangChain, MiniLM embeddings, Chroma, hybrid retrieval, citations"""

from __future__ import annotations

__version__ = "0.1.0"
