// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * vfio-reserve: reserve PCI devices for vfio-pci and hand them to VMs.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "version.h"
#include "vfio-reserve.h"

static const struct vr_cmd vr_cmds[] = {
	{ "status", vr_cmd_status, "",
	  "is this host ready for device assignment? (PASS/WARN/FAIL)", 0, VR_JSON_OWN },
	{ "list", vr_cmd_list, "[SELECTOR...] [--netdev IFACE]",
	  "PCI functions: driver, reservation, group, in use, reset, SR-IOV", VR_O_NETDEV, VR_JSON_OWN },
	{ "groups", vr_cmd_groups, "",
	  "IOMMU groups: members, viability and what blocks it", 0, VR_JSON_OWN },
	{ "rules", vr_cmd_rules, "", "the module's rules", 0, VR_JSON_OWN },
	{ "add", vr_cmd_add, "SELECTOR... | --netdev IFACE",
	  "add rules; matching devices are reserved now and when they appear", VR_O_NETDEV, VR_JSON_CHANGES },
	{ "remove", vr_cmd_remove, "SELECTOR...",
	  "remove rules (reserved devices stay reserved)", 0, VR_JSON_CHANGES },
	{ "claim", vr_cmd_claim, "ADDRESS... | --netdev IFACE",
	  "reserve devices now and bind them to vfio-pci", VR_O_NETDEV, VR_JSON_CHANGES },
	{ "release", vr_cmd_release, "ADDRESS...",
	  "give devices back to their host driver", 0, VR_JSON_CHANGES },
	{ "check", vr_cmd_check, "[--explain] ADDRESS... | --netdev IFACE",
	  "can these devices be assigned to a VM right now, and if not why",
	  VR_O_EXPLAIN | VR_O_NETDEV, VR_JSON_OWN },
	{ "monitor", vr_cmd_monitor, "[--timestamp]", "print the module's events",
	  VR_O_TIMESTAMP, VR_JSON_OWN },
	{ "qemu", vr_cmd_qemu, "[--dry-run] [--x-vga] [--iommufd[=auto]] ADDRESS... -- QEMU-COMMAND...",
	  "preflight, then run QEMU with the devices assigned",
	  VR_O_DRY_RUN | VR_O_X_VGA | VR_O_IOMMUFD, VR_JSON_NONE },
	{ "attach", vr_cmd_attach, "--qmp SOCKET ADDRESS [--id ID] [--bus BUS] [--iommufd[=auto]]",
	  "hotplug a device into a running QEMU",
	  VR_O_QMP | VR_O_ID | VR_O_BUS | VR_O_IOMMUFD, VR_JSON_CHANGES },
	{ "detach", vr_cmd_detach, "--qmp SOCKET ID",
	  "unplug it again (waits for DEVICE_DELETED)", VR_O_QMP, VR_JSON_CHANGES },
	{ "libvirt", vr_cmd_libvirt, "[--iommufd[=auto]] ADDRESS... | --netdev IFACE",
	  "<hostdev> XML for libvirt domains", VR_O_NETDEV | VR_O_IOMMUFD, VR_JSON_NONE },
	{ "sriov", vr_cmd_sriov, "PF --numvfs N",
	  "create N virtual functions of a physical function", VR_O_NUMVFS, VR_JSON_CHANGES },
	{ "persist", vr_cmd_persist, "[--no-initramfs] SELECTOR... | --netdev IFACE",
	  "reserve at every boot: modprobe.d options, softdeps, initramfs",
	  VR_O_NO_INITRAMFS | VR_O_NETDEV, VR_JSON_CHANGES },
	{ "unpersist", vr_cmd_unpersist, "[--no-initramfs]",
	  "undo persist exactly", VR_O_NO_INITRAMFS, VR_JSON_CHANGES },
};

#define VR_NCMDS (sizeof(vr_cmds) / sizeof(vr_cmds[0]))

/* Every option; @bit 0: global (before or after the command's name). */
struct vr_optdef {
	const char *name;
	int has_arg;
	int key;		/* getopt_long's value */
	unsigned int bit;	/* VR_O_*, or 0 */
	const char *arg;	/* its value's name, NULL for none */
	const char *help;
};

