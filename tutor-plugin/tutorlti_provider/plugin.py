"""
Tutor plugin ``lti_provider``: runs openedx-lti-provider beside the LMS and wires the LMS side.

Everything an operator sets is a ``LTI_PROVIDER_*`` config key (README.md lists them). Patches
live one per file in ``patches/`` (the file name is the Tutor patch name); templates rendered into
the Tutor environment live in ``templates/lti_provider/``.
"""
from __future__ import annotations

import os
import typing as t
from glob import glob

from tutor import hooks

from .__about__ import __version__

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
TEMPLATES_ROOT = os.path.join(PACKAGE_DIR, "templates")
PATCHES_DIR = os.path.join(PACKAGE_DIR, "patches")

# The service's image name; also its docker compose service, k8s Deployment/Service and the
# "<name>-job" Tutor runs init tasks in.
SERVICE = "lti-provider"

# Order matters: Tutor renders config values in one pass, in order, so a default may only refer
# to keys that are literals or come before it (LMS_HOST and the other core keys always do).
DEFAULTS: dict[str, t.Any] = {
    "VERSION": __version__,
    # A local tag: `tutor local launch` builds it; for Kubernetes, point it at your registry and push.
    "DOCKER_IMAGE": "openedx-lti-provider:{{ LTI_PROVIDER_VERSION }}",
    # Where the image build and the LMS companion come from: the service's git repository.
    "REPOSITORY": "",
    "REPOSITORY_VERSION": "v{{ LTI_PROVIDER_VERSION }}",
    "COMPANION_REQUIREMENT": (
        "{% if LTI_PROVIDER_REPOSITORY %}openedx-lti-provider-companion @ "
        "git+{{ LTI_PROVIDER_REPOSITORY }}@{{ LTI_PROVIDER_REPOSITORY_VERSION }}"
        "#subdirectory=lms-plugin{% endif %}"
    ),
    "HOST": "lti.{{ LMS_HOST }}",
    "LOG_LEVEL": "info",
    # Caddy (and in k8s the ingress) sit in front on private addresses.
    "TRUST_PROXY": "loopback,uniquelocal",
    "MYSQL_DATABASE": "lti_provider",
    "MYSQL_USERNAME": "lti_provider",
    # LMS side: the staff service user owning the client-credentials application.
    "LMS_SERVICE_USERNAME": "lti-provider",
    "LMS_SERVICE_EMAIL": "lti-provider@openedx",
    "LMS_CLIENT_ID": "lti-provider",
    "SESSION_HANDOFF": "relay",
    "RELAY_CONSUMER_KEY": "lti-provider-relay",
    "USER_EMAIL_DOMAIN": "lti.{{ LMS_HOST }}",
    # The service registers LMS accounts from one address; the LMS allows 60 a week per IP unless
    # raised. Empty leaves the LMS's own limit (it guards every registration, not only ours).
    "LMS_REGISTRATION_RATELIMIT": "",
    # Event bus: Kafka as soon as the operator names brokers, else Tutor's own Redis bus.
    "KAFKA_BOOTSTRAP_SERVERS": "",
    "KAFKA_SCHEMA_REGISTRY_URL": "",
    "KAFKA_GROUP_ID": "lti-provider",
    "KAFKA_PIP_REQUIREMENTS": ["confluent-kafka[avro,schema-registry]"],
    "EVENT_BUS": "{% if LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS %}kafka{% else %}redis{% endif %}",
    # Tutor's LMS settings set EVENT_BUS_TOPIC_PREFIX = 'dev' and write the Redis bus to
    # redis://@redis:6379/ (common_all.py): the service must read the same stream.
    "EVENT_BUS_TOPIC_PREFIX": "dev",
    "REDIS_URL": "redis://redis:6379/0",
    "REDIS_CONSUMER_GROUP": "lti-provider",
    "EXTRA_ENV": {},
    "EXTRA_SECRET_ENV": {},
    "REPLICAS": 1,
    "K8S_CPU_REQUEST": "100m",
    "K8S_MEMORY_REQUEST": "192Mi",
    "K8S_MEMORY_LIMIT": "512Mi",
}

