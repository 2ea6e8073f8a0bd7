# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make deb: build/slotlb_VERSION_ARCH.deb from this tree (dpkg-deb, see
# dist/debian/build-deb.sh), plus build/slotlb.deb pointing at it. The
# version is the commit's date and hash (0.0~gitYYYYMMDD.HASH), "+dirty"
# when the tree has uncommitted changes.

# Expanded only by `make deb` (=, not :=), so other targets run no git.
DEB_DIR         = $(BUILD)/deb
DEB_MAINTAINER ?= slotlb developers <slotlb@localhost>
DEB_VERSION    ?= $(shell git log -1 --format='0.0~git%cd.%h' \
			--date=format:%Y%m%d 2>/dev/null || echo 0.0)$(shell \
			git diff --quiet HEAD -- 2>/dev/null || echo +dirty)
DEB_ARCH        = $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE        = $(BUILD)/slotlb_$(DEB_VERSION)_$(DEB_ARCH).deb

.PHONY: deb
deb: all
	$(Q)rm -rf $(DEB_DIR) $(BUILD)/slotlb_*.deb $(BUILD)/slotlb.deb
	$(Q)umask 022 && $(MAKE) --no-print-directory install \
		DESTDIR=$(abspath $(DEB_DIR))/debian/slotlb PREFIX=/usr \
		UNITDIR=/lib/systemd/system >/dev/null
	$(Q)umask 022 && dist/debian/build-deb.sh $(DEB_DIR) \
		'$(DEB_VERSION)' '$(DEB_MAINTAINER)' $(DEB_FILE)
	$(Q)ln -s $(notdir $(DEB_FILE)) $(BUILD)/slotlb.deb
