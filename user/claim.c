// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * claim, release: one device now.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-reserve.h"

#define VR_BIND_WAIT_MS	5000

/*
 * A claim of several addresses failed after taking the first @n: release
 * those this command took (not those reserved before it) and hand them back
 * to their drivers, so that nothing has changed.
 */
static void vr_claim_undo(const struct vr_opts *o, struct vr_nl *nl,
			  char (*addrs)[VR_ADDR_SIZE], const bool *was, int n)
{
	struct vr_device d;
	int i, undone = 0;

	for (i = n - 1; i >= 0; i--) {
		if (was[i])
			continue;
		if (vr_nl_device(nl, VFIO_RESERVE_CMD_DEVICE_RELEASE, addrs[i],
				 &d)) {
			vr_err("%s: could not be released again: vfio-reserve release %s",
			       addrs[i], addrs[i]);
			continue;
		}
		vr_reprobe(o, addrs[i]);
		vr_wait_driver(o, addrs[i], NULL, 3000);
		undone++;
	}
	vr_err("claim: nothing claimed: all the addresses or none (%d taken before the failure released again)",
	       undone);
}

/*
 * After a claim: a group with a member still on a host driver cannot be
 * used by any VM. Say so, naming the member (the GPU's audio function left
 * on snd_hda_intel is the usual one).
 */
static void vr_claim_viability(struct vr_nl *nl, char (*addrs)[VR_ADDR_SIZE],
			       int n)
{
	struct vr_group *groups;
	const struct vr_group *g;
	struct vr_device d;
	uint32_t *seen;
	unsigned int k;
	size_t ng;
	int i, j, nseen = 0;

	if (vr_nl_groups(nl, &groups, &ng))
		return;
	seen = calloc(n > 0 ? (size_t)n : 1, sizeof(*seen));
	for (i = 0; seen && i < n; i++) {
		if (vr_nl_device(nl, VFIO_RESERVE_CMD_DEVICE_GET, addrs[i], &d) ||
		    !d.has_group)
			continue;
		for (j = 0; j < nseen && seen[j] != d.group; j++)
			;
		if (j < nseen)
			continue;	/* said once per group */
		seen[nseen++] = d.group;
		g = vr_find_group(groups, ng, d.group);
		if (!g || g->viable)
			continue;
		for (k = 0; k < g->n; k++)
			if (g->members[k].blocks)
				vr_err("warning: IOMMU group %u of %s stays non-viable: %s is on %s; claim it too, or no VM can use the group",
				       g->id, addrs[i], g->members[k].addr,
				       g->members[k].driver[0] ?
				       g->members[k].driver : "a host driver");
	}
	free(seen);
	vr_groups_free(groups, ng);
}

int vr_cmd_claim(const struct vr_opts *o, int argc, char **argv)
{
	char (*addrs)[VR_ADDR_SIZE];
	int i, ret, undo = -1;	/* on failure: how many to give back */
	int code = VR_EXIT_FAIL;	/* the failure's exit code */
	bool *was = NULL;
	struct vr_device d;
	const char *target;
	char why[256];
	struct vr_nl nl;

	addrs = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*addrs));
	if (!addrs)
		return VR_EXIT_FAIL;
	ret = vr_parse_addrs("claim", argc - 1, argv + 1, addrs);
	if (ret)
		goto out;
	for (i = 0; i < argc - 1; i++) {
		if (!vr_host_critical(o, addrs[i], why, sizeof(why)))
			continue;
		if (o->force) {
			vr_err("warning: claiming %s although %s (--force)",
			       addrs[i], why);
			continue;
		}
		vr_err("refusing to claim %s: %s; use --force to claim it anyway",
		       addrs[i], why);
		ret = VR_EXIT_FAIL;
	}
	if (ret)
		goto out;
	ret = vr_nl_open_write(&nl);
	if (ret) {
		ret = vr_nl_fail(NULL, "claim", ret);
		goto out;
	}
	/* All or nothing: what each device was before, to undo a partial claim. */
	was = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*was));
	if (!was) {
		vr_nl_close(&nl);
		ret = VR_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < argc - 1; i++)
		was[i] = !vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_GET,
				       addrs[i], &d) &&
			 d.state == VFIO_RESERVE_STATE_RESERVED;
	for (i = 0; i < argc - 1; i++) {
		ret = vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_CLAIM, addrs[i],
				   &d);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "claim %s", addrs[i]);
			code = vr_nl_fail(&nl, what, ret);
			undo = i;		/* those before it */
			break;
		}
		/* the module keeps a variant a rule chose: wait for that */
		target = d.target[0] ? d.target : "vfio-pci";
		if (vr_wait_driver(o, addrs[i], target, VR_BIND_WAIT_MS)) {
			vr_err("%s: reserved, but %s did not bind it: modprobe %s, and see dmesg",
			       addrs[i], target, target);
			undo = i + 1;	/* and this one */
			break;
		}
		if (d.has_group)
			printf("%s: reserved, bound to %s (IOMMU group %u: /dev/vfio/%u)\n",
			       addrs[i], target, d.group, d.group);
		else
			printf("%s: reserved, bound to %s (no IOMMU group: the IOMMU is off)\n",
			       addrs[i], target);
	}
	if (undo >= 0)
		vr_claim_undo(o, &nl, addrs, was, undo);
	else
		vr_claim_viability(&nl, addrs, argc - 1);
	vr_nl_close(&nl);
	ret = undo >= 0 ? code : VR_EXIT_OK;
out:
	free(was);
	free(addrs);
	return ret;
}

int vr_cmd_release(const struct vr_opts *o, int argc, char **argv)
{
	char (*addrs)[VR_ADDR_SIZE];
	char users[VR_USERS_SIZE], driver[VR_NAME_SIZE];
	int i, ret, code, worst = VR_EXIT_OK;
	struct vr_device d;
	struct vr_nl nl;

	addrs = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*addrs));
	if (!addrs)
		return VR_EXIT_FAIL;
	ret = vr_parse_addrs("release", argc - 1, argv + 1, addrs);
	if (ret)
		goto out;
	ret = vr_nl_open_write(&nl);
	if (ret) {
		ret = vr_nl_fail(NULL, "release", ret);
		goto out;
	}
	for (i = 0; i < argc - 1; i++) {
		char what[64];

		snprintf(what, sizeof(what), "release %s", addrs[i]);
		code = VR_EXIT_FAIL;	/* refused; vr_nl_fail() may say 2 */
		ret = vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_RELEASE,
				   addrs[i], &d);
		/* Refused while in use: say by whom (its group or cdev). */
		if (ret == -EBUSY &&
		    !vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_GET, addrs[i], &d) &&
		    d.has_group &&
		    vr_device_users(o, addrs[i], users, sizeof(users)) > 0)
			vr_err("%s: refused, its IOMMU group %u is in use by %s: stop that VM first",
			       what, d.group, users);
		else if (ret)
			code = vr_nl_fail(&nl, what, ret);
		if (ret) {
			worst = code > worst ? code : worst;
			continue;
		}
		vr_reprobe(o, addrs[i]);
		vr_wait_driver(o, addrs[i], NULL, 3000);
		if (vr_current_driver(o, addrs[i], driver, sizeof(driver)))
			printf("%s: released, now on %s\n", addrs[i], driver);
		else
			printf("%s: released; no driver took it back (is its driver installed? modprobe it, then echo %s > /sys/bus/pci/drivers_probe)\n",
			       addrs[i], addrs[i]);
	}
	vr_nl_close(&nl);
	ret = worst;
out:
	free(addrs);
	return ret;
}
