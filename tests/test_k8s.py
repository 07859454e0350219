"""The Kubernetes manifests (deploy/k8s): both overlays rendered by `kubectl kustomize`, every built-in object checked
against the Kubernetes schema (kubernetes-validate, strict), the operators' custom resources checked by hand (the
schema package does not know their CRDs), and the manifests checked against the code: ports, probes, commands,
settings, secrets by reference, network policies and the Ingress made from the gateway's route table."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from sciweek.gateway import INGRESS_FILE
from shared.settings import DEFAULT_PORTS, SERVICES, Settings
from tests.test_compose import accepted_environment_names

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.30.0"  # the oldest release the manifests are meant for
CUSTOM_KINDS = {"RabbitmqCluster": "rabbitmq.com/v1beta1", "MongoDBCommunity": "mongodbcommunity.mongodb.com/v1"}
# Secrets the manifests read and who makes them (README "Scale out"): none is stored in the repository.
REFERENCED_SECRETS = {
    "sciweek-secrets": "the operator team: jwt-secret, registration-qr-secret",
    "sciweek-rabbitmq-default-user": "the RabbitMQ Cluster Operator",
    **{f"sciweek-mongodb-admin-{name}": "the MongoDB Community Operator" for name in SERVICES},
    **{f"sciweek-mongodb-{name}": "the operator team: password" for name in SERVICES},
    "sciweek-tls": "cert-manager or the operator team",
}
SUBSTITUTED = {"RABBITMQ_USER", "RABBITMQ_PASSWORD"}  # only spliced into AMQP_URL as $(NAME)
Objects = list[dict[str, Any]]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, Objects]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not installed: ./scripts/test installs it (apt-get install kubectl)"
    overlay = K8S / "overlays" / request.param
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl kustomize {overlay.name}: {result.stderr}"
    return request.param, [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: Objects, kind: str) -> Objects:
    return [o for o in objects if o["kind"] == kind]


def named(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_built_in_objects_match_the_kubernetes_schema(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert {o["kind"] for o in objects} >= {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "NetworkPolicy",
        "Ingress",
        "ConfigMap",
        *CUSTOM_KINDS,
    }


def test_the_operators_resources_have_what_their_crds_require(rendered: tuple[str, Objects]) -> None:
    overlay, objects = rendered
    for kind, api_version in CUSTOM_KINDS.items():
        assert [o["apiVersion"] for o in of_kind(objects, kind)] == [api_version], kind
    rabbit = named(objects, "RabbitmqCluster", "sciweek-rabbitmq")["spec"]
    mongo = named(objects, "MongoDBCommunity", "sciweek-mongodb")["spec"]
    assert (rabbit["replicas"], mongo["members"]) == ((1, 1) if overlay == "dev" else (3, 3))
    assert mongo["type"] == "ReplicaSet" and mongo["version"].startswith("7.")
    assert "SCRAM" in mongo["security"]["authentication"]["modes"]
    users = {u["name"]: u for u in mongo["users"]}
    assert set(users) == set(SERVICES)
    for name, user in users.items():  # each service may use its own database, and only that
        assert user["roles"] == [{"name": "readWrite", "db": f"sciweek_{name}"}]
        assert user["passwordSecretRef"]["name"] == f"sciweek-mongodb-{name}" and user["scramCredentialsSecretName"]
        assert user["db"] == "admin"  # the operator's connection-string Secret: <resource>-<db>-<user>


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_its_deployment_service_budget_and_autoscaler(
    rendered: tuple[str, Objects], name: str
) -> None:
    _, objects = rendered
    deployment = named(objects, "Deployment", name)
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], labels)
    [container] = pod["spec"]["containers"]
    assert container["command"] == ["sciweek", "serve", name]
    assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_PORTS[name]}]
    # the README's "Probes": liveness /healthz restarts a stuck process, readiness /readyz = MongoDB answers
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"
    [init] = pod["spec"]["initContainers"]
    assert init["command"][:3] == ["sciweek", "topology", "--wait"]

    service = named(objects, "Service", name)
    assert selects(service["spec"]["selector"], labels)
    assert service["spec"]["ports"][0]["name"] == "http" and service["spec"]["ports"][0]["targetPort"] == "http"
    assert selects(named(objects, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"], labels)
    hpa = named(objects, "HorizontalPodAutoscaler", name)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_the_readme_shows_the_probes_the_manifests_use() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "livenessProbe:  {httpGet: {path: /healthz" in readme
    assert "readinessProbe: {httpGet: {path: /readyz" in readme


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] in ("Deployment", "Job") else {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def test_secrets_are_referenced_never_stored(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    assert not of_kind(objects, "Secret"), "a Secret object would put its values in the repository"
    referenced: set[str] = set()
    for obj in objects:
        for container in containers(obj):
            for env in container.get("env", []):
                if re.search(r"SECRET|PASSWORD|MONGODB_URL", env["name"]):
                    assert "valueFrom" in env, f"{obj['metadata']['name']}: {env['name']} is a literal value"
                if "valueFrom" in env:
                    referenced.add(env["valueFrom"]["secretKeyRef"]["name"])
    mongo = named(objects, "MongoDBCommunity", "sciweek-mongodb")
    referenced |= {u["passwordSecretRef"]["name"] for u in mongo["spec"]["users"]}
    referenced |= {t["secretName"] for i in of_kind(objects, "Ingress") for t in i["spec"].get("tls", [])}
    assert referenced <= set(REFERENCED_SECRETS), f"undocumented secrets: {referenced - set(REFERENCED_SECRETS)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for secret in {s.rsplit("-", 1)[0] if "mongodb" in s else s for s in referenced}:
        assert secret in readme, f"README does not say who creates the Secret {secret}"


@pytest.mark.parametrize("name", SERVICES)
def test_a_services_environment_is_read_by_its_settings(
    rendered: tuple[str, Objects], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, objects = rendered
    [config] = of_kind(objects, "ConfigMap")
    [container] = named(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
    env = dict(config["data"])
    for item in container["env"]:  # secrets as the operators would fill them in
        env[item["name"]] = item.get("value") or f"from-secret-{item['name'].lower()}-0123456789abcdef0123456789"
    env["MONGODB_URL"] = "mongodb://u:p@sciweek-mongodb-svc:27017/admin?replicaSet=sciweek-mongodb"
    unknown = sorted(k for k in env if k.upper() not in accepted_environment_names() | SUBSTITUTED)
    assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    for key in list(os.environ):
        if key.upper() in accepted_environment_names():
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], value))
    settings = Settings(service=name)
    assert (settings.port, settings.host) == (DEFAULT_PORTS[name], "0.0.0.0")
    assert settings.amqp_url.endswith("@sciweek-rabbitmq:5672/")
    assert ("SCIWEEK_REGISTRATION_QR_SECRET" in env) == (name == "registration")


def test_the_topology_job_declares_for_every_service(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    job = named(objects, "Job", "sciweek-topology")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sciweek", "topology"]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"


def pod_labels(objects: Objects) -> dict[str, dict[str, str]]:
    """The labels of every kind of pod: ours from their templates, the operators' as they label theirs."""
    labels = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in of_kind(objects, "Deployment")
    }
    labels["topology"] = named(objects, "Job", "sciweek-topology")["spec"]["template"]["metadata"]["labels"]
    labels["rabbitmq"] = {"app.kubernetes.io/name": "sciweek-rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
    labels["mongodb"] = {"app": "sciweek-mongodb-svc"}
    return labels


def egress_targets(objects: Objects, pod: dict[str, str]) -> set[tuple[str, int | str]]:
    """(pod kind or 'outside', port) a pod may connect to, from every NetworkPolicy that selects it."""
    kinds = pod_labels(objects)
    reached: set[tuple[str, int | str]] = set()
    for policy in of_kind(objects, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"].get("matchLabels", {}), pod):
            continue
        for rule in policy["spec"].get("egress", []):
            peers = rule.get("to") or [{}]
            for peer in peers:
                if "namespaceSelector" in peer:
                    target = "kube-dns"
                elif "podSelector" in peer:
                    matched = [k for k, labels in kinds.items() if selects(peer["podSelector"]["matchLabels"], labels)]
                    target = ",".join(sorted(matched))
                else:
                    target = "outside"
                reached |= {(target, p["port"]) for p in rule.get("ports", [])}
    return reached


def test_each_service_reaches_only_the_database_and_the_broker(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    deny = named(objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    labels = pod_labels(objects)
    for name in SERVICES:
        assert egress_targets(objects, labels[name]) == {
            ("kube-dns", 53),
            ("mongodb", 27017),
            ("rabbitmq", 5672),
            ("outside", 25),  # reporting's e-mail notices (SMTP)
            ("outside", 587),
        }, name
    assert egress_targets(objects, labels["topology"]) == {("kube-dns", 53), ("rabbitmq", 5672)}


def test_the_ingress_is_the_gateways_route_table(rendered: tuple[str, Objects]) -> None:
    overlay, objects = rendered
    base = yaml.safe_load(INGRESS_FILE.read_text(encoding="utf-8"))  # generated: tests/sciweek/test_gateway.py
    [rendered_ingress] = of_kind(objects, "Ingress")
    assert rendered_ingress["spec"]["rules"][0]["http"] == base["spec"]["rules"][0]["http"]
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for rule in rendered_ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] in services and backend["port"] == {"name": "http"}
    if overlay == "production":
        assert rendered_ingress["spec"]["rules"][0]["host"] and rendered_ingress["spec"]["tls"][0]["secretName"]
