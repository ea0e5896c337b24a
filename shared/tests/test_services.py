"""Every launcher against the real component, with a real client."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest

from aiinfra_shared.services import (
    RunningService,
    ServiceError,
    ServiceNotInstalledError,
    free_port,
    http_process,
    launcher,
    start,
)
from aiinfra_shared.services import prometheus as prom
from aiinfra_shared.services.base import find_binary, tcp_open
from aiinfra_shared.services.kafka import FAST_GROUP_SETTINGS


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_redis_set_get(redis_service: RunningService) -> None:
    import redis

    client = redis.Redis.from_url(redis_service.url)
    client.set("model", "v1")
    assert client.get("model") == b"v1"
    assert redis_service.env["AIINFRA_REDIS_URL"] == redis_service.url


def test_postgres_transaction(postgres_service: RunningService) -> None:
    import psycopg

    with psycopg.connect(postgres_service.url) as conn:
        conn.execute("CREATE TABLE features (entity text PRIMARY KEY, clicks int)")
        conn.execute("INSERT INTO features VALUES ('u1', 3), ('u2', 5)")
        total = conn.execute("SELECT sum(clicks) FROM features").fetchone()
    assert total == (8,)


def test_kafka_produce_consume_commit(kafka_service: RunningService) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = f"events-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=kafka_service.url, acks="all")
    for i in range(3):
        producer.send(topic, key=b"user", value=f"click-{i}".encode())
    producer.flush(timeout=30)
    producer.close()

    def consume(expected: int) -> list[bytes]:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=kafka_service.url,
            group_id="g1",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **FAST_GROUP_SETTINGS,
        )
        values: list[bytes] = []
        deadline = time.monotonic() + (30 if expected else 5)  # joining a group takes seconds
        while time.monotonic() < deadline and len(values) < max(expected, 1):
            for records in consumer.poll(timeout_ms=500).values():
                values += [record.value for record in records]
        consumer.commit()
        consumer.close()
        return values

    assert consume(3) == [b"click-0", b"click-1", b"click-2"]
    assert consume(0) == []  # the group resumes after its committed offset


def test_s3_bucket_roundtrip(s3_service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for key, value in s3_service.env.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")  # endpoint from AWS_ENDPOINT_URL_S3, as any boto3 code would
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="mlapi/model.pt", Body=b"weights")
    assert s3.get_object(Bucket="models", Key="mlapi/model.pt")["Body"].read() == b"weights"


def test_prometheus_scrapes_itself(prometheus_service: RunningService) -> None:
    samples = prom.wait_for(prometheus_service.url, "up", bool, timeout=30)
    assert samples[0].value == 1.0
    assert samples[0].labels["job"] == "prometheus"
    assert prom.query(prometheus_service.url, "1 + 1") == [prom.Sample({}, 2.0)]
    assert prom.alerts(prometheus_service.url) == []


def test_prometheus_query_errors_are_clear(prometheus_service: RunningService) -> None:
    with pytest.raises(ServiceError, match="HTTP 400"):
        prom.query(prometheus_service.url, "sum(")
    with pytest.raises(ServiceError, match="not reachable"):
        prom.query(f"http://127.0.0.1:{free_port()}", "up", timeout=2)
    with pytest.raises(ServiceError, match="waited"):
        prom.wait_for(prometheus_service.url, "absent_metric_xyz", bool, timeout=1)


def test_promtool_checks_rules(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n"
    )
    (tmp_path / "bad.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up ==\n"
    )
    assert prom.run_promtool("check", "rules", "good.yml", cwd=tmp_path).ok
    bad = prom.run_promtool("check", "rules", "bad.yml", cwd=tmp_path)
    assert not bad.ok
    assert "bad.yml" in bad.output


def test_alertmanager_answers(alertmanager_service: RunningService) -> None:
    status = _get_json(f"{alertmanager_service.url}/api/v2/status")
    assert status["cluster"]["status"] == "disabled"  # type: ignore[index]


def test_pushgateway_keeps_a_pushed_group_across_a_restart(tmp_path: Path) -> None:
    body = b"# TYPE batch_rows gauge\nbatch_rows 42\n"
    with start("pushgateway", workdir=tmp_path) as gateway:
        pushed = httpx.put(f"{gateway.url}/metrics/job/nightly", content=body)
        assert pushed.status_code == 200
        time.sleep(1.5)  # persisted every second
    with start("pushgateway", workdir=tmp_path) as gateway:
        text = httpx.get(f"{gateway.url}/metrics").text
    assert 'batch_rows{instance="",job="nightly"} 42' in text


def test_node_exporter_serves_host_metrics() -> None:
    with start("node_exporter") as node:
        text = httpx.get(f"{node.url}/metrics").text
    assert "node_memory_MemTotal_bytes" in text
    assert "node_cpu_seconds_total" in text


def test_prometheus_range_queries(prometheus_service: RunningService) -> None:
    prom.wait_for(prometheus_service.url, "up", bool, timeout=30)
    now = time.time()
    series = prom.query_range(prometheus_service.url, "up", start=now - 30, end=now, step=5)
    assert series
    labels, points = series[0]
    assert labels["job"] == "prometheus"
    assert points
    assert all(value == 1.0 for _, value in points)


@pytest.mark.slow
def test_mlflow_server_tracks_a_run(mlflow_service: RunningService) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_service.url)
    experiment = client.create_experiment(f"shared-{uuid.uuid4().hex[:6]}")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "accuracy", 0.93)
    fetched = client.get_run(run.info.run_id)
    assert fetched.data.metrics["accuracy"] == pytest.approx(0.93)
    assert mlflow_service.env["MLFLOW_TRACKING_URI"] == mlflow_service.url


def test_stop_leaves_nothing_listening(tmp_path: Path) -> None:
    with start("redis", workdir=tmp_path) as service:
        pid, port = service.pid, service.port
        assert tcp_open("127.0.0.1", port)
    assert not tcp_open("127.0.0.1", port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_taken_fixed_port_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as squatter:  # holds the port but never answers PING
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with (
            pytest.raises(ServiceError) as error,
            start("redis", port=port, workdir=tmp_path, timeout=10),
        ):
            pass
    assert "before it was ready" in str(error.value)
    assert "last lines of" in str(error.value)


def test_http_process_runs_our_own_server(tmp_path: Path) -> None:
    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]

    with (
        http_process("static", argv, health_path="/", workdir=tmp_path) as server,
        urllib.request.urlopen(server.url, timeout=5) as response,  # noqa: S310
    ):
        assert response.status == 200


def test_missing_binary_names_the_install_command() -> None:
    with pytest.raises(ServiceNotInstalledError, match="install it with: apt-get install nothing"):
        find_binary("definitely-not-installed-xyz", "apt-get install nothing")


def test_unknown_service_lists_the_known_ones() -> None:
    with pytest.raises(ServiceError, match="known services: alertmanager, k8s, kafka, mlflow"):
        launcher("cassandra")


@pytest.mark.integration
def test_otel_collector_receives_spans_and_the_log_reads_back(otel_service: RunningService) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from aiinfra_shared.services.otel import collected_spans

    assert otel_service.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == otel_service.url
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    exporter = OTLPSpanExporter(endpoint=f"{otel_service.url}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("order", attributes={"order.items": 3}) as parent,
        tracer.start_as_current_span("payment"),
    ):
        pass
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")
    parent_id = format(parent.get_span_context().span_id, "016x")

    deadline = time.monotonic() + 10
    spans = []
    while time.monotonic() < deadline and len(spans) < 2:
        spans = [s for s in collected_spans(otel_service.log_path) if s.trace_id == trace_id]
        time.sleep(0.1)
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"order", "payment"}
    assert by_name["payment"].parent_id == parent_id
    assert by_name["order"].parent_id == ""
    assert by_name["order"].service == "checkout"
    assert by_name["order"].attributes == {"order.items": "3"}


@pytest.mark.integration
def test_k8s_emulator_serves_crds_objects_patches_and_watches(k8s_service: RunningService) -> None:
    from kubernetes import client, config, watch

    config.load_kube_config(config_file=k8s_service.env["KUBECONFIG"])
    assert [n.metadata.name for n in client.CoreV1Api().list_namespace().items] == [
        "default",
        "kube-system",
    ]
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.aiinfra.dev"},
        "spec": {
            "group": "test.aiinfra.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }
    client.ApiextensionsV1Api().create_custom_resource_definition(crd)
    objects = client.CustomObjectsApi()
    args = ("test.aiinfra.dev", "v1", "default", "widgets")
    created = objects.create_namespaced_custom_object(
        *args, {"apiVersion": "test.aiinfra.dev/v1", "kind": "Widget",
                "metadata": {"name": "w1"}, "spec": {"size": 1}}
    )  # fmt: skip
    meta = created["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"]
    assert meta["generation"] == 1
    patched = objects.patch_namespaced_custom_object(*args, "w1", {"spec": {"size": 2}})
    assert patched["metadata"]["generation"] == 2
    assert int(patched["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])

    # A JSON patch with a stale resourceVersion test is refused with 422, as Kopf expects.
    url = f"{k8s_service.url}/apis/test.aiinfra.dev/v1/namespaces/default/widgets/w1"
    stale = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]},
    ]
    json_patch = {"Content-Type": "application/json-patch+json"}
    assert httpx.patch(url, json=stale, headers=json_patch).status_code == 422
    stale[0]["value"] = objects.get_namespaced_custom_object(*args, "w1")["metadata"][
        "resourceVersion"
    ]
    assert httpx.patch(url, json=stale, headers=json_patch).json()["metadata"]["finalizers"] == [
        "x"
    ]

    listing = objects.list_namespaced_custom_object(*args)
    version = listing["metadata"]["resourceVersion"]
    objects.patch_namespaced_custom_object(*args, "w1", {"spec": {"size": 3}})
    stream = watch.Watch().stream(
        objects.list_namespaced_custom_object, *args, resource_version=version, timeout_seconds=5
    )
    first = next(iter(stream))  # only what changed after the listing, not a replay of all
    assert first["object"]["spec"]["size"] == 3


@pytest.mark.integration
def test_k8s_watch_loses_no_write_made_while_it_replays(k8s_service: RunningService) -> None:
    """A write that lands while a watch is still sending its replay is streamed after it.

    The replay here is ~16 MB, so the server blocks on a full socket buffer half-way through
    while the client waits; a ConfigMap created then used to fall between the replay's
    snapshot and the live stream, and the watcher never heard of it.
    """
    import httpx
    from kubernetes import client, config

    config.load_kube_config(config_file=k8s_service.env["KUBECONFIG"])
    core = client.CoreV1Api()
    core.create_namespace({"metadata": {"name": "replay"}})
    blob = "x" * 40_000
    for i in range(400):
        core.create_namespaced_config_map("replay", {"metadata": {"name": f"cm-{i}"},
                                                     "data": {"blob": blob}})  # fmt: skip
    url = f"{k8s_service.url}/api/v1/namespaces/replay/configmaps"
    with (
        httpx.Client(timeout=30) as http,
        http.stream("GET", url, params={"watch": "true", "resourceVersion": "1"}) as stream,
    ):
        lines = stream.iter_lines()
        next(lines)  # the watch is open and replaying; now write while it is stuck
        core.create_namespaced_config_map("replay", {"metadata": {"name": "late"}})
        names = []
        for line in lines:
            if not line.strip():
                continue
            names.append(json.loads(line)["object"]["metadata"]["name"])
            if names[-1] == "late":
                break
    assert names[-1] == "late"
    assert len(set(names)) == len(names)  # and nothing twice
