// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * @auto: the VFIO driver for a device, chosen as libvirt chooses it when a
 * VM starts. A VFIO variant driver lists the devices it serves as
 * override-only ids (PCI_DRIVER_OVERRIDE_DEVICE_VFIO), which depmod writes
 * to modules.alias as "alias vfio_pci:v...d...sv...sd...bc...sc...i... MOD".
 * The device's own modalias ("pci:v...") is matched against each such
 * pattern; the match with the fewest wildcards wins, and with none,
 * vfio-pci (whose own alias, vfio_pci:v*d*sv*sd*bc*sc*i*, matches all).
 * The driver's name is taken to be its module's, as every in-tree variant
 * registers it (KBUILD_MODNAME). The module is never asked to do this (it would need the
 * aliases in the kernel): the helper gives it the name it chose.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-reserve.h"

#define VR_VFIO_ALIAS	"vfio_pci:"

/*
 * The variant drivers' vfio_pci: aliases of @o's modules.alias into @al,
 * read at the first call only: one read however many devices are chosen
 * for. vfio_pci's own alias matches every device: it is the fallback, not
 * a candidate. Return: 0, or the read's -errno (again on later calls).
 */
static int vr_aliases_read(const struct vr_opts *o, struct vr_aliases *al)
{
	char path[PATH_MAX], line[512], pattern[384], module[VR_NAME_SIZE];
	struct vr_alias *grown;
	size_t cap = 0;
	FILE *f;

	if (al->read)
		return al->err;
	al->read = true;
	snprintf(path, sizeof(path), "%s/modules.alias", o->modules);
	f = fopen(path, "re");
	if (!f)
		return al->err = -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "alias " VR_VFIO_ALIAS "%383s %63s", pattern,
			   module) != 2 || !strcmp(module, "vfio_pci"))
			continue;
		if (al->n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(al->a, cap * sizeof(*grown));
			if (!grown) {
				al->err = -ENOMEM;
				break;
			}
			al->a = grown;
		}
		snprintf(al->a[al->n].pattern, sizeof(al->a->pattern), "%s", pattern);
		snprintf(al->a[al->n].module, sizeof(al->a->module), "%s", module);
		al->n++;
	}
	fclose(f);
	return al->err;
}

void vr_aliases_free(struct vr_aliases *al)
{
	free(al->a);
	memset(al, 0, sizeof(*al));
}

/* The best vfio_pci: alias of @modalias (@al, read if need be), into @c. */
int vr_auto_choose(const struct vr_opts *o, struct vr_aliases *al,
		   const char *modalias, struct vr_auto_choice *c)
{
	const char *ids = modalias;
	size_t i;
	int ret;

	memset(c, 0, sizeof(*c));
	snprintf(c->driver, sizeof(c->driver), "vfio-pci");
	snprintf(c->modalias, sizeof(c->modalias), "%s", modalias);
	if (!strncmp(ids, "pci:", 4))
		ids += 4;
	ret = vr_aliases_read(o, al);
	if (ret)
		return ret;
	for (i = 0; i < al->n; i++) {
		const struct vr_alias *a = &al->a[i];
		unsigned int stars = 0;
		const char *p;

		if (fnmatch(a->pattern, ids, 0))
			continue;
		for (p = a->pattern; *p; p++)
			stars += *p == '*';
		c->matches++;
		if (c->found && stars >= c->wildcards)
			continue;	/* the first of equals wins, as in libvirt */
		c->found = true;
		c->wildcards = stars;
		snprintf(c->driver, sizeof(c->driver), "%s", a->module);
		snprintf(c->alias, sizeof(c->alias), VR_VFIO_ALIAS "%s", a->pattern);
	}
	return 0;
}

/* "why" for check --explain and for the add/persist messages. */
void vr_auto_explain(const struct vr_auto_choice *c, char *buf, size_t size)
{
	if (!c->found)
		snprintf(buf, size,
			 "no variant driver's vfio_pci: alias in modules.alias matches %s: vfio-pci",
			 c->modalias);
	else
		snprintf(buf, size,
			 "modules.alias: %s (module %s, %u wildcard%s) matches %s, the fewest wildcards of %u variant alias%s matching",
			 c->alias, c->driver, c->wildcards,
			 c->wildcards == 1 ? "" : "s", c->modalias, c->matches,
			 c->matches == 1 ? "" : "es");
}

/*
 * The modalias a VF of the PF at @pf will have: vendor and device from the
 * PF's SR-IOV capability (sriov_vf_device), subsystem ids and class the
 * PF's own, as SR-IOV devices give their VFs (a VF present is read
 * instead).
 */
static int vr_vf_modalias(const struct vr_opts *o, const char *pf, char *buf,
			  size_t size)
{
	char vfdev[16];
	struct vr_device d;

	if (vr_sysfs_dev(o, pf, "sriov_vf_device", vfdev, sizeof(vfdev)) ||
	    vr_sysfs_device(o, pf, &d) || !d.vendor)
		return -ENODEV;
	snprintf(buf, size, "pci:v%08Xd%08lXsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
		 d.vendor, strtoul(vfdev, NULL, 16), d.subvendor, d.subdevice,
		 (d.class >> 16) & 0xff, (d.class >> 8) & 0xff, d.class & 0xff);
	return 0;
}

