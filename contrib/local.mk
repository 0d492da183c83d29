## contrib/local.mk: operator tooling (included by the top-level Makefile.am).
## Wireshark dissector, systemd units, and their tests.  Paths are relative to
## the top of the tree (non-recursive build).

## ---- systemd units ----
## contrib/systemd/*.service name the default-prefix paths (/usr/local/...).
## `make` writes copies with this build's sbindir/bindir/libexecdir/docdir;
## `make install` puts them in $(systemdunitdir), which systemd searches when
## the prefix is /usr or /usr/local (override: make systemdunitdir=DIR).
systemdunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
rcfslibexecdir = $(libexecdir)/rcfs

systemdunit_DATA = \
	contrib/systemd/gen/rcfsd@.service
systemdunit_DATA += \
	contrib/systemd/gen/rcfs-redis@.service
dist_rcfslibexec_SCRIPTS = contrib/systemd/rcfs-wait-ready
CLEANFILES += $(systemdunit_DATA)

sysusers_DATA = contrib/systemd/gen/rcfs.conf
CLEANFILES += contrib/systemd/gen/rcfs.conf
contrib/systemd/gen/rcfs.conf: contrib/systemd/rcfs.sysusers.conf
	@$(MKDIR_P) contrib/systemd/gen
	$(AM_V_GEN)cp $(srcdir)/contrib/systemd/rcfs.sysusers.conf $@

UNIT_SED = sed -e 's|/usr/local/sbin/|$(sbindir)/|g' \
	-e 's|/usr/local/bin/|$(bindir)/|g' \
	-e 's|/usr/local/libexec/rcfs/|$(rcfslibexecdir)/|g' \
	-e 's|/usr/local/share/doc/rcfs/|$(docdir)/|g'
contrib/systemd/gen/rcfsd@.service: contrib/systemd/rcfsd@.service Makefile
	@$(MKDIR_P) contrib/systemd/gen
	$(AM_V_GEN)$(UNIT_SED) $(srcdir)/contrib/systemd/rcfsd@.service > $@.tmp && mv $@.tmp $@
contrib/systemd/gen/rcfs-redis@.service: contrib/systemd/rcfs-redis@.service Makefile
	@$(MKDIR_P) contrib/systemd/gen
	$(AM_V_GEN)$(UNIT_SED) $(srcdir)/contrib/systemd/rcfs-redis@.service > $@.tmp && mv $@.tmp $@

## logrotate for log_file = "/var/log/rcfs/NODE.log" (the journal is the default).
logrotatedir = $(sysconfdir)/logrotate.d
logrotate_DATA = contrib/systemd/gen/rcfs
CLEANFILES += contrib/systemd/gen/rcfs
contrib/systemd/gen/rcfs: contrib/systemd/rcfs.logrotate
	@$(MKDIR_P) contrib/systemd/gen
	$(AM_V_GEN)cp $(srcdir)/contrib/systemd/rcfs.logrotate $@

EXTRA_DIST += \
	contrib/systemd/rcfs.logrotate \
	contrib/wireshark/rcfs.lua \
	contrib/systemd/rcfsd@.service \
	contrib/systemd/rcfs-redis@.service \
	contrib/systemd/rcfs.sysusers.conf

## bash completion: bash-completion looks in $(datadir)/bash-completion/completions
## (/usr/local/share/... is on its XDG_DATA_DIRS path).
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = contrib/bash-completion/rcfs

## The guides, installed where the units' Documentation= points: the
## deployment guide and every document it refers to.
rcfsdocdir = $(docdir)
dist_rcfsdoc_DATA = docs/deploy.md docs/operations.md docs/security.md docs/metrics.md \
	docs/clock.md docs/raft.md docs/design.md docs/protocol.md

## ---- tests ----
TESTS += t/ops/dissector.sh t/ops/systemd.sh t/ops/live.sh
dist_check_SCRIPTS += t/ops/dissector.sh t/ops/systemd.sh t/ops/live.sh
CLEANFILES += t/ops/live-dashboard.dom.html t/ops/live-dashboard.png \
	t/ops/live-metrics-n1.txt t/ops/live-metrics-n2.txt t/ops/live-metrics-n3.txt
