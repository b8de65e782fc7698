"""Kubernetes (tutor k8s): Deployment with probes and resources, Service, Job, generators."""
import unittest

import yaml

from tests.tutor_env import config_and_files


def documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def named(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


class K8sTest(unittest.TestCase):
    def setUp(self):
        self.config, self.files = config_and_files(LTI_PROVIDER_REPLICAS=2)
        self.deployment = named(documents(self.files["k8s/deployments.yml"]), "Deployment", "lti-provider")
        self.container = self.deployment["spec"]["template"]["spec"]["containers"][0]

    def test_deployment_runs_the_image_as_non_root(self):
        spec = self.deployment["spec"]
        self.assertEqual(spec["replicas"], 2)
        self.assertEqual(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])
        self.assertEqual(self.container["image"], self.config["LTI_PROVIDER_DOCKER_IMAGE"])
        self.assertEqual(self.container["ports"], [{"name": "http", "containerPort": 3000}])
        self.assertTrue(spec["template"]["spec"]["securityContext"]["runAsNonRoot"])
        self.assertFalse(self.container["securityContext"]["allowPrivilegeEscalation"])

    def test_probes_use_health_and_http_readiness(self):
        self.assertEqual(self.container["livenessProbe"]["httpGet"], {"path": "/health", "port": "http"})
        self.assertEqual(self.container["readinessProbe"]["httpGet"], {"path": "/ready/http", "port": "http"})
        self.assertEqual(self.container["startupProbe"]["httpGet"], {"path": "/health", "port": "http"})

    def test_resources_come_from_config(self):
        self.assertEqual(
            self.container["resources"],
            {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}},
        )
        _config, files = config_and_files(LTI_PROVIDER_K8S_MEMORY_LIMIT="1Gi")
        deployment = named(documents(files["k8s/deployments.yml"]), "Deployment", "lti-provider")
        self.assertEqual(deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"], {"memory": "1Gi"})

    def test_environment_comes_from_the_generated_configmap_and_secret(self):
        self.assertEqual(
            self.container["envFrom"],
            [{"configMapRef": {"name": "lti-provider-config"}}, {"secretRef": {"name": "lti-provider-secrets"}}],
        )
        self.assertNotIn("env", self.container)
        kustomization = yaml.safe_load(self.files["kustomization.yml"])
        configmap = [g for g in kustomization["configMapGenerator"] if g["name"] == "lti-provider-config"]
        self.assertEqual(configmap[0]["envs"], ["plugins/lti_provider/apps/lti-provider/config.env"])
        self.assertEqual(kustomization["secretGenerator"][0]["name"], "lti-provider-secrets")
        self.assertEqual(kustomization["secretGenerator"][0]["envs"], ["plugins/lti_provider/apps/lti-provider/secrets.env"])
        for path in configmap[0]["envs"] + kustomization["secretGenerator"][0]["envs"]:
            self.assertIn(path, self.files)
        # The core generators are still there: our list items joined Tutor's list.
        self.assertIn("caddy-config", [g["name"] for g in kustomization["configMapGenerator"]])

    def test_service_selects_the_deployment_on_the_container_port(self):
        service = named(documents(self.files["k8s/services.yml"]), "Service", "lti-provider")
        self.assertEqual(service["spec"]["selector"], self.deployment["spec"]["template"]["metadata"]["labels"])
        self.assertEqual(service["spec"]["ports"], [{"name": "http", "port": 3000, "targetPort": "http", "protocol": "TCP"}])
        named(documents(self.files["k8s/services.yml"]), "Service", "lms")

    def test_job_replaces_the_entrypoint_and_shares_the_environment(self):
        job = named(documents(self.files["k8s/jobs.yml"]), "Job", "lti-provider-job")
        container = job["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"], "Never")
        # Tutor's k8s run_task: a container with "command: []" gets sh -e -c as its command.
        self.assertEqual(container["command"], [])
        self.assertEqual(container["image"], self.container["image"])
        self.assertEqual(container["envFrom"], self.container["envFrom"])
