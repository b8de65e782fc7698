"""The image `tutor images build lti-provider` builds is the repository's own Dockerfile."""
import os
import re
import unittest

from tests.tutor_env import REPO_DIR, config_and_files

DOCKERFILE = "plugins/lti_provider/build/lti-provider/Dockerfile"
REPOSITORY = "https://git.example.org/openedx-lti-provider.git"


def from_git(repository_dockerfile):
    """The repository's Dockerfile with every build-context COPY reading the git source stage."""
    lines = []
    for line in repository_dockerfile.splitlines()[1:]:  # after the leading comment
        match = re.match(r"^COPY (?!--from)(.+)$", line)
        if match:
            *sources, destination = match.group(1).split()
            line = "COPY --from=source " + " ".join("/src/" + s for s in sources) + " " + destination
        lines.append(line)
    return "\n".join(lines).strip()


class ImageTest(unittest.TestCase):
    def test_stages_match_the_repository_dockerfile(self):
        _config, files = config_and_files(LTI_PROVIDER_REPOSITORY=REPOSITORY, LTI_PROVIDER_REPOSITORY_VERSION="main")
        rendered = files[DOCKERFILE]
        self.assertIn(f"ADD {REPOSITORY}#main /src", rendered)
        after_source = rendered.split(f"ADD {REPOSITORY}#main /src", 1)[1].strip()
        with open(os.path.join(REPO_DIR, "Dockerfile"), encoding="utf-8") as dockerfile:
            self.assertEqual(after_source, from_git(dockerfile.read()))

    def test_default_version_is_the_release_tag(self):
        _config, files = config_and_files(LTI_PROVIDER_REPOSITORY=REPOSITORY)
        self.assertIn(f"ADD {REPOSITORY}#v0.1.0 /src", files[DOCKERFILE])

    def test_build_without_a_repository_says_what_to_set(self):
        _config, files = config_and_files()
        self.assertNotIn("ADD", files[DOCKERFILE])
        self.assertRegex(files[DOCKERFILE], r'RUN echo ".*LTI_PROVIDER_REPOSITORY.*LTI_PROVIDER_DOCKER_IMAGE.*" >&2 && exit 1')
