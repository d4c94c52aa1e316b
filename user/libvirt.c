// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * libvirt: <hostdev> elements for devices vfio-reserve already reserved
 * (managed='no': libvirt must not rebind them).
 */
#include <stdio.h>

#include "vfio-reserve.h"

int vr_cmd_libvirt(const struct vr_opts *o, int argc, char **argv)
{
	unsigned int dom, bus, slot, func;
	char addr[VR_ADDR_SIZE];
	int i;

	(void)o;
	if (argc < 2)
		return vr_usage_error("libvirt", "which devices? (addresses like 0000:03:00.0)");
	for (i = 1; i < argc; i++)
		if (!vr_normalize_addr(argv[i], addr))
			return vr_usage_error("libvirt", "'%s' is not a PCI address ([dddd:]bb:ss.f)",
					      argv[i]);
	for (i = 1; i < argc; i++) {
		vr_normalize_addr(argv[i], addr);
		sscanf(addr, "%x:%x:%x.%x", &dom, &bus, &slot, &func);
		printf("<hostdev mode='subsystem' type='pci' managed='no'>\n"
		       "  <source>\n"
		       "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
		       "  </source>\n"
		       "</hostdev>\n", dom, bus, slot, func);
	}
	return VR_EXIT_OK;
}
