# The plugin releases with the service: its version is the service's (package.json), and the
# default image tag is this version, so a plugin upgrade moves the service with it.
__version__ = "0.1.0"