enum {
	VR_K_FORCE = 256, VR_K_VERSION, VR_K_EXPLAIN, VR_K_DRY_RUN, VR_K_X_VGA,
	VR_K_QMP, VR_K_ID, VR_K_BUS, VR_K_NUMVFS, VR_K_NO_INITRAMFS,
	VR_K_NETDEV, VR_K_IOMMUFD,
};

static const struct vr_optdef vr_optdefs[] = {
	{ "json", no_argument, 'j', 0, NULL,
	  "JSON output (write commands: what changed, per device)" },
	{ "pretty", no_argument, 'p', 0, NULL,
	  "with --json: indented, for people" },
	{ "force", no_argument, VR_K_FORCE, 0, NULL,
	  "reserve even devices the host needs" },
	{ "help", no_argument, 'h', 0, NULL,
	  "this text, or a command's (COMMAND --help)" },
	{ "version", no_argument, VR_K_VERSION, 0, NULL, "the helper's version" },
	{ "explain", no_argument, VR_K_EXPLAIN, VR_O_EXPLAIN, NULL,
	  "say why each device's driver, and what @auto would choose" },
	{ "dry-run", no_argument, VR_K_DRY_RUN, VR_O_DRY_RUN, NULL,
	  "print the QEMU command instead of running it" },
	{ "x-vga", no_argument, VR_K_X_VGA, VR_O_X_VGA, NULL,
	  "x-vga=on for VGA devices (legacy VGA, a primary GPU)" },
	{ "iommufd", optional_argument, VR_K_IOMMUFD, VR_O_IOMMUFD, "auto",
	  "through iommufd and the device cdevs (auto: only where it works)" },
	{ "qmp", required_argument, VR_K_QMP, VR_O_QMP, "SOCKET",
	  "QEMU's QMP socket (-qmp unix:SOCKET,server=on,wait=off)" },
	{ "id", required_argument, VR_K_ID, VR_O_ID, "ID",
	  "the device's id in QEMU (default: hostdev-ADDRESS)" },
	{ "bus", required_argument, VR_K_BUS, VR_O_BUS, "BUS",
	  "the QEMU bus to plug it into (a pcie-root-port)" },
	{ "numvfs", required_argument, VR_K_NUMVFS, VR_O_NUMVFS, "N",
	  "how many VFs (0 removes them all)" },
	{ "no-initramfs", no_argument, VR_K_NO_INITRAMFS, VR_O_NO_INITRAMFS,
	  NULL, "write the configuration, do not regenerate the initramfs" },
	{ "timestamp", no_argument, 't', VR_O_TIMESTAMP, NULL,
	  "each event with its time (RFC 3339; JSON always has it)" },
	{ "netdev", required_argument, VR_K_NETDEV, VR_O_NETDEV, "IFACE",
	  "the PCI function of this network interface (repeatable)" },
};

#define VR_NOPTS (sizeof(vr_optdefs) / sizeof(vr_optdefs[0]))

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

static void vr_print_opt(FILE *f, const struct vr_optdef *d)
{
	char name[32];

	if (d->has_arg == optional_argument)
		snprintf(name, sizeof(name), "--%s[=%s]", d->name, d->arg);
	else
		snprintf(name, sizeof(name), "--%s%s%s", d->name, d->arg ? "=" : "",
			 d->arg ? d->arg : "");
	fprintf(f, "  %-18s %s\n", name, d->help);
}

