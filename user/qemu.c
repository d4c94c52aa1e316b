// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * qemu: preflight every fact that decides assignment, then exec QEMU with
 * the devices added. The preflight is shared with attach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "qemu.h"

#define VR_MIB		(1024ULL * 1024)
/* What VFIO pins besides guest RAM (ROMs, rings): libvirt's margin. */
#define VR_MEMLOCK_MARGIN	(1024 * VR_MIB)
/* First guest slot for multifunction devices on the root bus. */
#define VR_GUEST_SLOT	0x10

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

		vr_check_device(o, addrs[i], f->devs, f->n, f->groups, f->ng, &c);
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

/*
 * The -device argument of each address. Functions of one host slot share a
 * guest slot, each keeping its function number, function 0 with
 * multifunction=on; other devices go wherever QEMU puts them.
 */
static int vr_device_args(char (*addrs)[VR_ADDR_SIZE], int n,
			  const struct vr_facts *f, bool x_vga,
			  char **out)
{
	unsigned int next = VR_GUEST_SLOT;
	int *slot, i, j;
	char id[48], extra[96];
	size_t len;

	slot = calloc((size_t)n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		slot[i] = -1;
	for (i = 0; i < n; i++) {
		if (slot[i] >= 0 || vr_is_vf(f, addrs[i]))
			continue;
		for (j = i + 1; j < n; j++) {
			if (!vr_same_slot(addrs[i], addrs[j]) ||
			    vr_is_vf(f, addrs[j]))
				continue;
			slot[i] = (int)next;
			slot[j] = (int)next;
		}
		if (slot[i] >= 0)
			next++;
	}
	for (i = 0; i < n; i++) {
		const struct vr_device *d = vr_find_device(f->devs, f->n,
							   addrs[i]);
		char func = addrs[i][strlen(addrs[i]) - 1];

		len = 0;
		extra[0] = '\0';
		if (slot[i] >= 0)
			len += (size_t)snprintf(extra, sizeof(extra),
						",bus=pcie.0,addr=0x%02x.%c%s",
						slot[i], func,
						func == '0' ? ",multifunction=on" : "");
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
		if (asprintf(&out[i], strlen(addrs[i]) > 12 ?
			     "vfio-pci,sysfsdev=/sys/bus/pci/devices/%s,id=%s%s" :
			     "vfio-pci,host=%s,id=%s%s", addrs[i], id, extra) < 0) {
			free(slot);
			return -ENOMEM;
		}
	}
	free(slot);
	return 0;
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

int vr_cmd_qemu(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_facts f = { 0 };
	struct vr_qemu_req req;
	char **qargv = NULL;
	int i, ret;

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
	qargv = calloc((size_t)(req.qargc + 2 * req.n + 1), sizeof(*qargv));
	if (!qargv)
		goto out;
	for (i = 0; i < req.qargc; i++)
		qargv[i] = req.qargv[i];
	for (i = 0; i < req.n; i++)
		qargv[req.qargc + 2 * i] = "-device";
	{
		char **devs = calloc((size_t)req.n, sizeof(*devs));

		if (!devs || vr_device_args(req.addrs, req.n, &f, req.x_vga,
					    devs)) {
			free(devs);
			goto out;
		}
		for (i = 0; i < req.n; i++)
			qargv[req.qargc + 2 * i + 1] = devs[i];
		free(devs);
	}
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
	if (qargv)
		for (i = 0; i < req.n; i++)
			free(qargv[req.qargc + 2 * i + 1]);
	free(qargv);
	free(req.addrs);
	vr_facts_free(&f);
	return ret;
}
