"""Batch calls on the providers' batch engines (API.md section 10).

Thousands of calls of one decorated function, run offline by the provider at about
half the price::

    from minicall import batch, llm

    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    job = batch.submit(recommend_book, [{"genre": "fantasy"}, ("horror",)])
    job.id                                  # the provider's batch id: persist it
    results = job.wait(poll_interval=30.0)  # input order: a result or an error each
    job = batch.resume(recommend_book, job.id)   # later, in another process

Providers: OpenAI, Azure OpenAI and Groq (the OpenAI batch API), Anthropic (message
batches), Google (the Gemini API's batch mode), Mistral (batch jobs); others raise
``ConfigurationError``.
Each item is the request the plain call sends; each result is what the plain call
returns, priced at the batch price.
"""

from __future__ import annotations

from ._call.batch.job import BatchJob, resume, submit, submit_async
from ._model.batch import BATCH_STATES, BatchState, BatchStatus

__all__ = ["BATCH_STATES", "BatchJob", "BatchState", "BatchStatus", "resume", "submit", "submit_async"]
