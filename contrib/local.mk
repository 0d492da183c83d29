## contrib/local.mk: operator tooling (included by the top-level Makefile.am).
## Wireshark dissector, systemd units, and their tests.  Paths are relative to
## the top of the tree (non-recursive build).

EXTRA_DIST += \
	contrib/wireshark/rcfs.lua \
	contrib/systemd/rcfsd@.service \
	contrib/systemd/rcfs-redis@.service \
	contrib/systemd/rcfs-wait-ready \
	docs/deploy.md

TESTS += t/ops/dissector.sh t/ops/systemd.sh
dist_check_SCRIPTS += t/ops/dissector.sh t/ops/systemd.sh
