"""Caddy: a site for LTI_PROVIDER_HOST proxied to the service; HTTPS follows ENABLE_HTTPS."""
import re
import unittest

from tests.tutor_env import config_and_files


def sites(caddyfile):
    """Top-level blocks of a Caddyfile: {address: body}; checks the braces balance."""
    blocks, depth, address, body = {}, 0, None, []
    for line in caddyfile.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if depth == 0 and stripped.endswith("{"):
            address, body = stripped[:-1].strip(), []
        elif depth > 0:
            body.append(stripped)
        depth += stripped.count("{") - stripped.count("}")
        if depth < 0:
            raise AssertionError(f"unbalanced braces at: {line}")
        if depth == 0 and address is not None:
            blocks[address] = "\n".join(body)
            address = None
    if depth != 0:
        raise AssertionError("unbalanced braces at end of Caddyfile")
    return blocks


class CaddyTest(unittest.TestCase):
    def test_site_proxies_the_service_port(self):
        _config, files = config_and_files()
        blocks = sites(files["apps/caddy/Caddyfile"])
        self.assertIn("lti.learn.example.org{$default_site_port}", blocks)
        body = blocks["lti.learn.example.org{$default_site_port}"]
        self.assertIn('import proxy "lti-provider:3000"', body)
        self.assertRegex(body, r"max_size \d+MB")

    def test_host_is_configurable(self):
        _config, files = config_and_files(LTI_PROVIDER_HOST="tools.example.net")
        self.assertIn("tools.example.net{$default_site_port}", sites(files["apps/caddy/Caddyfile"]))

    def test_public_url_scheme_follows_enable_https(self):
        # Caddy obtains certificates itself for sites without a port (Tutor sets default_site_port
        # to ":80" only without HTTPS); the service must then sign and check https:// URLs.
        for https, scheme in ((True, "https"), (False, "http")):
            _config, files = config_and_files(ENABLE_HTTPS=https)
            env = files["plugins/lti_provider/apps/lti-provider/config.env"]
            self.assertIn(f"PUBLIC_URL={scheme}://lti.learn.example.org\n", env)
            self.assertIn(f"LMS_URL={scheme}://learn.example.org\n", env)
            settings = files["apps/openedx/settings/lms/production.py"]
            self.assertIn(f'LTI_PROVIDER_ISSUER = "{scheme}://lti.learn.example.org"', settings)
            self.assertTrue(re.search(r"header_up X-Forwarded-Port " + ("443" if https else "80"), files["apps/caddy/Caddyfile"]))
