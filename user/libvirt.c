// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * libvirt: <hostdev> elements for devices vfio-reserve already reserved
 * (managed='no': libvirt must not rebind them).
 */
#include <stdio.h>
#include <stdlib.h>

#include "vfio-reserve.h"

int vr_cmd_libvirt(const struct vr_opts *o, int argc, char **argv)
{
	unsigned int dom, bus, slot, func;
	char (*addrs)[VR_ADDR_SIZE];
	int i, ret;

	(void)o;
	addrs = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*addrs));
	if (!addrs)
		return VR_EXIT_USAGE;
	ret = vr_parse_addrs("libvirt", argc - 1, argv + 1, addrs);
	for (i = 0; !ret && i < argc - 1; i++) {
		sscanf(addrs[i], "%x:%x:%x.%x", &dom, &bus, &slot, &func);
		printf("<hostdev mode='subsystem' type='pci' managed='no'>\n"
		       "  <source>\n"
		       "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
		       "  </source>\n"
		       "</hostdev>\n", dom, bus, slot, func);
	}
	free(addrs);
	return ret;
}