# Generated once by `tutor config save` and kept in config.yml.
UNIQUE: dict[str, str] = {
    "SECRET_KEY": "{{ 48|random_string }}",
    "ADMIN_TOKEN": "{{ 48|random_string }}",
    "MYSQL_PASSWORD": "{{ 24|random_string }}",
    "LMS_CLIENT_SECRET": "{{ 48|random_string }}",
    "RELAY_CONSUMER_SECRET": "{{ 48|random_string }}",
}

# Each init task runs in "<service>-job": Tutor's MySQL client image, the LMS image, our image.
INIT_TASKS = ("mysql", "lms", SERVICE)

# Settings patches that must see what other plugins set before them (EVENT_BUS_PRODUCER_CONFIG).
LATE_PATCHES = ("openedx-lms-production-settings", "openedx-lms-development-settings")
# `tutor dev` reads the development settings instead: same content, one file.
SAME_PATCH = {"openedx-lms-development-settings": "openedx-lms-production-settings"}


def patch_files() -> list[tuple[str, str]]:
    patches = {}
    for path in sorted(glob(os.path.join(PATCHES_DIR, "*"))):
        with open(path, encoding="utf-8") as patch_file:
            patches[os.path.basename(path)] = patch_file.read()
    for name, source in SAME_PATCH.items():
        patches[name] = patches[source]
    return sorted(patches.items())


def init_task(service: str) -> str:
    path = os.path.join(TEMPLATES_ROOT, "lti_provider", "tasks", service, "init")
    with open(path, encoding="utf-8") as task_file:
        return task_file.read()


hooks.Filters.CONFIG_DEFAULTS.add_items([(f"LTI_PROVIDER_{key}", value) for key, value in DEFAULTS.items()])
hooks.Filters.CONFIG_UNIQUE.add_items([(f"LTI_PROVIDER_{key}", value) for key, value in UNIQUE.items()])

for _service in INIT_TASKS:
    hooks.Filters.CLI_DO_INIT_TASKS.add_item((_service, init_task(_service)))

hooks.Filters.IMAGES_BUILD.add_item(
    (SERVICE, ("plugins", "lti_provider", "build", SERVICE), "{{ LTI_PROVIDER_DOCKER_IMAGE }}", ())
)
hooks.Filters.IMAGES_PULL.add_item((SERVICE, "{{ LTI_PROVIDER_DOCKER_IMAGE }}"))
hooks.Filters.IMAGES_PUSH.add_item((SERVICE, "{{ LTI_PROVIDER_DOCKER_IMAGE }}"))


@hooks.Filters.IMAGES_BUILD_REQUIRED.add()
def _build_on_launch(image_names: list[str], context_name: str) -> list[str]:
    # `tutor local launch` must not pull an image nobody published, and the LMS image must carry
    # the companion; in dev, Tutor builds its own openedx-dev image from the same Dockerfile.
    wanted = [SERVICE] + (["openedx"] if context_name == "local" else [])
    return image_names + [name for name in wanted if name not in image_names]


@hooks.Filters.APP_PUBLIC_HOSTS.add()
def _public_hosts(hosts: list[str], context_name: str) -> list[str]:
    if context_name == "local":
        hosts.append("{{ LTI_PROVIDER_HOST }}")
    return hosts


hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(TEMPLATES_ROOT)
hooks.Filters.ENV_TEMPLATE_TARGETS.add_items(
    [
        ("lti_provider/apps", "plugins"),
        ("lti_provider/build", "plugins"),
    ]
)

for _name, _content in patch_files():
    hooks.Filters.ENV_PATCHES.add_item(
        (_name, _content),
        priority=hooks.priorities.LOW if _name in LATE_PATCHES else hooks.priorities.DEFAULT,
    )
