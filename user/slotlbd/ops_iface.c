/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attach and detach the XDP program, persisted so start-up attaches the
 * same interfaces again (reconcile.c). Attaching is persisted first and
 * detaching forgets last, so a crash in between errs on the side of
 * attaching, as the database says.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     const char *trigger, struct op_result *res)
{
	char detail[96];
	unsigned int ifindex = if_nametoindex(iface->ifname);
	struct st_iface *known = NULL, *was = NULL;
	size_t i, n_known = 0;
	int err;

	if (!ifindex) {
		op_fail(res, 404, "%s: no such interface", iface->ifname);
		return -ENODEV;
	}
	pthread_mutex_lock(&d->lock);
	/* what is remembered now comes back if this attach fails */
	err = state_iface_list(d->st, &known, &n_known);
	if (err) {
		op_fail(res, 500, "%s: database: %s", iface->ifname,
			strerror(-err));
		goto out;
	}
	for (i = 0; i < n_known && !was; i++)
		if (!strcmp(known[i].ifname, iface->ifname))
			was = &known[i];
	/* persisted first: if we die before attaching, start-up attaches */
	err = state_iface_put(d->st, iface);
	if (err) {
		op_fail(res, 500, "%s: database: %s", iface->ifname,
			strerror(-err));
		goto out;
	}
	err = slotlb_attach(d->lb, (int)ifindex,
			    iface->generic ? SLOTLB_XDP_GENERIC
					   : SLOTLB_XDP_NATIVE,
			    iface->force, slotlb_parse_role(iface->role));
	if (err) {
		if (err == -EBUSY || err == -EEXIST)
			op_fail(res, 409,
				"%s: another XDP program is attached (force replaces it)",
				iface->ifname);
		else
			op_fail(res, 500, "%s: attach: %s", iface->ifname,
				strerror(-err));
		if (was)
			state_iface_put(d->st, was);
		else
			state_iface_delete(d->st, iface->ifname);
		goto out;
	}
	res->status = 201;
	snprintf(detail, sizeof(detail), "interface %s attached (%s, %s)",
		 iface->ifname, iface->role,
		 iface->generic ? "generic" : "native");
	op_history(d, "", "interface", NULL, NULL, trigger, "ok", detail, NULL,
		   &res->history_id);
	log_msg("%s", detail);
out:
	pthread_mutex_unlock(&d->lock);
	free(known);
	return err;
}

int ops_iface_detach(struct daemon *d, const char *ifname, const char *trigger,
		     struct op_result *res)
{
	char detail[64];
	unsigned int ifindex = if_nametoindex(ifname);
	int err = 0, derr;

	pthread_mutex_lock(&d->lock);
	/* detached first: if we die before forgetting it, start-up
	 * attaches it again, as the database still says */
	if (ifindex) {
		err = slotlb_detach((int)ifindex);
		if (err == -EBUSY) {
			op_fail(res, 409,
				"%s: the XDP program there is not slotlb's",
				ifname);
			goto out;
		}
		if (err && err != -ENOENT) {
			op_fail(res, 500, "%s: detach: %s", ifname,
				strerror(-err));
			goto out;
		}
	}
	derr = state_iface_delete(d->st, ifname);
	if (derr == -ENOENT && (err == -ENOENT || !ifindex)) {
		op_fail(res, 404, "%s: %s", ifname,
			ifindex ? "not attached" : "no such interface");
		err = -ENOENT;
		goto out;
	}
	if (derr && derr != -ENOENT) {
		op_fail(res, 500, "%s: database: %s", ifname, strerror(-derr));
		err = derr;
		goto out;
	}
	err = 0;
	res->status = 204;
	snprintf(detail, sizeof(detail), "interface %s detached", ifname);
	op_history(d, "", "interface", NULL, NULL, trigger, "ok", detail, NULL,
		   &res->history_id);
	log_msg("%s", detail);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}
