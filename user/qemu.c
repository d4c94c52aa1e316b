// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * qemu: preflight every fact that decides assignment, then exec QEMU with
 * the devices added. The preflight is shared with attach.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "qemu.h"

/* First guest slot for multifunction devices on the root bus. */
#define VR_GUEST_SLOT	0x10

/* A new string, printf-style; NULL when out of memory. */
static char *vr_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *vr_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	return ret < 0 ? NULL : s;
}

static bool vr_is_vf(const struct vr_facts *f, const char *addr)
{
	const struct vr_device *d = vr_find_device(f->devs, f->n, addr);

	return d && d->pf_addr[0];
}

static bool vr_listed(char (*addrs)[VR_ADDR_SIZE], int n, const char *addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(addrs[i], addr))
			return true;
	return false;
}

/* Same domain, bus and slot: all but the function ("dddd:bb:ss.f"). */
static bool vr_same_slot(const char *a, const char *b)
{
	size_t len = strlen(a);

	return len > 2 && len == strlen(b) && !strncmp(a, b, len - 1);
}

/*
 * Every check of every device, including its IOMMU group's viability: the
 * kernel's rule, and the only one enforced. Another function of the same
 * slot left out is a warning when it shares the group (a GPU and its audio
 * function usually go together), and nothing at all when it has a group of
 * its own (per-port assignment of a multi-port NIC). Prints what it finds;
 * returns false when something fails.
 */
bool vr_preflight(const struct vr_opts *o, char (*addrs)[VR_ADDR_SIZE], int n,
		  const struct vr_facts *f)
{
	bool ok = true;
	struct vr_check c;
	size_t k;
	int i;

	for (i = 0; i < n; i++) {
		const struct vr_device *d = vr_find_device(f->devs, f->n, addrs[i]);

		vr_check_device(o, addrs[i], f, &c);
		if (c.failed || c.n)
			vr_check_print(&c, NULL);
		ok &= !c.failed;
		if (!d || vr_is_vf(f, addrs[i]))
			continue;
		for (k = 0; k < f->n; k++) {
			const struct vr_device *s = &f->devs[k];

			if (!vr_same_slot(s->addr, addrs[i]) || s->pf_addr[0] ||
			    vr_listed(addrs, n, s->addr) || !d->has_group ||
			    !s->has_group || s->group != d->group)
				continue;
			vr_err("warning: %s: %s, another function of its slot, shares its IOMMU group %u and is left out (on %s); pass both to give the guest the whole device",
			       addrs[i], s->addr, d->group,
			       s->driver[0] ? s->driver : "no driver");
		}
	}
	return ok;
}

/*
 * What assignment through iommufd needs beyond vr_preflight(): /dev/iommu
 * (CONFIG_IOMMUFD), each device's cdev (CONFIG_VFIO_DEVICE_CDEV, and a
 * VFIO driver bound), and isolated MSI for its group, without which
 * iommufd refuses the bind (unless iommufd.allow_unsafe_interrupts=1).
 * Whether QEMU's user may open them is its caller's (who runs QEMU).
 * Says each problem with its fix, unless @quiet (--iommufd=auto decides).
 */
bool vr_iommufd_preflight(const struct vr_opts *o, char (*addrs)[VR_ADDR_SIZE],
			  int n, const struct vr_facts *f, bool quiet)
{
	char path[PATH_MAX];
	bool ok = true, unsafe;
	int i;

	snprintf(path, sizeof(path), "%s/iommu", o->dev);
	if (access(path, F_OK)) {
		if (!quiet)
			vr_err("--iommufd: %s does not exist: modprobe iommufd, or boot a kernel built with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV (6.6 or later); or assign without --iommufd (through the group, /dev/vfio/N)",
			       path);
		return false;
	}
	unsafe = vr_allow_unsafe_interrupts(o, "iommufd");
	for (i = 0; i < n; i++) {
		const struct vr_device *d = vr_find_device(f->devs, f->n, addrs[i]);

		if (!d)
			continue;	/* vr_preflight() said so */
		if (!d->vfio_cdev[0]) {
			if (!quiet)
				vr_err("--iommufd: %s has no VFIO device cdev in %s/vfio/devices/: bind it to vfio-pci (vfio-reserve claim %s) on a kernel built with CONFIG_VFIO_DEVICE_CDEV; or assign it without --iommufd",
				       addrs[i], o->dev, addrs[i]);
			ok = false;
		} else if (!d->msi_isolated && !unsafe) {
			if (!quiet)
				vr_err("--iommufd: iommufd will refuse %s: IOMMU group %u has no isolated MSI: %s",
				       addrs[i], d->group, vr_ir_fix(o));
			ok = false;
		}
	}
	return ok;
}

