# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make install [PREFIX=/usr/local] [DESTDIR=...], make uninstall.
#
# The XDP program is not installed as a file: libslotlb embeds it in
# slotlbd through the bpftool skeleton (build/slotlb.skel.h), so the
# daemon and the program it loads always come from the same build.
# The config file is installed only where none exists, and uninstall
# removes it only while it is still the shipped one, so an operator's
# settings survive both. uninstall removes the directories install may
# have created when they are left empty (/etc/slotlb, man8, the unit and
# completion directories), never bin or sbin. The bash completion script is written from the
# CLI's own tables by `slotlb --completion bash`.

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
# slotlbd reads /etc/slotlb/slotlbd.conf whatever the prefix.
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL     ?= install

BASH_COMPLETION := $(BUILD)/dist/slotlb.bash
SLOTLBD_UNIT    := $(BUILD)/dist/slotlbd.service

$(BASH_COMPLETION): $(BUILD)/slotlb
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BUILD)/slotlb --completion bash >$@

# The unit names the installed daemon, so it depends on SBINDIR: always
# rewritten (cheap), never stale after an install with another prefix.
.PHONY: $(SLOTLBD_UNIT)
$(SLOTLBD_UNIT): dist/systemd/slotlbd.service.in
	$(Q)mkdir -p $(@D)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' $< >$@

ALL_TARGETS += $(BASH_COMPLETION)

# What install puts where: "SOURCE DESTINATION MODE" per file, the
# destination relative to DESTDIR. uninstall removes the same list.
INSTALL_FILES = \
	$(BUILD)/slotlb:$(BINDIR)/slotlb:0755 \
	$(BUILD)/slotlbd:$(SBINDIR)/slotlbd:0755 \
	docs/slotlb.8:$(MANDIR)/man8/slotlb.8:0644 \
	docs/slotlbd.8:$(MANDIR)/man8/slotlbd.8:0644 \
	$(SLOTLBD_UNIT):$(UNITDIR)/slotlbd.service:0644 \
	$(BASH_COMPLETION):$(BASHCOMPDIR)/slotlb:0644
CONF_SRC  := dist/slotlbd.conf
CONF_DEST  = $(SYSCONFDIR)/slotlb/slotlbd.conf

.PHONY: install uninstall
install: $(BUILD)/slotlb $(BUILD)/slotlbd $(BASH_COMPLETION) $(SLOTLBD_UNIT)
	$(Q)set -e; for f in $(INSTALL_FILES); do \
		src=$${f%%:*}; rest=$${f#*:}; dst=$${rest%:*}; mode=$${rest##*:}; \
		printf '  %-8s %s\n' INSTALL "$(DESTDIR)$$dst"; \
		$(INSTALL) -D -m "$$mode" "$$src" "$(DESTDIR)$$dst"; \
	done
	$(Q)if [ -e "$(DESTDIR)$(CONF_DEST)" ]; then \
		printf '  %-8s %s\n' KEEP "$(DESTDIR)$(CONF_DEST)"; \
	else \
		printf '  %-8s %s\n' INSTALL "$(DESTDIR)$(CONF_DEST)"; \
		$(INSTALL) -D -m 0644 $(CONF_SRC) "$(DESTDIR)$(CONF_DEST)"; \
	fi

uninstall:
	$(Q)for f in $(INSTALL_FILES); do \
		rest=$${f#*:}; dst=$${rest%:*}; \
		[ -e "$(DESTDIR)$$dst" ] || continue; \
		printf '  %-8s %s\n' RM "$(DESTDIR)$$dst"; \
		rm -f "$(DESTDIR)$$dst"; \
	done
	$(Q)if cmp -s $(CONF_SRC) "$(DESTDIR)$(CONF_DEST)"; then \
		printf '  %-8s %s\n' RM "$(DESTDIR)$(CONF_DEST)"; \
		rm -f "$(DESTDIR)$(CONF_DEST)"; \
	elif [ -e "$(DESTDIR)$(CONF_DEST)" ]; then \
		printf '  %-8s %s (changed: kept)\n' KEEP "$(DESTDIR)$(CONF_DEST)"; \
	fi
	$(Q)for d in $(SYSCONFDIR)/slotlb $(MANDIR)/man8 $(UNITDIR) \
		$(dir $(UNITDIR)) $(BASHCOMPDIR) $(dir $(BASHCOMPDIR)); do \
		rmdir "$(DESTDIR)$$d" 2>/dev/null || true; \
	done
