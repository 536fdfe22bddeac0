until [ -f /tmp/env-ready ]; do sleep 1; done