/* Does this QEMU have an iommufd object (9.0 on)? Asks it: -object help. */
static bool vr_qemu_has_iommufd(const char *qemu)
{
	char *argv[] = { (char *)qemu, "-object", "help", NULL };
	char line[256];
	bool found = false;
	pid_t pid;
	FILE *f = vr_popen(argv, &pid);

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line + strspn(line, " "), "iommufd", 7) &&
			 strchr("\n ,", line[strspn(line, " ") + 7]);
	vr_pclose(f, pid);
	return found;
}

/* Guest RAM from QEMU's -m (MiB by default, or with a K/M/G/T suffix). */
unsigned long long vr_qemu_memory(int argc, char **argv)
{
	unsigned long long mem = 128 * VR_MIB;	/* QEMU's default */
	int i;

	for (i = 0; i + 1 < argc; i++) {
		const char *v = argv[i + 1];
		char *end;
		double x;

		if (strcmp(argv[i], "-m") && strcmp(argv[i], "--m"))
			continue;
		if (!strncmp(v, "size=", 5))
			v += 5;
		x = strtod(v, &end);
		switch (*end) {
		case 'k': case 'K':
			mem = (unsigned long long)(x * 1024);
			break;
		case 'g': case 'G':
			mem = (unsigned long long)(x * 1024 * VR_MIB);
			break;
		case 't': case 'T':
			mem = (unsigned long long)(x * 1024 * 1024 * VR_MIB);
			break;
		case 'b': case 'B':
			mem = (unsigned long long)x;
			break;
		default:
			mem = (unsigned long long)(x * VR_MIB);
		}
	}
	return mem;
}

/*
 * VFIO pins all guest RAM. Root (CAP_IPC_LOCK) is not limited; others
 * need RLIMIT_MEMLOCK above it, raised here when the hard limit allows.
 */
bool vr_memlock_ok(unsigned long long need_ram)
{
	unsigned long long need = need_ram + VR_MEMLOCK_MARGIN;
	struct rlimit rl;

	if (!geteuid())
		return true;
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return true;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return true;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
		rl.rlim_cur = need;
		if (!setrlimit(RLIMIT_MEMLOCK, &rl))
			return true;
	}
	vr_err("RLIMIT_MEMLOCK is %llu MiB (hard %llu MiB) but VFIO must pin %llu MiB (guest RAM + 1 GiB): run QEMU as root, or raise memlock for this user (/etc/security/limits.conf, or LimitMEMLOCK= for a systemd unit)",
	       (unsigned long long)rl.rlim_cur / VR_MIB,
	       rl.rlim_max == RLIM_INFINITY ? 0 : (unsigned long long)rl.rlim_max / VR_MIB,
	       need / VR_MIB);
	return false;
}

