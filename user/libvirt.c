// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * libvirt: <hostdev> elements for devices vfio-reserve already reserved
 * (managed='no': libvirt must not rebind them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-reserve.h"

/*
 * Does the installed libvirt know <hostdev><driver iommufd='yes'/>? Its
 * domain schema says: an attribute named iommufd. -1 when there is no
 * schema (libvirt not installed), with its path in @path.
 */
static int vr_libvirt_iommufd(const struct vr_opts *o, char *path, size_t size)
{
	char line[512];
	bool found = false;
	FILE *f;

	snprintf(path, size, "%s/domaincommon.rng", o->schemas);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "name=\"iommufd\"");
	fclose(f);
	return found;
}

int vr_cmd_libvirt(const struct vr_opts *o, int argc, char **argv)
{
	unsigned int dom, bus, slot, func;
	char (*addrs)[VR_ADDR_SIZE], schema[PATH_MAX];
	bool iommufd = false;
	int i, ret, has;

	addrs = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*addrs));
	if (!addrs)
		return VR_EXIT_USAGE;
	ret = vr_parse_addrs("libvirt", argc - 1, argv + 1, addrs);
	if (!ret && o->iommufd != VR_IOMMUFD_NO) {
		has = vr_libvirt_iommufd(o, schema, sizeof(schema));
		iommufd = has > 0;
		if (!iommufd && o->iommufd == VR_IOMMUFD_YES) {
			vr_err(has < 0 ? "--iommufd: no libvirt schema at %s: install libvirt (11.x and later take <driver iommufd='yes'/>), or leave out --iommufd" :
			       "--iommufd: the installed libvirt's schema (%s) has no iommufd for <hostdev>: upgrade libvirt, or leave out --iommufd (the group path)",
			       schema);
			ret = VR_EXIT_FAIL;
		} else if (o->iommufd == VR_IOMMUFD_AUTO) {
			fprintf(stderr, "vfio-reserve: --iommufd=auto: %s (%s)\n",
				iommufd ? "<driver iommufd='yes'/>" :
				"the group path: libvirt's schema has no iommufd for <hostdev>",
				schema);
		}
	}
	for (i = 0; !ret && i < argc - 1; i++) {
		sscanf(addrs[i], "%x:%x:%x.%x", &dom, &bus, &slot, &func);
		printf("<hostdev mode='subsystem' type='pci' managed='no'>\n"
		       "%s"
		       "  <source>\n"
		       "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
		       "  </source>\n"
		       "</hostdev>\n", iommufd ? "  <driver iommufd='yes'/>\n" : "",
		       dom, bus, slot, func);
	}
	free(addrs);
	return ret;
}
