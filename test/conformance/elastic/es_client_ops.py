"""Drives the lab with Elastic's official Python client (Debian python3-elasticsearch 7.17) and plain HTTP for
Kibana's Fleet API (there is no Fleet client in Debian). Each operation prints one JSON line:
{"op", "ok", "status", "error_type", "reason", "result"}; the vitest side asserts the contract per operation.

Inputs come from the environment (never argv: the API key is a secret): LAB_ES_URL, LAB_KIBANA_URL, LAB_CA_FILE,
LAB_API_KEY (tetractl's read-only key, base64 id:key), LAB_ADMIN_USER, LAB_ADMIN_PASSWORD (Fleet writes).
"""
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

import elasticsearch
from elasticsearch import Elasticsearch

ES_URL = os.environ["LAB_ES_URL"]
KB_URL = os.environ["LAB_KIBANA_URL"]
CA = os.environ["LAB_CA_FILE"]
API_KEY = os.environ["LAB_API_KEY"]
ADMIN = (os.environ["LAB_ADMIN_USER"], os.environ["LAB_ADMIN_PASSWORD"])
DS = "logs-cilium_tetragon.log-default"

es = Elasticsearch([ES_URL], api_key=API_KEY, ca_certs=CA, timeout=30, max_retries=0)
admin = Elasticsearch([ES_URL], http_auth=ADMIN, ca_certs=CA, timeout=30, max_retries=0)


def emit(op, ok, status=None, error_type=None, reason=None, result=None):
    sys.stdout.write(json.dumps({"op": op, "ok": ok, "status": status, "error_type": error_type, "reason": reason, "result": result}) + "\n")
    sys.stdout.flush()


def run(op, fn):
    try:
        emit(op, True, 200, result=fn())
    except elasticsearch.TransportError as e:
        info = e.info if isinstance(e.info, dict) else {}
        err = info.get("error")
        etype = err.get("type") if isinstance(err, dict) else None
        reason = err.get("reason") if isinstance(err, dict) else err
        status = e.status_code if isinstance(e.status_code, int) else None
        emit(op, False, status, etype, reason)
    except Exception as e:  # a client-side failure is a divergence too: report it, never crash
        emit(op, False, None, type(e).__name__, str(e))


# The bodies tetractl sends (src/checks/elastic/facts.ts, src/services/validate/search.ts and index.ts).
ERROR_QUERY = {"bool": {"should": [{"exists": {"field": "error.message"}}, {"term": {"event.kind": "pipeline_error"}}], "minimum_should_match": 1}}
FIELD_FILTERS = {f: {"exists": {"field": f}} for f in ["cilium_tetragon.log", "event.original", "process.executable", "process.name", "destination.ip"]}
OVERVIEW = {
    "size": 0,
    "track_total_hits": True,
    "aggs": {
        "indices": {"terms": {"field": "_index", "size": 500}, "aggs": {"newest": {"max": {"field": "@timestamp"}}}},
        "event_dataset": {"terms": {"field": "event.dataset", "size": 100}},
        "data_stream_dataset": {"terms": {"field": "data_stream.dataset", "size": 100}},
    },
}
STATS = {
    "size": 0,
    "track_total_hits": True,
    "aggs": {
        "newest": {"top_hits": {"size": 1, "sort": [{"@timestamp": {"order": "desc"}}], "_source": ["@timestamp", "event.ingested", "cilium_tetragon.log.time", "cilium_tetragon.log.node_name"]}},
        "errors_all": {"filter": ERROR_QUERY},
        "all_fields": {"filters": {"filters": FIELD_FILTERS}},
        "recent": {
            "filter": {"range": {"@timestamp": {"gte": "now-3600s"}}},
            "aggs": {
                "fields": {"filters": {"filters": FIELD_FILTERS}},
                "errors": {"filter": ERROR_QUERY, "aggs": {"samples": {"top_hits": {"size": 5, "sort": [{"@timestamp": {"order": "desc"}}], "_source": ["error.message"]}}}},
            },
        },
    },
}
POD = {
    "size": 500,
    "sort": [{"@timestamp": {"order": "asc"}}],
    "query": {
        "bool": {
            "filter": [{"range": {"@timestamp": {"gte": "2020-01-01T00:00:00.000Z"}}}],
            "should": [
                {"bool": {"filter": [{"term": {"orchestrator.resource.name": "tetractl-probe"}}, {"term": {"orchestrator.namespace": "default"}}]}},
                {"match_phrase": {"message": "tetractl-probe"}},
            ],
            "minimum_should_match": 1,
        }
    },
}
LATEST = {"size": 1, "_source": ["@timestamp"], "sort": [{"@timestamp": {"order": "desc"}}]}
INDICES_OPTS = {"ignore_unavailable": True, "allow_no_indices": True}


def hits(r):
    return {"total": r["hits"].get("total"), "count": len(r["hits"]["hits"]), "first": r["hits"]["hits"][0] if r["hits"]["hits"] else None, "aggregations": r.get("aggregations")}


def ids_with_dataset():
    first = es.search(index="logs-cilium_tetragon.log-*", body={"size": 3, "_source": False}, **INDICES_OPTS)
    ids = [h["_id"] for h in first["hits"]["hits"]]
    r = es.search(index="logs-cilium_tetragon.log-*", body={"size": len(ids), "_source": False, "query": {"bool": {"filter": [{"ids": {"values": ids}}, {"term": {"event.dataset": "cilium_tetragon.log"}}]}}}, **INDICES_OPTS)
    return {"asked": ids, "found": [h["_id"] for h in r["hits"]["hits"]], "sources": [h.get("_source") for h in r["hits"]["hits"]]}