/* The command's usage, and its own options. */
void vr_usage_cmd(FILE *f, const struct vr_cmd *c)
{
	size_t i;

	fprintf(f, "usage: vfio-reserve [--json] [--force] %s %s\n  %s\n",
		c->name, c->usage, c->help);
	if (!c->opts)
		return;
	fputs("Options:\n", f);
	for (i = 0; i < VR_NOPTS; i++)
		if (vr_optdefs[i].bit & c->opts)
			vr_print_opt(f, &vr_optdefs[i]);
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
	fputs("\nOptions (any command; each command's own: COMMAND --help):\n", f);
	for (i = 0; i < VR_NOPTS; i++)
		if (!vr_optdefs[i].bit)
			vr_print_opt(f, &vr_optdefs[i]);
	fputs("\nSelectors: 0000:03:00.0, 03:00.*, 8086:10d3[:8086:0001], "
	      "class:0200,\nvf:0000:02:00.0, !SELECTOR, SELECTOR@DRIVER, SELECTOR@auto;\n"
	      "see vfio-reserve(8).\n", f);
}

/*
 * libpci's messages. pci_init() would set its defaults; names need no
 * pci_init() (no access method), so they are set here: its lookups call
 * them (a NULL one crashed the first list of a VM).
 */
static void vr_pci_say(const char *prefix, const char *msg, va_list ap)
{
	fprintf(stderr, "vfio-reserve: %slibpci: ", prefix);
	vfprintf(stderr, msg, ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn)) vr_pci_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vr_pci_say("", msg, ap);
	va_end(ap);
	exit(VR_EXIT_FAIL);
}

static void vr_pci_warning(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vr_pci_say("warning: ", msg, ap);
	va_end(ap);
}

static void vr_pci_debug(char *msg, ...)
{
	(void)msg;
}

/*
 * getopt_long() over @argv (@argc: up to a "--", never past it). Before
 * the command's name (@c NULL) only global options are taken, and the
 * scan stops at the name; after it, global options and @c's own, in any
 * order. Return: the index of the first operand, or -1 after a usage
 * error (said).
 */
