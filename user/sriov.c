// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * sriov: create the VFs of a physical function. With a vf: rule they are
 * reserved for vfio-pci as the kernel creates them. The kernel changes the
 * count only from 0, so any change of a nonzero count removes every VF the
 * function has: refused, unless --force, while a VFIO user (a VM) holds
 * one of them or that cannot be told.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-reserve.h"

static int vr_write_numvfs(const struct vr_opts *o, const char *pf,
			   unsigned int val)
{
	char text[16];

	snprintf(text, sizeof(text), "%u", val);
	return vr_sysfs_write(o, pf, "sriov_numvfs", text);
}

/* The address of @pf's VF number @i in @vf; false when it has none. */
static bool vr_virtfn(const struct vr_opts *o, const char *pf, int i,
		      char vf[VR_ADDR_SIZE])
{
	char name[32];

	snprintf(name, sizeof(name), "virtfn%d", i);
	return vr_sysfs_link(o, pf, name, vf, VR_ADDR_SIZE);
}

/*
 * Before @pf's @cur VFs go: none may be held by a VFIO user, and that must
 * be known (fail closed). Return: whether to go on.
 */
static bool vr_vfs_may_go(const struct vr_opts *o, const char *pf,
			  unsigned long cur, unsigned long want)
{
	char vf[VR_ADDR_SIZE], users[VR_USERS_SIZE], why[VR_USERS_SIZE + 256] = "";
	unsigned long i;
	int n;

	for (i = 0; i < cur && !why[0]; i++) {
		if (!vr_virtfn(o, pf, (int)i, vf))
			continue;
		n = vr_device_users(o, vf, users, sizeof(users));
		if (n < 0)
			snprintf(why, sizeof(why),
				 "whether VF %s is in use cannot be told (reading %s: %s)",
				 vf, o->proc, strerror(-n));
		else if (n)
			snprintf(why, sizeof(why), "VF %s is in use by %s",
				 vf, users);
	}
	if (!why[0])
		return true;
	if (o->force) {
		vr_err("warning: removing the %lu VFs of %s although %s (--force)",
		       cur, pf, why);
		return true;
	}
	vr_err("refusing to change the VFs of %s from %lu to %lu: the kernel first removes all %lu, and %s; stop that VM first, or use --force",
	       pf, cur, want, cur, why);
	return false;
}

int vr_cmd_sriov(const struct vr_opts *o, int argc, char **argv)
{
	char pf[VR_ADDR_SIZE], val[32], vf[VR_ADDR_SIZE], drv[VR_NAME_SIZE];
	unsigned long total, cur, want = 0;
	const char *addr = NULL;
	bool numvfs = false;
	char *end;
	int i, ret;

	if (argc > 2)
		return vr_usage_error("sriov", "one physical function only: '%s' is one too many",
				      argv[2]);
	if (argc == 2)
		addr = argv[1];
	if (o->numvfs) {
		errno = 0;
		want = strtoul(o->numvfs, &end, 10);
		numvfs = true;
		if (*end || !*o->numvfs || *o->numvfs == '-' || errno)
			return vr_usage_error("sriov", "--numvfs takes a number, not '%s'",
					      o->numvfs);
	}
	if (!addr)
		return vr_usage_error("sriov", "which physical function, and --numvfs N?");
	if (!numvfs)
		return vr_usage_error("sriov", "--numvfs N is required: the number of VFs %s is to have (0 removes them all)",
				      addr);
	if (!vr_normalize_addr(addr, pf))
		return vr_usage_error("sriov", "'%s' is not a PCI address ([dddd:]bb:ss.f)",
				      addr);
	if (vr_sysfs_dev(o, pf, "sriov_totalvfs", val, sizeof(val))) {
		vr_err("%s is not an SR-IOV physical function (no sriov_totalvfs)", pf);
		return VR_EXIT_FAIL;
	}
	total = strtoul(val, NULL, 10);
	if (want > total) {
		vr_err("%s supports at most %lu VFs (sriov_totalvfs)", pf, total);
		return VR_EXIT_FAIL;
	}
	if (vr_sysfs_dev(o, pf, "sriov_numvfs", val, sizeof(val))) {
		vr_err("cannot read the VF count of %s (sriov_numvfs): nothing changed", pf);
		return VR_EXIT_FAIL;
	}
	cur = strtoul(val, NULL, 10);
	if (cur && cur != want && !vr_vfs_may_go(o, pf, cur, want))
		return VR_EXIT_FAIL;
	/* The kernel changes the count only from 0. */
	ret = cur && cur != want ? vr_write_numvfs(o, pf, 0) : 0;
	if (!ret && cur != want)
		ret = vr_write_numvfs(o, pf, (unsigned int)want);
	if (ret == -EACCES || ret == -EPERM) {
		vr_err("sriov %s: permission denied: this needs root", pf);
		return VR_EXIT_FAIL;
	}
	if (ret) {
		vr_err("sriov %s: cannot set sriov_numvfs to %lu: %s (is its driver bound? see dmesg)",
		       pf, want, strerror(-ret));
		return VR_EXIT_FAIL;
	}
	for (i = 0; i < (int)want; i++) {
		if (!vr_virtfn(o, pf, i, vf))
			continue;
		vr_wait_driver(o, vf, NULL, 2000);
		vr_current_driver(o, vf, drv, sizeof(drv));
		printf("%s  vf %d of %s  driver %s\n", vf, i, pf,
		       drv[0] ? drv : "-");
	}
	if (!want)
		printf("%s: no VFs\n", pf);
	return VR_EXIT_OK;
}