def simulate():
    pipelines = es.ingest.get_pipeline(id="logs-cilium_tetragon.log-*")
    pid = sorted(pipelines)[0]
    line = '{"process_exec":{"process":{"exec_id":"abc","pid":42,"binary":"/usr/bin/curl","arguments":"-s example.com"}},"node_name":"node-1","time":"2024-11-01T10:00:00.000Z"}'
    r = es.ingest.simulate(id=pid, body={"docs": [{"_index": DS, "_source": {"message": line}}]})
    return {"pipeline": pid, "docs": r["docs"]}


def http(method, path, body=None, auth=ADMIN, xsrf=True):
    ctx = ssl.create_default_context(cafile=CA)
    headers = {"Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode(), "Accept": "application/json"}
    if xsrf:
        headers["kbn-xsrf"] = "true"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(KB_URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def kibana(op, method, path, body=None, xsrf=True):
    try:
        status, payload = http(method, path, body, xsrf=xsrf)
        ok = 200 <= status < 300
        emit(op, ok, status, None if ok else (payload or {}).get("error"), None if ok else (payload or {}).get("message"), payload)
    except Exception as e:
        emit(op, False, None, type(e).__name__, str(e))


def main(group):
    if group == "kibana":
        return fleet()
    run("info", lambda: es.info())
    run("ping", lambda: {"alive": es.ping()})
    run("cluster.health", lambda: es.cluster.health())
    run("security.authenticate", lambda: es.security.authenticate())
    run("search overview", lambda: hits(es.search(index="logs-*", body=OVERVIEW, **INDICES_OPTS)))
    run("search dataset stats", lambda: hits(es.search(index="logs-cilium_tetragon.log-*", body=STATS, **INDICES_OPTS)))
    run("search probe pod", lambda: hits(es.search(index="logs-cilium_tetragon.log-*", body=POD, **INDICES_OPTS)))
    run("search ids with dataset", ids_with_dataset)
    run("search latest", lambda: hits(es.search(index="logs-cilium_tetragon.log-*", body=LATEST, **INDICES_OPTS)))
    run("search missing dataset", lambda: hits(es.search(index="logs-nothing.here-*", body=OVERVIEW, **INDICES_OPTS)))
    run("count", lambda: es.count(index="logs-*", body={"query": {"exists": {"field": "@timestamp"}}}))
    run("search filter_path", lambda: es.search(index="logs-*", body={"size": 1}, filter_path="hits.hits._index"))
    run("indices.get_data_stream", lambda: es.indices.get_data_stream(name=DS))
    run("indices.get_index_template", lambda: es.indices.get_index_template(name=DS.rsplit("-", 1)[0]))
    run("indices.get_settings", lambda: es.indices.get_settings(index=DS))
    run("ingest.get_pipeline", lambda: es.ingest.get_pipeline(id="logs-cilium_tetragon.log-*"))
    run("ingest.simulate", simulate)
    run("field_caps", lambda: es.field_caps(index="logs-*", fields="process.*,@timestamp"))
    run("indices.get_mapping", lambda: es.indices.get_mapping(index=DS))
    # What a real server refuses (or serves but the lab does not implement) must fail, never pass silently.
    run("refuse q parameter", lambda: hits(es.search(index="logs-*", q="nonexistent")))
    run("refuse collapse", lambda: hits(es.search(index="logs-*", body={"collapse": {"field": "host.name"}})))
    run("refuse query_string", lambda: hits(es.search(index="logs-*", body={"query": {"query_string": {"query": "nonexistent"}}})))
    run("refuse date_histogram", lambda: hits(es.search(index="logs-*", body={"size": 0, "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}})))
    run("refuse composite", lambda: hits(es.search(index="logs-*", body={"size": 0, "aggs": {"c": {"composite": {"sources": [{"h": {"terms": {"field": "host.name"}}}]}}}})))
    run("refuse open_point_in_time", lambda: es.open_point_in_time(index="logs-*", keep_alive="1m"))
    run("refuse cat.indices", lambda: es.cat.indices(format="json"))


def fleet():
    # Kibana Fleet: the calls of src/services/setup/kibana.ts and src/checks/kibana/*.ts.
    kibana("kibana status", "GET", "/api/status", xsrf=False)
    kibana("fleet get package", "GET", "/api/fleet/epm/packages/cilium_tetragon?prerelease=true", xsrf=False)
    kibana("fleet install package without kbn-xsrf", "POST", "/api/fleet/epm/packages/cilium_tetragon?prerelease=true", {"force": False}, xsrf=False)
    kibana("fleet install package", "POST", "/api/fleet/epm/packages/cilium_tetragon?prerelease=true", {"force": False})
    kibana("fleet list package policies", "GET", "/api/fleet/package_policies?perPage=1000&kuery=ingest-package-policies.package.name%3Acilium_tetragon", xsrf=False)
    kibana("fleet add package policy", "POST", "/api/fleet/package_policies", {"name": "tetragon-conformance", "description": "conformance", "namespace": "default", "policy_id": "fleet-server-policy", "package": {"name": "cilium_tetragon"}})
    kibana("saved objects find dashboards", "GET", "/api/saved_objects/_find?type=dashboard&search_fields=title&search=tetragon*&per_page=20", xsrf=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "es")