/* "hostdev-0000-03-00-0": a QEMU id for the device at @addr. */
void vr_qemu_id(const char *addr, char *id, size_t size)
{
	char *p;

	snprintf(id, size, "hostdev-%s", addr);
	for (p = id; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '-';
}

/* The machine QEMU will emulate: q35, pc (i440fx), or another. */
enum vr_machine { VR_M_PC, VR_M_Q35, VR_M_OTHER };

/*
 * The machine type of a QEMU command line: its last -M or -machine
 * ("q35", "pc-q35-7.2,accel=kvm", "type=q35,..."); none means x86's
 * default, pc.
 */
static enum vr_machine vr_qemu_machine(int argc, char **argv)
{
	const char *type = "pc";
	size_t len;
	int i;

	for (i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-M") || !strcmp(argv[i], "-machine") ||
		    !strcmp(argv[i], "--machine"))
			type = argv[i + 1];
	if (!strncmp(type, "type=", 5))
		type += 5;
	len = strcspn(type, ",");
	if ((len == 3 && !strncmp(type, "q35", 3)) || !strncmp(type, "pc-q35-", 7))
		return VR_M_Q35;
	if ((len == 2 && !strncmp(type, "pc", 2)) || !strncmp(type, "pc-i440fx-", 10) ||
	    (len > 3 && !strncmp(type, "pc-", 3) && isdigit((unsigned char)type[3])))
		return VR_M_PC;
	return VR_M_OTHER;
}

/* Is chassis=@n taken on the QEMU command line (by the user's own ports)? */
static bool vr_chassis_used(int argc, char **argv, unsigned int n)
{
	char want[24];
	const char *p;
	int i;

	snprintf(want, sizeof(want), "chassis=%u", n);
	for (i = 0; i < argc; i++)
		for (p = strstr(argv[i], want); p; p = strstr(p + 1, want))
			if ((p == argv[i] || p[-1] == ',') &&
			    (p[strlen(want)] == ',' || !p[strlen(want)]))
				return true;
	return false;
}

/* Append "-device @dev" (taken) to @v; false when out of memory. */
static bool vr_push_device(char **v, int *n, char *dev)
{
	if (!dev)
		return false;
	v[(*n)++] = "-device";
	v[(*n)++] = dev;
	return true;
}

/*
 * The -device arguments for the addresses, into @v (room for 4 per
 * address and 2 more), as libvirt and Proxmox lay devices out:
 * - q35: each device behind a pcie-root-port of its own (vr-rpN, with a
 *   chassis number the command line does not use); the functions of one
 *   host slot given together behind one port, as one multi-function device;
 * - pc: no PCIe; functions of one slot share a slot of pci.0, function 0
 *   with multifunction=on; other devices go where QEMU puts them;
 * - another machine: where QEMU puts them.
 * With @iommufd, first an iommufd object that each device names.
 * Return: how many arguments, or -ENOMEM.
 */
static int vr_device_args(char (*addrs)[VR_ADDR_SIZE], int n,
			  const struct vr_facts *f, bool x_vga, bool iommufd,
			  int qargc, char **qargv, char **v)
{
	enum vr_machine m = vr_qemu_machine(qargc, qargv);
	unsigned int next = VR_GUEST_SLOT, ports = 0, chassis = 0;
	int *group, i, j, nv = 0;
	char id[48], extra[96];
	size_t len;

	group = calloc((size_t)n, sizeof(*group));
	if (!group)
		return -ENOMEM;
	/* one iommufd object for all of them, as libvirt does */
	if (iommufd) {
		v[nv + 1] = vr_strdupf("iommufd,id=%s", VR_IOMMUFD_ID);
		if (!v[nv + 1])
			goto oom;
		v[nv] = "-object";
		nv += 2;
	}
	/* the group of each address: its slot's, when given with others */
	for (i = 0; i < n; i++)
		group[i] = -1;
	for (i = 0; i < n; i++) {
		if (group[i] >= 0)
			continue;
		group[i] = (int)(m == VR_M_Q35 ? ports++ : next);
		for (j = i + 1; j < n && !vr_is_vf(f, addrs[i]); j++)
			if (vr_same_slot(addrs[i], addrs[j]) &&
			    !vr_is_vf(f, addrs[j]))
				group[j] = group[i];
		if (m != VR_M_Q35) {
			for (j = 0; j < n && (j == i || group[j] != group[i]); j++)
				;
			if (j < n)
				next++;		/* a shared slot */
			else
				group[i] = -2;	/* alone: where QEMU puts it */
		}
	}
	for (i = 0; i < n; i++) {
		const struct vr_device *d = vr_find_device(f->devs, f->n,
							   addrs[i]);
		char func = addrs[i][strlen(addrs[i]) - 1];
		bool first = true, shared = false;

		for (j = 0; j < n && group[i] >= 0; j++)
			if (j != i && group[j] == group[i]) {
				shared = true;
				first &= j > i;
			}
		len = 0;
		extra[0] = '\0';
		if (m == VR_M_Q35) {
			if (first) {	/* the port, before its first device */
				do
					chassis++;
				while (vr_chassis_used(qargc, qargv, chassis));
				if (!vr_push_device(v, &nv, vr_strdupf("pcie-root-port,id=vr-rp%d,bus=pcie.0,chassis=%u",
								       group[i], chassis)))
					goto oom;
			}
			if (shared)
				len = (size_t)snprintf(extra, sizeof(extra),
						       ",bus=vr-rp%d,addr=0x0.%c%s",
						       group[i], func,
						       func == '0' ? ",multifunction=on" : "");
			else
				len = (size_t)snprintf(extra, sizeof(extra),
						       ",bus=vr-rp%d,addr=0x0",
						       group[i]);
		} else if (m == VR_M_PC && group[i] >= 0) {
			len = (size_t)snprintf(extra, sizeof(extra),
					       ",bus=pci.0,addr=0x%02x.%c%s",
					       group[i], func,
					       func == '0' ? ",multifunction=on" : "");
		}
		if (d && (d->class >> 8) == 0x0300) {
			if (x_vga)
				snprintf(extra + len, sizeof(extra) - len,
					 ",x-vga=on");
			else
				fprintf(stderr, "vfio-reserve: note: %s is a VGA device; --x-vga adds x-vga=on (legacy VGA, for a primary GPU)\n",
					addrs[i]);
		}
		vr_qemu_id(addrs[i], id, sizeof(id));
		/* QEMU's host= takes domains up to ffff; sysfsdev= any. */
		if (iommufd)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
				 ",iommufd=%s", VR_IOMMUFD_ID);
		if (!vr_push_device(v, &nv, vr_strdupf(strlen(addrs[i]) > 12 ?
			     "vfio-pci,sysfsdev=/sys/bus/pci/devices/%s,id=%s%s" :
			     "vfio-pci,host=%s,id=%s%s", addrs[i], id, extra)))
			goto oom;
	}
	free(group);
	return nv;
oom:
	while (nv > 0) {
		free(v[nv - 1]);
		nv -= 2;
	}
	free(group);
	return -ENOMEM;
}