/*
 * The choice for the device at @addr; -errno when its modalias or
 * modules.alias cannot be read.
 */
int vr_auto_device(const struct vr_opts *o, struct vr_aliases *al,
		   const char *addr, struct vr_auto_choice *c)
{
	char modalias[256];

	if (vr_sysfs_dev(o, addr, "modalias", modalias, sizeof(modalias)))
		return -ENODEV;
	return vr_auto_choose(o, al, modalias, c);
}

/*
 * Replace each "@auto" of @sels by the driver chosen for the devices the
 * selector matches now (for vf:, the PF's VFs, present or to come). One
 * rule is one target: when the devices need different drivers, or no
 * device is there to choose by, it is refused with the reason and the
 * rules to write instead. Prints what it chose; an exit code.
 */
int vr_auto_resolve(const struct vr_opts *o, const char *cmd,
		    struct vr_selector *sels, int n)
{
	struct vr_aliases al = { 0 };
	struct vr_device *devs = NULL;
	size_t count = 0, k;
	int i, ret = VR_EXIT_OK;

	for (i = 0; i < n; i++) {
		struct vr_selector *s = &sels[i];
		struct vr_auto_choice c, first;
		char text[VR_SEL_TEXT_SIZE], why[768], firstaddr[VR_ADDR_SIZE];
		unsigned int seen = 0;

		if (strcmp(s->driver, VR_SEL_AUTO))
			continue;
		vr_sel_format(s, text, sizeof(text));
		if (!devs && vr_sysfs_devices(o, &devs, &count)) {
			vr_err("%s: cannot list the PCI devices in sysfs to resolve %s",
			       cmd, text);
			ret = VR_EXIT_FAIL;
			break;
		}
		for (k = 0; k < count; k++) {
			struct vr_pci_ids id;
			int r;

			vr_device_ids(&devs[k], &id);
			if (devs[k].bridge || !vr_sel_match(s, &id))
				continue;
			r = vr_auto_device(o, &al, devs[k].addr, &c);
			if (r) {
				vr_err("%s: %s: cannot read the modalias of %s, or %s/modules.alias (%s): name the driver instead of @auto",
				       cmd, text, devs[k].addr, o->modules, strerror(-r));
				ret = VR_EXIT_FAIL;
				break;
			}
			if (seen++ && strcmp(c.driver, first.driver)) {
				vr_err("%s: %s matches devices that need different drivers (%s: %s, %s: %s): write one rule per device, ADDRESS@auto or ADDRESS@DRIVER",
				       cmd, text, firstaddr, first.driver,
				       devs[k].addr, c.driver);
				ret = VR_EXIT_FAIL;
				break;
			}
			if (seen == 1) {
				first = c;
				snprintf(firstaddr, sizeof(firstaddr), "%s", devs[k].addr);
			}
		}
		if (ret)
			break;
		if (!seen && s->kind == VR_SEL_VF) {
			char pf[VR_ADDR_SIZE], modalias[256];

			snprintf(pf, sizeof(pf), "%04x:%02x:%02x.%x", s->domain,
				 s->bus, s->slot, s->func);
			if (vr_vf_modalias(o, pf, modalias, sizeof(modalias)) ||
			    vr_auto_choose(o, &al, modalias, &first)) {
				vr_err("%s: %s: %s is not an SR-IOV physical function here (no sriov_vf_device), or modules.alias cannot be read: name the driver instead of @auto",
				       cmd, text, pf);
				ret = VR_EXIT_FAIL;
				break;
			}
			seen = 1;
		}
		if (!seen) {
			vr_err("%s: %s matches no device present: @auto chooses by a device's ids, so name the driver (@DRIVER, or none for vfio-pci)",
			       cmd, text);
			ret = VR_EXIT_FAIL;
			break;
		}
		if (strlen(first.driver) >= sizeof(s->driver)) {
			vr_err("%s: %s: the chosen driver %s has a name longer than %d characters, which the module does not take",
			       cmd, text, first.driver, VR_SEL_DRIVER_MAX);
			ret = VR_EXIT_FAIL;
			break;
		}
		if (strcmp(first.driver, "vfio-pci"))
			memcpy(s->driver, first.driver, strlen(first.driver) + 1);
		else
			s->driver[0] = '\0';
		vr_auto_explain(&first, why, sizeof(why));
		printf("%s: %s is %s: %s\n", cmd, text, first.driver, why);
	}
	vr_aliases_free(&al);
	free(devs);
	return ret;
}

/* Rewrite @list (canonical text) from @sels. */
int vr_sels_join(const struct vr_selector *sels, int n, char *list,
		 size_t size)
{
	size_t len = 0;
	int i;

	list[0] = '\0';
	for (i = 0; i < n; i++) {
		char text[VR_SEL_TEXT_SIZE];

		vr_sel_format(&sels[i], text, sizeof(text));
		len += (size_t)snprintf(list + len, len < size ? size - len : 0,
					"%s%s", i ? "," : "", text);
	}
	return len < size ? 0 : -ENOSPC;
}
