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

/* Check every address before changing anything; exit code on error. */
static int vr_parse_addrs(const char *cmd, int argc, char **argv,
			  char (*addrs)[VR_ADDR_SIZE])
{
	int i;

	if (argc < 1)
		return vr_usage_error(cmd, "which devices? (addresses like 0000:03:00.0)");
	for (i = 0; i < argc; i++)
		if (!vr_normalize_addr(argv[i], addrs[i]))
			return vr_usage_error(cmd, "'%s' is not a PCI address ([dddd:]bb:ss.f)",
					      argv[i]);
	return VR_EXIT_OK;
}

int vr_cmd_claim(const struct vr_opts *o, int argc, char **argv)
{
	char (*addrs)[VR_ADDR_SIZE];
	int i, ret, failed = 0;
	struct vr_device d;
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
	for (i = 0; i < argc - 1; i++) {
		ret = vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_CLAIM, addrs[i],
				   &d);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "claim %s", addrs[i]);
			vr_nl_fail(&nl, what, ret);
			failed++;
			continue;
		}
		if (vr_wait_driver(o, addrs[i], "vfio-pci", VR_BIND_WAIT_MS)) {
			vr_err("%s: reserved, but vfio-pci did not bind it: modprobe vfio-pci, and see dmesg",
			       addrs[i]);
			failed++;
			continue;
		}
		if (d.has_group)
			printf("%s: reserved, bound to vfio-pci (IOMMU group %u: /dev/vfio/%u)\n",
			       addrs[i], d.group, d.group);
		else
			printf("%s: reserved, bound to vfio-pci (no IOMMU group: the IOMMU is off)\n",
			       addrs[i]);
	}
	vr_nl_close(&nl);
	ret = failed ? VR_EXIT_FAIL : VR_EXIT_OK;
out:
	free(addrs);
	return ret;
}

int vr_cmd_release(const struct vr_opts *o, int argc, char **argv)
{
	char (*addrs)[VR_ADDR_SIZE];
	char users[512], driver[VR_NAME_SIZE];
	int i, ret, failed = 0;
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
		ret = vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_RELEASE,
				   addrs[i], &d);
		/* Refused while in use: say by whom. */
		if (ret == -EBUSY &&
		    !vr_nl_device(&nl, VFIO_RESERVE_CMD_DEVICE_GET, addrs[i], &d) &&
		    d.has_group &&
		    vr_vfio_users(o, d.group, users, sizeof(users)) > 0)
			vr_err("%s: refused, its IOMMU group %u is in use by %s: stop that VM first",
			       what, d.group, users);
		else if (ret)
			vr_nl_fail(&nl, what, ret);
		if (ret) {
			failed++;
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
	ret = failed ? VR_EXIT_FAIL : VR_EXIT_OK;
out:
	free(addrs);
	return ret;
}
