"""The official SDKs' client objects type-check as ``client=`` wherever Mirascope took
them: the provider decorators, ``llm.call`` and dynamic config. (botocore ships no types:
its clients are ``Any`` to a type checker, so any bedrock client passes.)"""

from __future__ import annotations

import cohere
from anthropic import Anthropic, AsyncAnthropic
from azure.ai.inference import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential
from google import genai
from groq import Groq
from mistralai.client import Mistral
from openai import AsyncOpenAI, AzureOpenAI, OpenAI

from minicall import llm
from minicall.providers import anthropic, azure, google, groq, mistral, openai, xai


@openai.call("gpt-4o-mini", client=OpenAI(api_key="sk"))
def recommend(genre: str) -> str:
    return f"Recommend a {genre} book"


@openai.call("gpt-4o-mini", client=AzureOpenAI(api_key="k", azure_endpoint="https://x", api_version="v"))
def on_azure_openai(genre: str) -> str:
    return genre


@xai.call("grok-3", client=OpenAI(api_key="xk", base_url="https://api.x.ai/v1"))
def on_xai(genre: str) -> str:
    return genre


@anthropic.call("claude-3-5-haiku-latest", client=Anthropic(api_key="ak"))
def on_anthropic(genre: str) -> str:
    return genre


@anthropic.call("claude-3-5-haiku-latest")
async def on_anthropic_async(genre: str) -> anthropic.AsyncAnthropicDynamicConfig:
    return {"client": AsyncAnthropic(api_key="ak")}


@groq.call("llama-3.1-8b-instant", client=Groq(api_key="gk"))
def on_groq(genre: str) -> str:
    return genre


@mistral.call("mistral-small-latest", client=Mistral(api_key="mk"))
def on_mistral(genre: str) -> str:
    return genre


@google.call("gemini-2.0-flash", client=genai.Client(api_key="gk"))
def on_gemini(genre: str) -> str:
    return genre


@azure.call("m", client=ChatCompletionsClient(endpoint="https://x", credential=AzureKeyCredential("k")))
def on_azure(genre: str) -> str:
    return genre


@llm.call(provider="cohere", model="command-r", client=cohere.ClientV2(api_key="ck"))
def on_cohere(genre: str) -> str:
    return genre


@llm.call(provider="openai", model="gpt-4o-mini", client=AsyncOpenAI(api_key="sk"))
async def neutral_async(genre: str) -> str:
    return genre


@openai.call("gpt-4o-mini")
def dynamic(genre: str) -> openai.OpenAIDynamicConfig:
    return {"client": OpenAI(api_key="sk")}
