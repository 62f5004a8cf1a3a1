"""The REST server, started for real on a free loopback port: results, limits, auth, batching, shutdown."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kogner.annotate import annotate_texts  # noqa: E402
from kogner.errors import KognerError  # noqa: E402
from kogner.model import KoGNER, PredictOptions  # noqa: E402
from kogner.serve.app import ServeConfig, create_app, token_for  # noqa: E402
from kogner.serve.batcher import MicroBatcher  # noqa: E402

LABELS = ["protein", "cell type"]


class Server:
    """uvicorn in a thread on a free port; ``stop()`` is the graceful shutdown a SIGTERM triggers."""

    def __init__(self, app) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while httpx.get(f"{self.url}/ready").status_code != 200:
            assert time.time() < deadline, "model never became ready"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return KoGNER.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="module")
def server(tiny):
    srv = Server(create_app(lambda: tiny, ServeConfig(max_texts=8, max_labels=4, max_text_chars=5000,
                                                      max_body_bytes=30_000, max_wait_ms=20)))  # fmt: skip
    srv.wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def texts(abstracts):
    return [d.text for d in abstracts[:24]]


def test_ready_is_false_until_the_model_has_loaded(tiny):
    release = threading.Event()

    def slow_loader():
        release.wait(30)
        return tiny

    srv = Server(create_app(slow_loader))
    try:
        assert httpx.get(f"{srv.url}/health").json() == {"status": "ok"}
        assert httpx.get(f"{srv.url}/ready").status_code == 503
        assert httpx.post(f"{srv.url}/v1/annotate", json={"text": "x", "labels": ["a"]}).status_code == 503
        release.set()
        srv.wait_ready()
    finally:
        srv.stop()


def test_single_and_batch_requests_return_the_cores_entities(server, tiny, texts):
    expected = [[m.to_dict() for m in d.mentions()] for d in annotate_texts(texts[:3], tiny, PredictOptions(LABELS))]
    one = httpx.post(f"{server.url}/v1/annotate", json={"text": texts[0], "labels": LABELS}).json()
    many = httpx.post(f"{server.url}/v1/annotate", json={"texts": texts[:3], "labels": LABELS}).json()
    spans = [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in many["results"]]
    assert spans == [[(e["start"], e["end"], e["label"]) for e in doc] for doc in expected] and any(spans)
    assert one["results"][0]["entities"][0]["text"] == texts[0][expected[0][0]["start"] : expected[0][0]["end"]]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"texts": ["a"] * 9, "labels": LABELS}, 422),  # too many texts
        ({"text": "a", "labels": ["l1", "l2", "l3", "l4", "l5"]}, 422),  # too many labels
        ({"text": "a", "labels": LABELS, "threshold": 1.5}, 422),
        ({"text": "a", "labels": []}, 422),
        ({"text": "a", "texts": ["b"], "labels": LABELS}, 422),
        ({"text": "word " * 1500, "labels": LABELS}, 413),  # text over 5,000 characters
        ({"texts": ["word " * 900] * 8, "labels": LABELS}, 413),  # body over 30,000 bytes
    ],
)
def test_limits_answer_with_json_errors(server, body, status):
    response = httpx.post(f"{server.url}/v1/annotate", json=body)
    assert response.status_code == status and "detail" in response.json()


def test_beyond_loopback_a_bearer_token_is_required(tiny, monkeypatch):
    monkeypatch.delenv("KOGNER_API_TOKEN", raising=False)
    with pytest.raises(KognerError, match="KOGNER_API_TOKEN"):
        token_for("0.0.0.0")
    assert token_for("127.0.0.1") is None
    monkeypatch.setenv("KOGNER_API_TOKEN", "s3cret")
    srv = Server(create_app(lambda: tiny, ServeConfig(token=token_for("0.0.0.0"))))
    try:
        srv.wait_ready()
        body = {"text": "IL-2 gene expression", "labels": LABELS}
        assert httpx.post(f"{srv.url}/v1/annotate", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{srv.url}/v1/annotate", json=body, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert httpx.post(f"{srv.url}/v1/annotate", json=body, headers=right).status_code == 200
    finally:
        srv.stop()


def test_concurrent_requests_share_forward_passes(server, texts):
    before = httpx.get(f"{server.url}/v1/stats").json()
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda t: httpx.post(f"{server.url}/v1/annotate", json={"text": t, "labels": LABELS},
                                                   timeout=60).status_code, texts[:16]))  # fmt: skip
    after = httpx.get(f"{server.url}/v1/stats").json()
    assert codes == [200] * 16
    requests, batches = after["requests"] - before["requests"], after["batches"] - before["batches"]
    assert requests == 16 and batches < 16, (requests, batches)


def test_a_poison_text_among_30_concurrent_requests_fails_alone(tiny, texts):
    srv = Server(create_app(lambda: tiny, ServeConfig(max_wait_ms=200)))  # a long wait: they share batches
    srv.wait_ready()
    bodies = [{"text": t[:400], "labels": LABELS} for t in (texts * 2)[:30]]
    bodies.insert(13, {"text": "a lone \ud800 surrogate", "labels": LABELS})
    try:
        with ThreadPoolExecutor(31) as pool:
            answers = list(pool.map(lambda b: httpx.post(f"{srv.url}/v1/annotate", content=json.dumps(b),
                                    headers={"content-type": "application/json"}, timeout=60), bodies))  # fmt: skip
        stats = httpx.get(f"{srv.url}/v1/stats").json()
    finally:
        srv.stop()
    codes = [a.status_code for a in answers]
    assert codes == [200] * 13 + [422] + [200] * 17, codes
    assert "lone surrogate U+D800" in answers[13].json()["detail"]
    assert stats["requests"] == 30 and stats["requests_per_batch"] > 1  # the others still shared passes


def test_a_failing_forward_group_is_rerun_request_by_request(tiny, texts):
    """A failure inside a shared forward pass (here: the model fails on one text) fails that request alone."""

    class FailsOn:
        def __init__(self, model, marker):
            self.model, self.marker = model, marker

        def predict_documents(self, documents, options):
            if any(self.marker in d.text for d in documents):
                raise RuntimeError("model failed")
            return self.model.predict_documents(documents, options)

    async def scenario():
        batcher = MicroBatcher(FailsOn(tiny, "POISON"), max_wait_ms=100)
        batcher.start()
        options = PredictOptions(LABELS)
        bodies = [[t[:300]] for t in texts[:5]] + [["A POISON text."]]
        results = await asyncio.gather(*(batcher.submit(b, options) for b in bodies), return_exceptions=True)
        await batcher.stop()
        return results, batcher.stats

    results, stats = asyncio.run(scenario())
    assert [isinstance(r, RuntimeError) for r in results] == [False] * 5 + [True]
    assert stats.isolated == 6 and all(isinstance(r, list) for r in results[:5])


def test_a_short_request_is_answered_while_a_maximal_one_runs(tiny, texts):
    """Work goes in bounded rounds: a 14-character request sent while a request of 5 x 80k characters runs
    is answered within 2 s, long before the big one."""
    srv = Server(create_app(lambda: tiny, ServeConfig(max_body_bytes=600_000, max_text_chars=80_000)))
    srv.wait_ready()
    big = {"texts": [(" ".join(texts) * 20)[:80_000]] * 5, "labels": LABELS}
    times = {}

    def post(name, body):
        started = time.perf_counter()
        answer = httpx.post(f"{srv.url}/v1/annotate", json=body, timeout=300)
        times[name] = (started, time.perf_counter(), answer.status_code)

    try:
        with ThreadPoolExecutor(2) as pool:
            pool.submit(post, "big", big)
            while not httpx.get(f"{srv.url}/v1/stats").json().get("rounds"):
                time.sleep(0.01)  # the big request is being worked through
            pool.submit(post, "small", {"text": "Breast cancer.", "labels": LABELS}).result()
    finally:
        srv.stop()
    (big_start, big_end, big_code), (small_start, small_end, small_code) = times["big"], times["small"]
    assert (big_code, small_code) == (200, 200)
    assert small_end - small_start < 2.0 and small_end < big_end, (small_end - small_start, big_end - big_start)


def test_shutdown_with_requests_in_flight_loses_none(tiny, texts):
    srv = Server(create_app(lambda: tiny, ServeConfig(round_words=64)))
    srv.wait_ready()
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(httpx.post, f"{srv.url}/v1/annotate", json={"texts": texts[i : i + 2],
                   "labels": LABELS}, timeout=60) for i in range(0, 24, 2)]  # fmt: skip
        # stop once the server holds all 12: a client that has not connected yet is refused, rightly
        while httpx.get(f"{srv.url}/v1/stats").json().get("received", 0) < 12:
            time.sleep(0.005)
        in_flight = sum(not f.done() for f in futures)
        srv.stop()
        codes = [f.result().status_code for f in futures]
    assert in_flight > 0 and codes == [200] * 12


def test_openapi_documents_the_annotate_endpoint(server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/annotate" in spec["paths"] and "AnnotateRequest" in spec["components"]["schemas"]


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=200) | json_values,
        "texts": st.lists(st.text(max_size=80), max_size=10) | json_values,
        "labels": st.lists(st.text(max_size=12), max_size=6) | json_values,
        "threshold": st.floats() | json_values,
        "flat": st.booleans() | json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fuzzed_requests_never_get_a_5xx(server, body):
    # json.dumps, not httpx's strict encoder: NaN and Infinity tokens (which Python clients send) are fuzzed too
    content = json.dumps(body)
    headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{server.url}/v1/annotate", content=content, headers=headers, timeout=60)
    assert response.status_code < 500, (body, response.text)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_thresholds_are_a_client_error(server, token):
    content = '{"text": "x", "labels": ["a"], "threshold": ' + token + "}"
    headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{server.url}/v1/annotate", content=content, headers=headers)
    assert 400 <= response.status_code < 500, response.text
