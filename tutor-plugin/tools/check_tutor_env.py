#!/usr/bin/env python3
"""
Checks an environment rendered by Tutor itself with this plugin (run by tools/render-with-tutor.sh,
which sets PYTHONPATH to Tutor's source and TUTOR_ROOT). Argument: relay-redis-https or
token-kafka-http, the configuration saved just before. Exits non-zero on any failed check.
"""
import glob
import os
import subprocess
import sys
import tempfile

import yaml
from tutor import config as tutor_config
from tutor import env, hooks

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.append(PLUGIN_DIR)  # for tests/; the plugin itself is the installed wheel
from tests.tutor_env import Renderer, load_config  # noqa: E402  pylint: disable=wrong-import-position

MODE = sys.argv[1]
ROOT = os.environ["TUTOR_ROOT"]
ENV = os.path.join(ROOT, "env")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + f"[{MODE}] {what}")
    if not condition:
        failures.append(what)


def read(path):
    with open(os.path.join(ENV, path), encoding="utf-8") as file:
        return file.read()


hooks.Actions.CORE_READY.do()
check(os.path.dirname(os.path.dirname(__import__("tutorlti_provider").__file__)) != PLUGIN_DIR, "the plugin is the installed wheel")
hooks.Actions.PROJECT_ROOT_READY.do(ROOT)
config = tutor_config.load(ROOT)

for path in ("local/docker-compose.yml", "local/docker-compose.jobs.yml", "local/docker-compose.prod.yml", "dev/docker-compose.yml", "kustomization.yml"):
    check(yaml.safe_load(read(path)) is not None, f"{path} is YAML")
service = yaml.safe_load(read("local/docker-compose.yml"))["services"]["lti-provider"]
check(service["image"] == config["LTI_PROVIDER_DOCKER_IMAGE"], "compose service image")
for path in service["env_file"]:
    check(os.path.exists(os.path.normpath(os.path.join(ENV, "local", path))), f"compose env_file {path} exists")
check(yaml.safe_load(read("local/docker-compose.jobs.yml"))["services"]["lti-provider-job"]["entrypoint"] == [], "compose job entrypoint []")
for path, kind, name in (("k8s/deployments.yml", "Deployment", "lti-provider"), ("k8s/services.yml", "Service", "lti-provider"), ("k8s/jobs.yml", "Job", "lti-provider-job")):
    docs = [d for d in yaml.safe_load_all(read(path)) if d]
    check([(d["kind"], d["metadata"]["name"]) for d in docs].count((kind, name)) == 1, f"{path}: {kind} {name} among {len(docs)} objects")
kustomization = yaml.safe_load(read("kustomization.yml"))
for generator in kustomization["configMapGenerator"] + kustomization.get("secretGenerator", []):
    for path in generator.get("files", []) + generator.get("envs", []):
        check(os.path.exists(os.path.join(ENV, path.split("=")[-1])), f"kustomize input {path} exists")
for path in sorted(glob.glob(os.path.join(ENV, "apps/openedx/settings/lms/*.py"))):
    with open(path, encoding="utf-8") as settings:
        compile(settings.read(), path, "exec")
    check(True, f"{os.path.relpath(path, ENV)} compiles")
lms_env = yaml.safe_load(read("apps/openedx/config/lms.env.yml"))
relay = MODE.startswith("relay")
check((lms_env["FEATURES"].get("ENABLE_LTI_PROVIDER") is True) == relay and (lms_env.get("ENABLE_LTI_PROVIDER") is True) == relay, "ENABLE_LTI_PROVIDER only with relay")
caddyfile = read("apps/caddy/Caddyfile")
check(config["LTI_PROVIDER_HOST"] + "{$default_site_port} {" in caddyfile and 'import proxy "lti-provider:3000"' in caddyfile, "Caddy site")
dockerfile = read("build/openedx/Dockerfile")
check("openedx-lti-provider-companion @ git+" in dockerfile, "openedx Dockerfile installs the companion")
check(("confluent-kafka" in dockerfile) == MODE.endswith(("kafka-http", "kafka-https")), "confluent-kafka only with Kafka")
for service_name, task in hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(hooks.Contexts.app("lti_provider").name):
    script = env.render_str(config, task)
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as file:
        file.write(script)
        file.flush()
        bash = subprocess.run(["bash", "-n", file.name], check=False).returncode
        shellcheck = subprocess.run(["shellcheck", "--shell=sh", file.name], check=False).returncode
    check(bash == 0 and shellcheck == 0, f"init task in {service_name}-job passes bash -n and shellcheck")
holders = []
for path in glob.glob(os.path.join(ENV, "**", "*"), recursive=True):
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="ignore") as file:
            if config["LTI_PROVIDER_SECRET_KEY"] in file.read():
                holders.append(os.path.relpath(path, ENV))
check(holders == ["plugins/lti_provider/apps/lti-provider/secrets.env"], f"SECRET_KEY only in secrets.env ({holders})")

# The tests' renderer must agree with Tutor.
renderer = Renderer(config)
for parts in (("apps", "lti-provider", "config.env"), ("apps", "lti-provider", "secrets.env"), ("build", "lti-provider", "Dockerfile")):
    check(read(os.path.join("plugins", "lti_provider", *parts)).rstrip("\n") == renderer.template(*parts).rstrip("\n"), "tests/tutor_env.py renders " + "/".join(parts) + " as Tutor")
user = {k: v for k, v in tutor_config.get_user(ROOT).items() if k.startswith("LTI_PROVIDER_") or k in ("LMS_HOST", "ENABLE_HTTPS")}
template_globals = {k: v for k, v in env.Renderer(config).environment.globals.items() if k.isupper()}
ours = load_config(**template_globals, **user)
differing = [k for k in config if k.startswith("LTI_PROVIDER_") and config[k] != ours.get(k)]
check(not differing, f"tests/tutor_env.py computes the same LTI_PROVIDER_* config ({differing})")

print(f"[{MODE}] {'all checks passed' if not failures else str(len(failures)) + ' failed'}")
sys.exit(1 if failures else 0)
