// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * vfio-reserve: reserve PCI devices for vfio-pci and hand them to VMs.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "vfio-reserve.h"

static const struct vr_cmd vr_cmds[] = {
	{ "status", vr_cmd_status, "",
	  "is this host ready for device assignment? (PASS/WARN/FAIL)" },
	{ "list", vr_cmd_list, "[SELECTOR...]",
	  "PCI functions: driver, reservation, group, in use, reset, SR-IOV" },
	{ "groups", vr_cmd_groups, "",
	  "IOMMU groups: members, viability and what blocks it" },
	{ "rules", vr_cmd_rules, "", "the module's rules" },
	{ "add", vr_cmd_add, "SELECTOR...",
	  "add rules; matching devices are reserved now and when they appear" },
	{ "remove", vr_cmd_remove, "SELECTOR...",
	  "remove rules (reserved devices stay reserved)" },
	{ "claim", vr_cmd_claim, "ADDRESS...",
	  "reserve devices now and bind them to vfio-pci" },
	{ "release", vr_cmd_release, "ADDRESS...",
	  "give devices back to their host driver" },
	{ "check", vr_cmd_check, "[--explain] ADDRESS...",
	  "can these devices be assigned to a VM right now, and if not why" },
	{ "monitor", vr_cmd_monitor, "", "print the module's events" },
	{ "qemu", vr_cmd_qemu, "[--dry-run] [--x-vga] ADDRESS... -- QEMU-COMMAND...",
	  "preflight, then run QEMU with the devices assigned" },
	{ "attach", vr_cmd_attach, "--qmp SOCKET ADDRESS [--id ID] [--bus BUS]",
	  "hotplug a device into a running QEMU" },
	{ "detach", vr_cmd_detach, "--qmp SOCKET ID",
	  "unplug it again (waits for DEVICE_DELETED)" },
	{ "libvirt", vr_cmd_libvirt, "ADDRESS...",
	  "<hostdev> XML for libvirt domains" },
	{ "sriov", vr_cmd_sriov, "PF --numvfs N",
	  "create N virtual functions of a physical function" },
	{ "persist", vr_cmd_persist, "[--no-initramfs] SELECTOR...",
	  "reserve at every boot: modprobe.d options, softdeps, initramfs" },
	{ "unpersist", vr_cmd_unpersist, "[--no-initramfs]",
	  "undo persist exactly" },
};

#define VR_NCMDS (sizeof(vr_cmds) / sizeof(vr_cmds[0]))

const struct vr_cmd *vr_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < VR_NCMDS; i++)
		if (!strcmp(vr_cmds[i].name, name))
			return &vr_cmds[i];
	return NULL;
}

static void vr_verr(const char *fmt, va_list ap)
{
	fputs("vfio-reserve: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vr_verr(fmt, ap);
	va_end(ap);
}

void vr_usage_cmd(FILE *f, const struct vr_cmd *c)
{
	fprintf(f, "usage: vfio-reserve [--json] [--force] %s %s\n  %s\n",
		c->name, c->usage, c->help);
}

int vr_usage_error(const char *cmd, const char *fmt, ...)
{
	const struct vr_cmd *c = cmd ? vr_cmd_find(cmd) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vr_verr(fmt, ap);
	va_end(ap);
	if (c)
		vr_usage_cmd(stderr, c);
	else
		fputs("Try 'vfio-reserve --help'.\n", stderr);
	return VR_EXIT_USAGE;
}

static void vr_usage(FILE *f)
{
	size_t i;

	fputs("usage: vfio-reserve [--json] [--force] COMMAND [ARGS...]\n\n"
	      "Reserve PCI devices for vfio-pci, or a VFIO variant driver, at\nprobe time and check that "
	      "they can be assigned to VMs. Commands:\n", f);
	for (i = 0; i < VR_NCMDS; i++)
		fprintf(f, "  %-9s %s\n", vr_cmds[i].name, vr_cmds[i].help);
	fputs("\nOptions:\n"
	      "  --json    machine-readable output (read commands)\n"
	      "  --force   reserve even devices the host needs\n"
	      "  --explain (check) why each device's driver, and what @auto picks\n"
	      "  --help    this text, or a command's (COMMAND --help)\n"
	      "\nSelectors: 0000:03:00.0, 03:00.*, 8086:10d3[:8086:0001], "
	      "class:0200,\nvf:0000:02:00.0, !SELECTOR, SELECTOR@DRIVER, SELECTOR@auto;\n"
	      "see vfio-reserve(8).\n",
	      f);
}

/*
 * Global options may stand anywhere before "--"; they are removed from
 * argv, which keeps the command and its own arguments.
 */
static int vr_parse_opts(int *argc, char **argv, struct vr_opts *o,
			 bool *help)
{
	int i, n = 1;
	bool rest = false;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!rest && !strcmp(a, "--")) {
			rest = true;
		} else if (!rest && !strcmp(a, "--json")) {
			o->json = true;
			continue;
		} else if (!rest && !strcmp(a, "--explain")) {
			o->explain = true;
			continue;
		} else if (!rest && !strcmp(a, "--force")) {
			o->force = true;
			continue;
		} else if (!rest && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			*help = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
}

int main(int argc, char **argv)
{
	struct vr_opts o = { .sysfs = "/sys", .proc = "/proc", .dev = "/dev" };
	char modules[PATH_MAX];
	const struct vr_cmd *c;
	struct utsname u;
	int ret;
	bool help = false;
#ifdef VR_TEST_HOOKS
	const char *root;
#endif

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	snprintf(modules, sizeof(modules), "/lib/modules/%s", u.release);
	o.modules = modules;
#ifdef VR_TEST_HOOKS
	/*
	 * A fake sysfs/procfs/devtmpfs tree: only in vfio-reserve-test, the
	 * build the unit tests run. The shipped helper has no way to point
	 * its safety checks anywhere but the host's own /sys, /proc, /dev.
	 */
	root = getenv("VFIO_RESERVE_SYSFS");
	if (root && *root)
		o.sysfs = root;
	root = getenv("VFIO_RESERVE_PROCFS");
	if (root && *root)
		o.proc = root;
	root = getenv("VFIO_RESERVE_DEVFS");
	if (root && *root)
		o.dev = root;
	root = getenv("VFIO_RESERVE_MODULES");
	if (root && *root)
		o.modules = root;
#endif

	vr_parse_opts(&argc, argv, &o, &help);
	if (argc < 2) {
		if (help) {
			vr_usage(stdout);
			return VR_EXIT_OK;
		}
		vr_usage(stderr);
		return VR_EXIT_USAGE;
	}
	c = vr_cmd_find(argv[1]);
	if (!c)
		return vr_usage_error(NULL, "unknown command '%s'", argv[1]);
	if (help) {
		vr_usage_cmd(stdout, c);
		return VR_EXIT_OK;
	}
	/* names only: no pci_init(), so no access method is probed */
	o.pci = pci_alloc();
	if (!o.pci) {
		vr_err("out of memory");
		return VR_EXIT_FAIL;
	}
	ret = c->fn(&o, argc - 1, argv + 1);
	pci_cleanup(o.pci);
	return ret;
}
