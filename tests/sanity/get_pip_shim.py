"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from a host this project's machines cannot reach, and uses a
copy cached at ~/.ansible/test/cache/get_pip_<version>.py when there is one. This shim is put
there by tests/lint/test_lint.py: it installs pip with the interpreter's own ensurepip, then runs
`pip install` with the arguments ansible-test passes (pip==<version>, setuptools, wheel) from PyPI.
"""

import os
import subprocess
import sys

# ansible-test runs pip with a filtered environment (no PIP_CERT / SSL_CERT_FILE). Where the
# machine's CA bundle is the system one, name it in the venv's own pip.conf so that this and
# every later pip call in the venv verify TLS against it.
CA_BUNDLE = os.environ.get("DPG_PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
if os.path.exists(CA_BUNDLE):
    with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
        conf.write("[global]\ncert = %s\n" % CA_BUNDLE)

# get-pip.py's own flags; plain pip does not know them
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
# in a child process: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own environment
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args))
