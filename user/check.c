// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * check: can these devices be assigned to a VM right now? Every reason
 * they cannot, each with what to do about it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static void vr_problem(struct vr_check *c, bool fail, const char *fix,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void vr_problem(struct vr_check *c, bool fail, const char *fix,
		       const char *fmt, ...)
{
	struct vr_problem *p;
	va_list ap;

	if (fail)
		c->failed = true;
	if (c->n == VR_MAX_PROBLEMS) {
		c->more++;	/* counted and said, not dropped */
		return;
	}
	p = &c->p[c->n++];
	p->fail = fail;
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	snprintf(p->fix, sizeof(p->fix), "%s", fix ? fix : "");
}

/* Why @d is reserved for its target, and what @auto would choose. */
static void vr_check_explain(const struct vr_opts *o, const struct vr_device *d,
			     struct vr_check *c)
{
	struct vr_aliases al = { 0 };
	struct vr_auto_choice a;
	char why[768];
	const char *target = d->target[0] ? d->target : "vfio-pci";
	int len = 0, ret;

	if (d->sysfs_only)
		len = snprintf(c->explain, sizeof(c->explain),
			       "whether a rule reserves it is the module's (vfio_reserve is not loaded); ");
	else if (d->state)
		len = snprintf(c->explain, sizeof(c->explain),
			       "reserved for %s by rule %s%s; ", target, d->rule,
			       strchr(d->rule, '@') ? "" : " (no @DRIVER: vfio-pci)");
	else
		len = snprintf(c->explain, sizeof(c->explain),
			       "not reserved (claim binds vfio-pci); ");
	ret = vr_auto_device(o, &al, d->addr, &a);
	vr_aliases_free(&al);
	if (ret) {
		snprintf(c->explain + len, sizeof(c->explain) - (size_t)len,
			 "@auto cannot choose: the modalias or %s/modules.alias cannot be read",
			 o->modules);
		return;
	}
	vr_auto_explain(&a, why, sizeof(why));
	snprintf(c->explain + len, sizeof(c->explain) - (size_t)len,
		 "@auto would choose %s: %s", a.driver, why);
}

/*
 * Interrupt remapping: the module's answer for @d, or without it the host's
 * (@f's, vr_host_ir()): off fails unless allow_unsafe_interrupts, unknown
 * warns.
 */
static void vr_check_ir(const struct vr_opts *o, const struct vr_facts *f,
			const struct vr_device *d, struct vr_check *c)
{
	bool unsafe;
	char host[sizeof(f->host_ir_why) + 3] = "";

	if (d->sysfs_only && f->host_ir < 0) {
		vr_problem(c, false, "modprobe vfio_reserve: it asks the IOMMU for this device",
			   "interrupt remapping: cannot tell without the module: %s",
			   f->host_ir_why);
		return;
	}
	if (d->sysfs_only ? f->host_ir : d->intr_remap)
		return;
	if (d->sysfs_only)
		snprintf(host, sizeof(host), " (%s)", f->host_ir_why);
	unsafe = vr_allow_unsafe_interrupts(o, "vfio_iommu_type1");
	vr_problem(c, !unsafe, vr_ir_fix(o), "%s%s",
		   unsafe ? "no interrupt remapping; allowed only because vfio_iommu_type1.allow_unsafe_interrupts=1, which lets a guest forge interrupts" :
		   "no interrupt remapping: vfio will refuse the device", host);
}

/*
 * Who holds @d through VFIO: its group's node or any member's cdev (a
 * cdev is per device, and one open member's keeps the group in use).
 * @d's own holders come from @c->uses (vr_device_uses() read them).
 */
static int vr_group_users(const struct vr_opts *o, const struct vr_device *d,
			  const struct vr_group *g, const struct vr_check *c,
			  char *buf, size_t size)
{
	unsigned int i;
	int n = 0;

	if (c->uses.holders[0]) {
		snprintf(buf, size, "%s", c->uses.holders);
		return 1;
	}
	if (!g)
		return vr_device_users(o, d->addr, buf, size);
	for (i = 0; n <= 0 && i < g->n; i++)
		n = vr_device_users(o, g->members[i].addr, buf, size);
	return n;
}

/*
 * The iommufd path (CONFIG_IOMMUFD, CONFIG_VFIO_DEVICE_CDEV, 6.6 on):
 * /dev/iommu, the device's cdev, and isolated MSI for its whole group,
 * which iommufd requires of a bind unless iommufd.allow_unsafe_interrupts
 * is set. A problem only where the host has that path and it would refuse.
 */
static void vr_check_iommufd(const struct vr_opts *o, const struct vr_facts *f,
			     const struct vr_device *d, struct vr_check *c)
{
	char path[PATH_MAX];
	bool unsafe;

	c->has_iommufd = true;
	snprintf(path, sizeof(path), "%s/iommu", o->dev);
	c->dev_iommu = !access(path, F_OK);
	vr_iommufd_cdev(o, d, c->cdev, sizeof(c->cdev));
	c->msi_isolated = d->sysfs_only ? (f->host_ir < 0 ? -1 : f->host_ir > 0) :
			  d->msi_isolated;
	if (!c->dev_iommu || !c->cdev[0] || c->msi_isolated)
		return;
	unsafe = vr_allow_unsafe_interrupts(o, "iommufd");
	if (c->msi_isolated < 0)
		vr_problem(c, false, "modprobe vfio_reserve: it asks the IOMMU for this device",
			   "iommufd: cannot tell without the module whether IOMMU group %u has isolated MSI, which iommufd requires",
			   d->group);
	else
		vr_problem(c, false, unsafe ? vr_ir_fix(o) :
			   "assign it through the group (/dev/vfio/N, without --iommufd), or turn interrupt remapping on",
			   unsafe ? "iommufd: IOMMU group %u has no isolated MSI; bound only because iommufd.allow_unsafe_interrupts=1, which lets a guest forge interrupts" :
			   "iommufd: IOMMU group %u has no isolated MSI: iommufd will refuse to bind %s",
			   d->group, c->cdev);
}

/**
 * vr_check_device() - every reason @addr cannot go to a VM now
 * @o: options
 * @addr: the device
 * @f: the devices and groups: the module's, or sysfs's (vr_read_facts())
 * @c: filled in
 */
void vr_check_device(const struct vr_opts *o, const char *addr,
		     const struct vr_facts *f, struct vr_check *c)
{
	const struct vr_device *d = vr_find_device(f->devs, f->n, addr);
	const struct vr_group *g;
	char fix[320], users[VR_USERS_SIZE], path[PATH_MAX];
	unsigned int i;
	bool vfio;

	memset(c, 0, sizeof(*c));
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	if (!d) {
		vr_problem(c, true, "lspci -D lists the addresses of this host",
			   "no PCI function at %s", addr);
		return;
	}
	c->dev = *d;
	snprintf(c->driver, sizeof(c->driver), "%s", d->driver);
	vr_device_uses(o, addr, &c->uses);
	if (o->explain)
		vr_check_explain(o, d, c);
	if (d->bridge) {
		vr_problem(c, true, "assign the devices behind it instead",
			   "%s is a bridge; bridges cannot be assigned", addr);
		return;
	}
	if (!d->has_group) {
		vr_problem(c, true,
			   "enable VT-d or AMD-Vi (the IOMMU) in the firmware setup; on Intel also add intel_iommu=on to the kernel command line (AMD-Vi takes no argument: do not boot with amd_iommu=off or iommu=off)",
			   "the IOMMU is off: %s has no IOMMU group", addr);
		return;
	}
	vr_check_ir(o, f, d, c);
	vfio = d->driver[0] && vr_vfio_bound(o, addr);
	if (d->target_err) {
		snprintf(fix, sizeof(fix),
			 "install %s's module, or change rule %s to name a VFIO driver (@vfio-pci, or @auto)",
			 d->target, d->rule);
		vr_problem(c, true, fix, "reserved for %s, but %s: the device is left unbound",
			   d->target, vr_target_error_text(d->target_err));
	} else if (!vfio && d->driver[0] && !strcmp(d->driver, d->target)) {
		snprintf(fix, sizeof(fix),
			 "to assign it, reserve it for a VFIO driver instead: replace rule %s by one naming @vfio-pci or @auto (vfio-reserve remove, vfio-reserve add), then reload vfio_reserve",
			 d->rule);
		vr_problem(c, true, fix,
			   "bound to %s, which is not a VFIO driver: rule %s only hides the device from host drivers",
			   d->driver, d->rule);
	} else if (!vfio) {
		snprintf(fix, sizeof(fix), "%svfio-reserve claim %s",
			 d->sysfs_only ? "modprobe vfio_reserve, then " : "", addr);
		if (d->state == VFIO_RESERVE_STATE_PENDING)
			vr_problem(c, true, fix,
				   "bound to %s: matched by rule %s but pending (reclaim leaves native drivers alone)",
				   d->driver, d->rule);
		else if (d->driver[0])
			vr_problem(c, true, fix, "bound to %s, which is not a VFIO driver",
				   d->driver);
		else
			vr_problem(c, true, fix, "not bound to a VFIO driver (no driver)");
	}
	g = vr_find_group(f->groups, f->ng, d->group);
	for (i = 0; g && i < g->n; i++) {
		const struct vr_member *m = &g->members[i];

		if (!m->blocks)
			continue;
		snprintf(fix, sizeof(fix), "vfio-reserve claim %s (or unbind it from %s)",
			 m->addr, m->driver);
		vr_problem(c, true, fix,
			   "IOMMU group %u is not viable: %s is bound to %s", d->group,
			   m->addr, m->driver);
	}
	/* without the module, a device's in_use is its own: the group's is all */
	if (d->in_use || (d->sysfs_only && g && g->in_use)) {
		if (vr_group_users(o, d, g, c, users, sizeof(users)) > 0)
			vr_problem(c, true, "stop that VM, or detach the device from it",
				   "in use: IOMMU group %u is held by %s", d->group,
				   users);
		else
			vr_problem(c, true, "stop the VM that holds it (run check as root to see which process)",
				   "in use: IOMMU group %u is held by a VFIO user",
				   d->group);
	} else if (vfio && d->sysfs_only && geteuid()) {
		vr_problem(c, false, "run check as root, or modprobe vfio_reserve (it knows)",
			   "in use: cannot tell; without the module only root sees which processes hold /dev/vfio/%u",
			   d->group);
	}
	if (vfio)
		vr_check_iommufd(o, f, d, c);
	if (vfio) {
		snprintf(path, sizeof(path), "%s/vfio/%u", o->dev, d->group);
		if (access(path, F_OK))
			vr_problem(c, true, "modprobe vfio-pci, and check udev rules for /dev/vfio",
				   "%s does not exist", path);
		else if (access(path, R_OK | W_OK))
			vr_problem(c, true, "run QEMU as root, or give its user the group's device (chown)",
				   "%s is not accessible to this user", path);
	}
	if (!d->reset[0])
		vr_problem(c, false, "expect state to leak between VMs; prefer a device with FLR",
			   "no reset method (the device cannot be reset between VMs)");
}

void vr_check_print(const struct vr_check *c, struct vr_json *j)
{
	unsigned int i;

	if (j) {
		vr_json_open(j, NULL, '{');
		vr_json_str(j, "address", c->addr);
		vr_json_bool(j, "ok", !c->failed);
		vr_json_opt_str(j, "state", c->dev.sysfs_only ? NULL :
				vr_state_name(c->dev.state));
		if (c->dev.target[0])
			vr_json_str(j, "target", c->dev.target);
		if (c->driver[0])
			vr_json_str(j, "driver", c->driver);
		if (c->explain[0])
			vr_json_str(j, "explain", c->explain);
		vr_json_uses(j, &c->uses);
		if (c->has_iommufd) {
			vr_json_open(j, "iommufd", '{');
			vr_json_bool(j, "dev_iommu", c->dev_iommu);
			vr_json_opt_str(j, "cdev", c->cdev);
			if (c->msi_isolated < 0)
				vr_json_null(j, "msi_isolated");
			else
				vr_json_bool(j, "msi_isolated", c->msi_isolated);
			vr_json_close(j, '}');
		} else {
			vr_json_null(j, "iommufd");
		}
		vr_json_int(j, "more_problems", c->more);
		vr_json_open(j, "problems", '[');
		for (i = 0; i < c->n; i++) {
			vr_json_open(j, NULL, '{');
			vr_json_str(j, "level", c->p[i].fail ? "FAIL" : "WARN");
			vr_json_str(j, "problem", c->p[i].what);
			vr_json_str(j, "fix", c->p[i].fix);
			vr_json_close(j, '}');
		}
		vr_json_close(j, ']');
		vr_json_close(j, '}');
		return;
	}
	if (!c->failed)
		printf("%s: ok, can be assigned through %s (IOMMU group %u, /dev/vfio/%u)\n",
		       c->addr, c->driver, c->dev.group, c->dev.group);
	else
		printf("%s: cannot be assigned now\n", c->addr);
	if (c->dev.sysfs_only && c->dev.addr[0])
		printf("  rule: ? (vfio_reserve is not loaded: rules and reservations are the module's)\n");
	if (c->explain[0])
		printf("  why:  %s\n", c->explain);
	if (c->uses.netdevs[0] || c->uses.blocks[0])
		printf("  has:  %s%s%s%s%s%s\n",
		       c->uses.netdevs[0] ? "interfaces " : "", c->uses.netdevs,
		       c->uses.netdevs[0] && c->uses.blocks[0] ? "; " : "",
		       c->uses.blocks[0] ? "disks " : "", c->uses.blocks,
		       c->uses.active ? "; *Active*: the host uses it" : "");
	if (c->uses.active)
		printf("        %s\n", c->uses.why);
	if (c->has_iommufd && c->cdev[0])
		printf("  iommufd: %s; %s; MSI %s\n", c->cdev,
		       c->dev_iommu ? "/dev/iommu present" : "no /dev/iommu (modprobe iommufd)",
		       c->msi_isolated < 0 ? "isolation unknown" :
		       c->msi_isolated ? "isolated" : "not isolated");
	else if (c->has_iommufd)
		printf("  iommufd: no VFIO device cdev (kernel without CONFIG_VFIO_DEVICE_CDEV): the group path only\n");
	for (i = 0; i < c->n; i++) {
		printf("  %s  %s\n", c->p[i].fail ? "FAIL" : "WARN", c->p[i].what);
		if (c->p[i].fix[0])
			printf("        fix: %s\n", c->p[i].fix);
	}
	if (c->more)
		printf("  ... and %u more problems: fix these first\n", c->more);
}

int vr_cmd_check(const struct vr_opts *o, int argc, char **argv)
{
	char (*addrs)[VR_ADDR_SIZE];
	struct vr_facts f;
	struct vr_check c;
	struct vr_json j;
	bool failed = false;
	int i, ret;

	addrs = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*addrs));
	if (!addrs)
		return VR_EXIT_USAGE;
	ret = vr_parse_addrs("check", argc - 1, argv + 1, addrs);
	if (!ret)
		ret = vr_read_facts(o, "check", VR_WANT_DEVICES | VR_WANT_GROUPS, &f);
	if (ret) {
		free(addrs);
		return ret;
	}
	if (f.sysfs)
		f.host_ir = vr_host_ir(o, f.host_ir_why, sizeof(f.host_ir_why));
	if (o->json) {
		vr_json_begin(&j, o, "check", NULL);
		vr_json_bool(&j, "module", !f.sysfs);
		vr_json_open(&j, "devices", '[');
	}
	for (i = 0; i < argc - 1; i++) {
		vr_check_device(o, addrs[i], &f, &c);
		vr_check_print(&c, o->json ? &j : NULL);
		failed |= c.failed;
	}
	if (o->json)
		vr_json_end(&j);
	vr_facts_free(&f);
	free(addrs);
	return failed ? VR_EXIT_FAIL : VR_EXIT_OK;
}
