"""The LLM tests' fixtures (an emulated card's endpoint process, a quiet CPU) for the K-Cloud run."""

from tests.llm.conftest import llm_endpoint, quiet_cpu

__all__ = ["llm_endpoint", "quiet_cpu"]
