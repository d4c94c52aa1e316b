/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Handing devices to QEMU: preflight, command line, QMP.
 */
#ifndef VR_QEMU_H
#define VR_QEMU_H

#include "check.h"

#define VR_MIB		(1024ULL * 1024)
/* What VFIO pins besides guest RAM (ROMs, rings): libvirt's margin. */
#define VR_MEMLOCK_MARGIN	(1024 * VR_MIB)

struct vr_qemu_req {
	char (*addrs)[VR_ADDR_SIZE];
	int n;
	bool dry_run;
	bool x_vga;
	int qargc;
	char **qargv;
};

bool vr_preflight(const struct vr_opts *o, char (*addrs)[VR_ADDR_SIZE], int n,
		  const struct vr_facts *f);
unsigned long long vr_qemu_memory(int argc, char **argv);
bool vr_memlock_ok(unsigned long long need_ram);
void vr_qemu_id(const char *addr, char *id, size_t size);

/* The iommufd object vfio-reserve adds, shared by its devices. */
#define VR_IOMMUFD_ID	"vr-iommufd0"
bool vr_iommufd_preflight(const struct vr_opts *o, char (*addrs)[VR_ADDR_SIZE],
			  int n, const struct vr_facts *f, bool quiet);

#endif /* VR_QEMU_H */
