// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Devices the host itself needs: the controller behind a mounted file
 * system or active swap, the NIC carrying a default route, the boot VGA.
 * A device is behind a block device or interface when its sysfs directory
 * is an ancestor of theirs.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfio-reserve.h"

#define VR_STACK_DEPTH	8

/* Is the real path of @link below the PCI function @addr? */
static bool vr_path_below(const char *link, const char *addr)
{
	char real[PATH_MAX], needle[VR_ADDR_SIZE + 2];

	if (!realpath(link, real))
		return false;
	snprintf(needle, sizeof(needle), "/%s", addr);
	for (const char *p = strstr(real, needle); p; p = strstr(p + 1, needle))
		if (p[strlen(needle)] == '/' || !p[strlen(needle)])
			return true;
	return false;
}

/* A block device (sysfs dir) on @addr, or stacked on one (dm, md, ...). */
static bool vr_block_on(const char *dir, const char *addr, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found;
	DIR *d;

	if (vr_path_below(dir, addr))
		return true;
	if (depth >= VR_STACK_DEPTH)
		return false;
	snprintf(path, sizeof(path), "%s/slaves", dir);
	d = opendir(path);
	if (!d)
		return false;	/* a disk or partition: its path said it all */
	found = false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/slaves/%s", dir, e->d_name);
		found = vr_block_on(path, addr, depth + 1);
	}
	closedir(d);
	return found;
}

static bool vr_devnum_on(const struct vr_opts *o, unsigned int maj,
			 unsigned int min, const char *addr)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/dev/block/%u:%u", o->sysfs, maj, min);
	return vr_block_on(dir, addr, 0);
}

/* A mounted file system on a block device behind @addr: its mount point. */
static bool vr_mount_on(const struct vr_opts *o, const char *addr, char *why,
			size_t size)
{
	char path[PATH_MAX], line[4096], mnt[1024];
	unsigned int maj, min;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountinfo", o->proc);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &maj, &min,
			   mnt) != 3 || !maj)
			continue;
		found = vr_devnum_on(o, maj, min, addr);
		if (found)
			snprintf(why, size,
				 "it backs the file system mounted on %s", mnt);
	}
	fclose(f);
	return found;
}

static bool vr_swap_on(const struct vr_opts *o, const char *addr, char *why,
		       size_t size)
{
	char path[PATH_MAX], dev[1024];
	bool found = false;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/swaps", o->proc);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fscanf(f, "%1023s %*[^\n]", dev) == 1) {
		if (stat(dev, &st) || !S_ISBLK(st.st_mode))
			continue;
		found = vr_devnum_on(o, major(st.st_rdev), minor(st.st_rdev),
				     addr);
		if (found)
			snprintf(why, size, "it backs the active swap %s", dev);
	}
	fclose(f);
	return found;
}

/* An interface on @addr, directly or under a bridge, bond or VLAN. */
static bool vr_netdev_on(const struct vr_opts *o, const char *ifname,
			 const char *addr, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class/net/%s", o->sysfs, ifname);
	if (vr_path_below(path, addr))
		return true;
	if (depth >= VR_STACK_DEPTH)
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, "lower_", 6))
			continue;
		found = vr_netdev_on(o, e->d_name + 6, addr, depth + 1);
	}
	closedir(d);
	return found;
}

static bool vr_route_on(const struct vr_opts *o, const char *addr, char *why,
			size_t size)
{
	char path[PATH_MAX], line[512], ifname[64], dest[64], mask[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/net/route", o->proc);
	f = fopen(path, "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s",
				   ifname, dest, mask) != 3 ||
			    strcmp(dest, "00000000") || strcmp(mask, "00000000"))
				continue;
			found = vr_netdev_on(o, ifname, addr, 0);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/net/ipv6_route", o->proc);
	f = found ? NULL : fopen(path, "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			char len[8];

			if (sscanf(line, "%63s %7s %*s %*s %*s %*s %*s %*s %*s %63s",
				   dest, len, ifname) != 3 ||
			    strcmp(dest, "00000000000000000000000000000000") ||
			    strcmp(len, "00") || !strcmp(ifname, "lo"))
				continue;
			found = vr_netdev_on(o, ifname, addr, 0);
		}
		fclose(f);
	}
	if (found)
		snprintf(why, size, "it carries the default route (%s)",
			 ifname);
	return found;
}

/**
 * vr_host_critical() - does the host itself need this device?
 * @o: options (sysfs and proc roots)
 * @addr: the PCI function
 * @why: set to the reason when it does
 * @size: room in @why
 *
 * Return: true when reserving it would take something from the host.
 */
int vr_host_critical(const struct vr_opts *o, const char *addr, char *why,
		     size_t size)
{
	char val[8];

	if (!vr_sysfs_dev(o, addr, "boot_vga", val, sizeof(val)) &&
	    !strcmp(val, "1")) {
		snprintf(why, size, "it is the boot VGA device (the host console)");
		return true;
	}
	return vr_mount_on(o, addr, why, size) || vr_swap_on(o, addr, why, size) ||
	       vr_route_on(o, addr, why, size);
}

/*
 * Refuse, unless --force, a selector list that takes a device the host
 * needs; only what the list itself selects counts (its exclusions apply).
 * Reads sysfs: works with or without the module.
 */
int vr_list_safety(const struct vr_opts *o, const char *cmd,
		   const struct vr_selector *sels, int n)
{
	struct vr_device *devs;
	struct vr_pci_ids id;
	char why[256];
	size_t count, i;
	int bad = 0;

	if (vr_sysfs_devices(o, &devs, &count))
		return VR_EXIT_OK;
	for (i = 0; i < count; i++) {
		vr_device_ids(&devs[i], &id);
		if (devs[i].bridge ||
		    vr_sel_list_match(sels, (unsigned int)n, &id) < 0 ||
		    !vr_host_critical(o, devs[i].addr, why, sizeof(why)))
			continue;
		if (o->force) {
			vr_err("warning: %s selects %s although %s (--force)",
			       cmd, devs[i].addr, why);
			continue;
		}
		vr_err("refusing: the list selects %s, but %s; exclude it (!%s) or use --force",
		       devs[i].addr, why, devs[i].addr);
		bad++;
	}
	free(devs);
	return bad ? VR_EXIT_FAIL : VR_EXIT_OK;
}