/* @s quoted for a POSIX shell, only when it needs it. */
static void vr_shell_quote(FILE *f, const char *s)
{
	const char *p;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

/* Split "qemu ADDRESS... -- QEMU..." (its options are in @o). */
static int vr_qemu_args(const struct vr_opts *o, int argc, char **argv,
			struct vr_qemu_req *req)
{
	int i;

	memset(req, 0, sizeof(*req));
	req->dry_run = o->dry_run;
	req->x_vga = o->x_vga;
	req->addrs = calloc((size_t)argc, sizeof(*req->addrs));
	if (!req->addrs)
		return VR_EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			req->qargc = argc - i - 1;
			req->qargv = argv + i + 1;
			break;
		}
		if (!vr_normalize_addr(argv[i], req->addrs[req->n++]))
			return vr_usage_error("qemu", "'%s' is not a PCI address ([dddd:]bb:ss.f)",
					      argv[i]);
	}
	if (!req->n)
		return vr_usage_error("qemu", "which devices? (addresses like 0000:03:00.0)");
	if (!req->qargc)
		return vr_usage_error("qemu", "no QEMU command after '--'");
	return VR_EXIT_OK;
}

/*
 * The caller runs QEMU: may it open /dev/iommu and each cdev? Says which
 * it may not, unless @quiet.
 */
