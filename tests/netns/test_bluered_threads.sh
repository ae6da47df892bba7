#!/bin/bash
# test_bluered_threads.sh: test_bluered.sh (every assertion of it) with
# both host edges forwarding in the userspace tier on 2 forwarding threads
# (hnvgwd --datapath userspace --fwd-threads 2; lib.sh start_host). Needs
# root. Run by `make netns-test`.
set -euo pipefail
DATAPATH=userspace FWD_THREADS=2 exec bash "$(dirname "$0")/test_bluered.sh"