static int vr_getopt(int argc, char **argv, const struct vr_cmd *c,
		     struct vr_opts *o, bool *help, bool *version)
{
	struct option lo[VR_NOPTS + 1];
	const struct vr_optdef *d;
	int key, idx;
	size_t i;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < VR_NOPTS; i++) {
		lo[i].name = vr_optdefs[i].name;
		lo[i].has_arg = vr_optdefs[i].has_arg;
		lo[i].val = vr_optdefs[i].key;
	}
	optind = 0;	/* glibc: start afresh */
	opterr = 0;
	while ((key = getopt_long(argc, argv, c ? ":jpht" : "+:jpht", lo, &idx)) != -1) {
		const char *name = argv[optind - 1];
		const char *cmd = c ? c->name : NULL;

		if (key == '?') {
			if (optopt)
				vr_usage_error(cmd, "unknown option '-%c'", optopt);
			else
				vr_usage_error(cmd, "unknown option '%s'", name);
			return -1;
		}
		if (key == ':') {
			vr_usage_error(cmd, "option '%s' needs a value", name);
			return -1;
		}
		for (d = vr_optdefs; d < vr_optdefs + VR_NOPTS - 1 && d->key != key; d++)
			;	/* getopt_long returns only the table's keys */
		if (d->bit && !c) {
			vr_usage_error(NULL, "--%s is an option of a command: give it after the command's name",
				       d->name);
			return -1;
		}
		if (d->bit && !(d->bit & c->opts)) {
			vr_usage_error(cmd, "%s takes no option --%s", c->name, d->name);
			return -1;
		}
		switch (key) {
		case 'j': o->json = true; break;
		case 'p': o->pretty = true; break;
		case 'h': *help = true; break;
		case VR_K_FORCE: o->force = true; break;
		case VR_K_VERSION: *version = true; break;
		case VR_K_EXPLAIN: o->explain = true; break;
		case VR_K_DRY_RUN: o->dry_run = true; break;
		case VR_K_X_VGA: o->x_vga = true; break;
		case VR_K_IOMMUFD:
			if (optarg && strcmp(optarg, "auto")) {
				vr_usage_error(cmd, "--iommufd takes no value but auto, not '%s'",
					       optarg);
				return -1;
			}
			o->iommufd = optarg ? VR_IOMMUFD_AUTO : VR_IOMMUFD_YES;
			break;
		case VR_K_QMP: o->qmp = optarg; break;
		case VR_K_ID: o->id = optarg; break;
		case VR_K_BUS: o->bus = optarg; break;
		case VR_K_NUMVFS: o->numvfs = optarg; break;
		case VR_K_NO_INITRAMFS: o->no_initramfs = true; break;
		case 't': o->timestamp = true; break;
		case VR_K_NETDEV:
			if (o->nnetdev == sizeof(o->netdev) / sizeof(o->netdev[0])) {
				vr_usage_error(cmd, "too many --netdev (%zu at most)",
					       sizeof(o->netdev) / sizeof(o->netdev[0]));
				return -1;
			}
			o->netdev[o->nnetdev++] = optarg;
			break;
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct vr_opts o = { .sysfs = "/sys", .proc = "/proc", .dev = "/dev" };
	char modules[PATH_MAX], netdev_addrs[8][VR_ADDR_SIZE];
	int dash, n, m, i, nargs = 0, ret;
	bool help = false, version = false;
	const struct vr_cmd *c;
	struct utsname u;
	char **args;
#ifdef VR_TEST_HOOKS
	const char *root;
#endif

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	snprintf(modules, sizeof(modules), "/lib/modules/%s", u.release);
	o.modules = modules;
	o.schemas = "/usr/share/libvirt/schemas";
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
	root = getenv("VFIO_RESERVE_LIBVIRT_SCHEMAS");
	if (root && *root)
		o.schemas = root;
#endif

	/* the QEMU command after "--" is never parsed */
	for (dash = 1; dash < argc && strcmp(argv[dash], "--"); dash++)
		;
	n = vr_getopt(dash, argv, NULL, &o, &help, &version);
	if (n < 0)
		return VR_EXIT_USAGE;
	if (version) {
		printf("vfio-reserve %s\n", VR_VERSION);
		return VR_EXIT_OK;
	}
	if (n >= dash) {
		if (help) {
			vr_usage(stdout);
			return VR_EXIT_OK;
		}
		vr_usage(stderr);
		return VR_EXIT_USAGE;
	}
	c = vr_cmd_find(argv[n]);
	if (!c)
		return vr_usage_error(NULL, "unknown command '%s'", argv[n]);
	m = vr_getopt(dash - n, argv + n, c, &o, &help, &version);
	if (m < 0)
		return VR_EXIT_USAGE;
	if (help || version) {
		if (version)
			printf("vfio-reserve %s\n", VR_VERSION);
		else
			vr_usage_cmd(stdout, c);
		return VR_EXIT_OK;
	}
	/* the command's name, its operands, then "--" and the rest as given */
	args = calloc((size_t)argc + o.nnetdev + 1, sizeof(*args));
	o.pci = pci_alloc();
	if (!args || !o.pci) {
		free(args);
		vr_err("out of memory");
		return VR_EXIT_FAIL;
	}
	o.pci->error = vr_pci_error;
	o.pci->warning = vr_pci_warning;
	o.pci->debug = vr_pci_debug;
	args[nargs++] = argv[n];
	for (i = n + m; i < dash; i++)
		args[nargs++] = argv[i];
	/* --netdev IFACE: its PCI function, as if given as an operand */
	for (i = 0; i < (int)o.nnetdev; i++) {
		if (vr_netdev_addr(&o, o.netdev[i], netdev_addrs[i])) {
			free(args);
			pci_cleanup(o.pci);
			return VR_EXIT_USAGE;
		}
		args[nargs++] = netdev_addrs[i];
	}
	for (i = dash; i < argc; i++)
		args[nargs++] = argv[i];
	/* names only: no pci_init(), so no access method is probed */
	if (o.json && c->json == VR_JSON_NONE)
		ret = vr_usage_error(c->name, "%s has no JSON form (%s): run it without --json",
				     c->name, !strcmp(c->name, "libvirt") ?
				     "it prints libvirt's XML" : "it runs QEMU");
	else if (o.json && c->json == VR_JSON_CHANGES)
		ret = vr_run_changes(c, &o, nargs, args);
	else
		ret = c->fn(&o, nargs, args);
	pci_cleanup(o.pci);
	free(args);
	return ret;
}