static bool vr_iommufd_access(const struct vr_opts *o, char (*addrs)[VR_ADDR_SIZE],
			      int n, const struct vr_facts *f, bool quiet)
{
	char path[PATH_MAX];
	bool ok = true;
	int i;

	for (i = -1; i < n; i++) {
		if (i < 0)
			snprintf(path, sizeof(path), "%s/iommu", o->dev);
		else
			vr_iommufd_cdev(o, vr_find_device(f->devs, f->n, addrs[i]),
					path, sizeof(path));
		if (!access(path, R_OK | W_OK))
			continue;
		if (!quiet)
			vr_err("--iommufd: %s cannot be opened read-write by this user (uid %u): run QEMU as root, or give its user the node (a udev rule, or chown)",
			       path, (unsigned int)geteuid());
		ok = false;
	}
	return ok;
}

/*
 * Through iommufd? --iommufd: yes, once its preflight passes (and QEMU
 * has it, unless only printed); --iommufd=auto: when QEMU and the kernel
 * both can, saying which it chose; else the group, as always.
 * Return: 1 iommufd, 0 the group, -1 preflight failed.
 */
static int vr_qemu_iommufd(const struct vr_opts *o, const struct vr_qemu_req *req,
			   const struct vr_facts *f)
{
	bool quiet = o->iommufd == VR_IOMMUFD_AUTO, qemu;

	if (o->iommufd == VR_IOMMUFD_NO)
		return 0;
	qemu = (req->dry_run && !quiet) || vr_qemu_has_iommufd(req->qargv[0]);
	if (!quiet && !qemu)
		vr_err("--iommufd: %s has no iommufd object (-object help): QEMU 9.0 or later has it; or assign without --iommufd",
		       req->qargv[0]);
	if (vr_iommufd_preflight(o, req->addrs, req->n, f, quiet) &&
	    vr_iommufd_access(o, req->addrs, req->n, f, quiet) && qemu) {
		if (quiet)
			fprintf(stderr, "vfio-reserve: --iommufd=auto: through iommufd (%s/iommu and the device cdevs)\n",
				o->dev);
		return 1;
	}
	if (!quiet)
		return -1;
	fprintf(stderr, "vfio-reserve: --iommufd=auto: through the IOMMU group (/dev/vfio/N): %s\n",
		qemu ? "the kernel has no iommufd path for these devices (vfio-reserve check says why)" :
		"this QEMU has no iommufd object");
	return 0;
}

int vr_cmd_qemu(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_facts f = { 0 };
	struct vr_qemu_req req;
	char **qargv = NULL;
	int i, ret, nours = 0, iommufd = 0;

	ret = vr_qemu_args(o, argc, argv, &req);
	if (ret)
		goto out;
	ret = vr_nl_fetch("qemu", VR_WANT_DEVICES | VR_WANT_GROUPS, &f);
	if (ret)
		goto out;
	ret = VR_EXIT_FAIL;
	if (!vr_preflight(o, req.addrs, req.n, &f) ||
	    !vr_memlock_ok(vr_qemu_memory(req.qargc, req.qargv))) {
		vr_err("preflight failed: QEMU not started");
		goto out;
	}
	iommufd = vr_qemu_iommufd(o, &req, &f);
	if (iommufd < 0) {
		vr_err("preflight failed: QEMU not started");
		goto out;
	}
	/* QEMU's arguments, then our object and up to 4 of ours per device */
	qargv = calloc((size_t)(req.qargc + 4 * req.n + 3), sizeof(*qargv));
	if (!qargv)
		goto out;
	for (i = 0; i < req.qargc; i++)
		qargv[i] = req.qargv[i];
	nours = vr_device_args(req.addrs, req.n, &f, req.x_vga, iommufd,
			       req.qargc, req.qargv, qargv + req.qargc);
	if (nours < 0)
		goto out;
	if (req.dry_run) {
		for (i = 0; qargv[i]; i++) {
			if (i)
				putchar(' ');
			vr_shell_quote(stdout, qargv[i]);
		}
		putchar('\n');
		ret = VR_EXIT_OK;
		goto out;
	}
	fflush(NULL);
	execvp(qargv[0], qargv);
	vr_err("cannot run '%s': %s", qargv[0], strerror(errno));
out:
	for (i = 1; i < nours; i += 2)
		free(qargv[req.qargc + i]);
	free(qargv);
	free(req.addrs);
	vr_facts_free(&f);
	return ret;
}
