/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The checks shared by check, qemu and attach.
 */
#ifndef VR_CHECK_H
#define VR_CHECK_H

#include <stdarg.h>

#include "vfio-reserve.h"

#define VR_MAX_PROBLEMS	16

struct vr_problem {
	bool fail;		/* else a warning */
	char what[640];
	char fix[320];
};

struct vr_check {
	char addr[VR_ADDR_SIZE];
	struct vr_device dev;
	char driver[VR_NAME_SIZE];	/* bound, "" when none */
	char explain[1024];		/* --explain: why its target */
	struct vr_uses uses;		/* its interfaces and disks */
	/* the iommufd path, for a device on a VFIO driver (has_iommufd) */
	bool has_iommufd;
	bool dev_iommu;			/* /dev/iommu exists */
	char cdev[VR_NAME_SIZE + 32];	/* "/dev/vfio/devices/vfio0", "" */
	int msi_isolated;		/* the group's; -1 unknown */
	bool failed;
	unsigned int n;
	unsigned int more;		/* problems past VR_MAX_PROBLEMS */
	struct vr_problem p[VR_MAX_PROBLEMS];
};

void vr_check_device(const struct vr_opts *o, const char *addr,
		     const struct vr_facts *f, struct vr_check *c);
void vr_check_print(const struct vr_check *c, struct vr_json *j);

#endif /* VR_CHECK_H */
